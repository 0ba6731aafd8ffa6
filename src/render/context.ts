import {
  InvalidError,
  NotFoundError,
  endpointHost,
  endpointResourceName,
  jsonPointer,
  shortEndpointName,
  tenantHostname,
} from '../domain/index.ts';
import type { EndpointContext, TenantContext, TenantRenderInput } from './types.ts';

/**
 * Resolves the input into contexts the renderers share. Throws InvalidError for an endpoint of another
 * tenant or named without the tenant prefix, NotFoundError for an unknown runtime: the operator's gatherer
 * should report those on the endpoint and leave it out (see {@link missingRuntimes}).
 */
export function tenantContext(input: TenantRenderInput): TenantContext {
  const name = input.tenant.metadata.name;
  const hostname = tenantHostname(input.tenant, input.platform);
  const runtimes = new Map(input.runtimes.map((runtime) => [runtime.metadata.name, runtime]));
  const endpoints = input.endpoints.map(({ resource, modelVersion }, index): EndpointContext => {
    const endpoint = shortEndpointName(name, resource.metadata.name);
    if (resource.spec.tenant !== name || endpoint === undefined) {
      throw new InvalidError([
        {
          pointer: jsonPointer(['endpoints', index]),
          message: `endpoint ${resource.metadata.name} does not belong to tenant ${name}`,
        },
      ]);
    }
    const runtime = runtimes.get(resource.spec.runtime);
    if (!runtime) throw new NotFoundError('servingruntimes', resource.spec.runtime);
    return {
      tenant: name,
      endpoint,
      name: endpointResourceName(name, endpoint),
      host: endpointHost(hostname, endpoint),
      resource,
      runtime,
      modelVersion,
      platform: input.platform,
    };
  });
  endpoints.sort((a, b) => a.name.localeCompare(b.name));
  return { tenant: input.tenant, name, hostname, platform: input.platform, endpoints };
}

/** Names of runtimes the endpoints refer to that do not exist, sorted. */
export function missingRuntimes(input: Pick<TenantRenderInput, 'endpoints' | 'runtimes'>): string[] {
  const known = new Set(input.runtimes.map((runtime) => runtime.metadata.name));
  const missing = new Set(
    input.endpoints.map((e) => e.resource.spec.runtime).filter((runtime) => !known.has(runtime)),
  );
  return [...missing].sort();
}
