import {
  LABELS,
  commonLabels,
  extAuthzPolicyName,
  gatewayPrincipal,
  gatewayOnlyPolicyName,
} from '../domain/index.ts';
import type { KubeObject } from '../domain/index.ts';
import { objectMeta } from './meta.ts';
import type { TenantContext } from './types.ts';

/**
 * CUSTOM policy on the ingress gateway: every request the gateway handles is decided by Authorino, whatever
 * its `:authority`. The rule names no hosts on purpose: Istio routes a request at a gateway whatever port its
 * `:authority` carries (`IgnorePortInHostMatching`) while policy `hosts` match it literally, so a host list
 * (`*.H`, `*.H:443`) lets `x.H:8443` through routed and never checked. Authorino picks the tenant's AuthConfig
 * by host (retrying without the port) and denies hosts no AuthConfig claims, upper case included, so the
 * gateway selected by `gatewaySelector` must be dedicated to tenantmesh (docs/dataplane.md).
 */
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
