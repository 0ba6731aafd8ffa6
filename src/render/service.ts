import {
  LABELS,
  REGISTRY_COMPONENT,
  REGISTRY_PORT_NAME,
  commonLabels,
  endpointPodSelector,
  registryServiceName,
} from '../domain/index.ts';
import type { KubeObject } from '../domain/index.ts';
import { PORT_NAMES } from './deployment.ts';
import { objectMeta } from './meta.ts';
import type { EndpointContext, TenantContext } from './types.ts';

/** The endpoint's Service, with named ports and appProtocol so Istio routes gRPC and HTTP as such. */
export function renderService(ctx: EndpointContext): KubeObject {
  const { grpc, http } = ctx.runtime.spec.ports;
  const ports: Record<string, unknown>[] = [];
  if (grpc !== undefined) {
    ports.push({
      name: PORT_NAMES.grpc,
      port: grpc,
      targetPort: PORT_NAMES.grpc,
      protocol: 'TCP',
      appProtocol: 'grpc',
    });
  }
  if (http !== undefined) {
    ports.push({
      name: PORT_NAMES.http,
      port: http,
      targetPort: PORT_NAMES.http,
      protocol: 'TCP',
      appProtocol: 'http',
    });
  }
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(
      ctx.name,
      ctx.platform.servingNamespace,
      commonLabels('serving', ctx.tenant, ctx.endpoint),
    ),
    spec: { type: 'ClusterIP', selector: endpointPodSelector(ctx.tenant, ctx.endpoint), ports },
  };
}

/**
 * The tenant's model registry Service, `<t>` in the serving namespace, so in-cluster clients reach the registry at
 * `<t>.<serving namespace>.svc` and Role `registry-user-<t>` can grant `get` on exactly it (the Model Registry
 * tenancy design). The registry is served by the management API, whose pods live in the release namespace; a
 * selector cannot reach across namespaces, so the Service is an ExternalName alias of the API's Service: DNS
 * answers with the API's name, and the API picks the tenant from the Host header (`<t>.<ns>.svc`). The port
 * carries the dashboard's name `https-api` and the API Service's number (an alias cannot remap ports);
 * `appProtocol: http` tells Istio what really flows, since in the mesh the sidecars provide the TLS.
 */
export function renderRegistryService(ctx: TenantContext): KubeObject {
  const { externalName, port } = ctx.platform.registryService;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(registryServiceName(ctx.name), ctx.platform.servingNamespace, {
      ...commonLabels('registry', ctx.name),
      [LABELS.registryComponent]: REGISTRY_COMPONENT,
    }),
    spec: {
      type: 'ExternalName',
      externalName,
      ports: [{ name: REGISTRY_PORT_NAME, port, protocol: 'TCP', appProtocol: 'http' }],
    },
  };
}
