import { commonLabels, serviceFqdn } from '../domain/index.ts';
import type { KubeObject } from '../domain/index.ts';
import { objectMeta } from './meta.ts';
import type { EndpointContext } from './types.ts';

/** Gateway-to-pod traffic uses Istio's own mTLS, so the pod sees the gateway's principal. */
export function renderDestinationRule(ctx: EndpointContext): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: objectMeta(
      ctx.name,
      ctx.platform.servingNamespace,
      commonLabels('gateway', ctx.tenant, ctx.endpoint),
    ),
    spec: {
      host: serviceFqdn(ctx.tenant, ctx.endpoint, ctx.platform.servingNamespace),
      trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } },
    },
  };
}
