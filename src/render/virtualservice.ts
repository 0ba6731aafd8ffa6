import {
  commonLabels,
  gatewayRef,
  registryHost,
  registryServiceName,
  registryVirtualServiceName,
  serviceFqdn,
} from '../domain/index.ts';
import type { KubeObject } from '../domain/index.ts';
import { objectMeta } from './meta.ts';
import type { EndpointContext, TenantContext } from './types.ts';

/**
 * The endpoint's VirtualService on the tenant Gateway: its one host, gRPC (by content-type) to the gRPC
 * port and everything else to the HTTP port, whichever the runtime has.
 */
export function renderVirtualService(ctx: EndpointContext): KubeObject {
  const host = serviceFqdn(ctx.tenant, ctx.endpoint, ctx.platform.servingNamespace);
  const { grpc, http } = ctx.runtime.spec.ports;
  const routes: Record<string, unknown>[] = [];
  if (grpc !== undefined) {
    const route: Record<string, unknown> = { name: 'grpc' };
    if (http !== undefined) route.match = [{ headers: { 'content-type': { prefix: 'application/grpc' } } }];
    route.route = [{ destination: { host, port: { number: grpc } } }];
    routes.push(route);
  }
  if (http !== undefined) {
    routes.push({ name: 'http', route: [{ destination: { host, port: { number: http } } }] });
  }
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: objectMeta(
      ctx.name,
      ctx.platform.servingNamespace,
      commonLabels('gateway', ctx.tenant, ctx.endpoint),
    ),
    spec: { hosts: [ctx.host], gateways: [gatewayRef(ctx.tenant, ctx.platform)], http: routes },
  };
}

/**
 * `registry.<tenant hostname>` on the tenant's Gateway, to the management API's Service, which serves every
 * tenant's registry and picks this one from the Host header (docs/registry.md).
 */
export function renderRegistryVirtualService(ctx: TenantContext): KubeObject {
  // Through the tenant's registry Service (an alias of the API's), an object rendered with this one.
  const host = `${registryServiceName(ctx.name)}.${ctx.platform.servingNamespace}.svc.cluster.local`;
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: objectMeta(
      registryVirtualServiceName(ctx.name),
      ctx.platform.servingNamespace,
      commonLabels('registry', ctx.name),
    ),
    spec: {
      hosts: [registryHost(ctx.hostname)],
      gateways: [gatewayRef(ctx.name, ctx.platform)],
      http: [
        {
          name: 'registry',
          route: [{ destination: { host, port: { number: ctx.platform.registryService.port } } }],
        },
      ],
    },
  };
}
