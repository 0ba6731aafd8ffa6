import {
  commonLabels,
  gatewayCredentialSecretName,
  gatewayName,
  registryHost,
  tenantWildcardHost,
} from '../domain/index.ts';
import { CRD_DEFAULTS } from '../domain/index.ts';
import type { KubeObject, Tenant } from '../domain/index.ts';
import { objectMeta } from './meta.ts';
import type { TenantContext } from './types.ts';

/** The HTTPS port of the ingress gateway that tenant Gateways use. */
export const GATEWAY_HTTPS_PORT = 443;

/** What the tenant's clients must present (`spec.clientAuthentication`). */
export function clientAuthentication(tenant: Tenant): NonNullable<Tenant['spec']['clientAuthentication']> {
  return tenant.spec.clientAuthentication ?? CRD_DEFAULTS.Tenant['spec.clientAuthentication'];
}

/**
 * The tenant's Istio Gateway: HTTPS with mutual TLS against the tenant's CA (credential Secret in the
 * gateway namespace), for `*.<tenant hostname>`, bindable only by VirtualServices of the serving namespace.
 * MUTUAL refuses a handshake without a client certificate; for `certificateOrToken` tenants OPTIONAL_MUTUAL
 * still verifies a certificate that is sent, and Authorino then requires a token when none was.
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
            mode: clientAuthentication(ctx.tenant) === 'certificateOrToken' ? 'OPTIONAL_MUTUAL' : 'MUTUAL',
            credentialName: gatewayCredentialSecretName(ctx.name),
            minProtocolVersion: 'TLSV1_2',
          },
        },
        {
          // The model registry: the Python client and the dashboard cannot present a client certificate, so this
          // host takes plain server TLS (the exact host wins over the wildcard's mutual TLS by SNI) and Authorino
          // requires a bearer token for it.
          port: { number: GATEWAY_HTTPS_PORT, name: 'https-registry', protocol: 'HTTPS' },
          hosts: [`${platform.servingNamespace}/${registryHost(ctx.hostname)}`],
          tls: {
            mode: 'SIMPLE',
            credentialName: gatewayCredentialSecretName(ctx.name),
            minProtocolVersion: 'TLSV1_2',
          },
        },
      ],
    },
  };
}
