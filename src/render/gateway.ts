import {
  commonLabels,
  gatewayCredentialSecretName,
  gatewayName,
  tenantWildcardHost,
} from '../domain/index.ts';
import type { KubeObject } from '../domain/index.ts';
import { objectMeta } from './meta.ts';
import type { TenantContext } from './types.ts';

/** The HTTPS port of the ingress gateway that tenant Gateways use. */
export const GATEWAY_HTTPS_PORT = 443;

/**
 * The tenant's Istio Gateway: HTTPS with mutual TLS against the tenant's CA (credential Secret in the
 * gateway namespace), for `*.<tenant hostname>`, bindable only by VirtualServices of the serving namespace.
 */
export function renderGateway(ctx: TenantContext): KubeObject {
  const { platform } = ctx;
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    metadata: objectMeta(gatewayName(ctx.name), platform.servingNamespace, commonLabels('gateway', ctx.name)),
    spec: {
      selector: { ...platform.gatewaySelector },
      servers: [
        {
          port: { number: GATEWAY_HTTPS_PORT, name: 'https', protocol: 'HTTPS' },
          hosts: [`${platform.servingNamespace}/${tenantWildcardHost(ctx.hostname)}`],
          tls: {
            mode: 'MUTUAL',
            credentialName: gatewayCredentialSecretName(ctx.name),
            minProtocolVersion: 'TLSV1_2',
          },
        },
      ],
    },
  };
}
