import {
  LABELS,
  commonLabels,
  extAuthzPolicyName,
  gatewayPrincipal,
  gatewayOnlyPolicyName,
  tenantWildcardHost,
} from '../domain/index.ts';
import type { KubeObject } from '../domain/index.ts';
import { GATEWAY_HTTPS_PORT } from './gateway.ts';
import { objectMeta } from './meta.ts';
import type { TenantContext } from './types.ts';

/**
 * Hosts the CUSTOM policy sends to Authorino. Istio matches the Host header literally, port included, so a
 * client that sends `host:443` would otherwise skip ext_authz while still being routed.
 */
export function extAuthzHosts(hostname: string): string[] {
  const wildcard = tenantWildcardHost(hostname);
  return [wildcard, `${wildcard}:${GATEWAY_HTTPS_PORT}`];
}

/** CUSTOM policy on the ingress gateway: every request for the tenant's hosts is decided by Authorino. */
export function renderExtAuthzPolicy(ctx: TenantContext): KubeObject {
  const { platform } = ctx;
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: objectMeta(
      extAuthzPolicyName(ctx.name),
      platform.gatewayNamespace,
      commonLabels('authz', ctx.name),
    ),
    spec: {
      selector: { matchLabels: { ...platform.gatewaySelector } },
      action: 'CUSTOM',
      provider: { name: platform.authorinoProvider },
      rules: [{ to: [{ operation: { hosts: extAuthzHosts(ctx.hostname) } }] }],
    },
  };
}

/**
 * ALLOW policy on the tenant's serving pods: only the ingress gateway's identity may call them, so no
 * request can skip Authorino or forge the client-certificate header from inside the mesh.
 */
export function renderGatewayOnlyPolicy(ctx: TenantContext): KubeObject {
  const { platform } = ctx;
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: objectMeta(
      gatewayOnlyPolicyName(ctx.name),
      platform.servingNamespace,
      commonLabels('authz', ctx.name),
    ),
    spec: {
      selector: { matchLabels: { [LABELS.tenant]: ctx.name, [LABELS.component]: 'serving' } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: [gatewayPrincipal(platform)] } }] }],
    },
  };
}
