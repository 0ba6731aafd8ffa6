import { CRD_DEFAULTS, endpointHost, shortEndpointName } from '../domain/index.ts';
import type { InferenceEndpoint, PlatformConfig } from '../domain/index.ts';
import type { MirroredInferenceService, MirrorResult } from '../registry/repository.ts';

/**
 * What the operator needs from the tenants' model registries: keep a tenant's serving environment holding
 * exactly the given mirrors of its InferenceEndpoints (src/registry/repository.ts does it in PostgreSQL).
 */
export interface RegistryMirrorPort {
  mirrorInferenceServices(
    tenant: string,
    environment: string,
    externalIdPrefix: string,
    services: MirroredInferenceService[],
  ): Promise<MirrorResult>;
}

/** An endpoint as the reconcile judged it: admitted ones serve `modelVersion` at their host. */
export interface JudgedEndpoint {
  endpoint: InferenceEndpoint;
  /** The version served (`latest` resolved); undefined when the endpoint got no objects. */
  modelVersion?: string;
}

/** The registry's serving environment of every tenant: the shared serving namespace, as the ODH tenancy names it. */
export function servingEnvironmentName(platform: PlatformConfig): string {
  return platform.servingNamespace;
}

/** The externalId of an endpoint's mirror, and the prefix every mirror's externalId starts with. */
export function mirrorExternalIdPrefix(platform: PlatformConfig): string {
  return `${platform.servingNamespace}/`;
}

/**
 * The registry's view of a tenant's endpoints (pure): one InferenceService per endpoint, named by its short
 * name, serving its registered model (and the version it serves, once known), with its runtime, desired state
 * (`UNDEPLOYED` when scaled to zero) and, when admitted, its URL. Sorted by name, so a pass is deterministic.
 */
export function mirroredInferenceServices(
  tenant: string,
  hostname: string,
  judged: JudgedEndpoint[],
  platform: PlatformConfig,
): MirroredInferenceService[] {
  const services: MirroredInferenceService[] = [];
  for (const { endpoint, modelVersion } of judged) {
    const short = shortEndpointName(tenant, endpoint.metadata.name);
    if (short === undefined) continue;
    const replicas = endpoint.spec.replicas ?? CRD_DEFAULTS.InferenceEndpoint['spec.replicas'];
    const requested = endpoint.spec.model.version ?? CRD_DEFAULTS.InferenceEndpoint['spec.model.version'];
    const version = modelVersion ?? (requested === 'latest' ? undefined : requested);
    services.push({
      externalId: `${mirrorExternalIdPrefix(platform)}${endpoint.metadata.name}`,
      name: short,
      description: `InferenceEndpoint ${endpoint.metadata.namespace ?? platform.servingNamespace}/${endpoint.metadata.name}`,
      registeredModelName: endpoint.spec.model.name,
      ...(version !== undefined ? { modelVersionName: version } : {}),
      runtime: endpoint.spec.runtime,
      desiredState: replicas > 0 ? 'DEPLOYED' : 'UNDEPLOYED',
      ...(modelVersion !== undefined ? { url: `https://${endpointHost(hostname, short)}` } : {}),
    });
  }
  return services.sort((a, b) => a.name.localeCompare(b.name));
}
