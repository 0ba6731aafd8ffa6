import { commonLabels, endpointPodSelector } from '../domain/index.ts';
import type { KubeObject } from '../domain/index.ts';
import { PORT_NAMES } from './deployment.ts';
import { objectMeta } from './meta.ts';
import type { EndpointContext } from './types.ts';

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
