import {
  EXT_AUTHZ_POLICY_NAME,
  LABELS,
  commonLabels,
  gatewayPrincipal,
  gatewayOnlyPolicyName,
} from '../domain/index.ts';
import type { KubeObject, PlatformConfig } from '../domain/index.ts';
import { objectMeta } from './meta.ts';
import type { TenantContext } from './types.ts';

/**
 * The CUSTOM policy on the ingress gateway: every request the gateway handles is decided by Authorino, whatever
 * its `:authority`. The rule names no hosts on purpose: Istio routes a request at a gateway whatever port its
 * `:authority` carries (`IgnorePortInHostMatching`, and route domains ignore case) while policy `hosts` match it
 * literally, so a host list (`*.H`, `*.H:443`) lets `x.H:8443` through routed and never checked. Authorino picks
 * the tenant's AuthConfig by host (retrying without the port) and denies hosts no AuthConfig claims, so the
 * gateway selected by `gatewaySelector` must be dedicated to tenantmesh (docs/dataplane.md).
 *
 * One policy for the platform, not one per tenant: it exists before the first tenant's routes and stays after the
 * last one's, so no order of applying or pruning a tenant's objects leaves a route on the gateway unchecked.
 */
export function renderExtAuthzPolicy(platform: PlatformConfig): KubeObject {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: objectMeta(EXT_AUTHZ_POLICY_NAME, platform.gatewayNamespace, commonLabels('authz')),
    spec: {
      selector: { matchLabels: { ...platform.gatewaySelector } },
      action: 'CUSTOM',
      provider: { name: platform.authorinoProvider },
      // One empty rule matches every request; no `to.operation.hosts` for a different authority to escape.
      rules: [{}],
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
