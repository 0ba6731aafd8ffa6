import type { KubeObject, PlatformConfig } from '../domain/index.ts';
import { renderAuthConfig, renderRegistryAuthConfig } from './authconfig.ts';
import { renderExtAuthzPolicy, renderGatewayOnlyPolicy } from './authorizationpolicy.ts';
import { tenantContext } from './context.ts';
import { renderDeployment } from './deployment.ts';
import { renderDestinationRule } from './destinationrule.ts';
import { renderGateway } from './gateway.ts';
import { renderOpenShiftGroup } from './openshiftgroup.ts';
import { renderPeerAuthentication } from './peerauthentication.ts';
import { renderPlatformAdminRbac, renderTenantRbac } from './rbac.ts';
import {
  renderCaTrustSecret,
  renderGatewayCredentialSecret,
  renderStorageCredentialSecret,
} from './secrets.ts';
import { renderRegistryService, renderService } from './service.ts';
import { renderRegistryVirtualService, renderVirtualService } from './virtualservice.ts';
import type { Capabilities, TenantContext, TenantRenderInput } from './types.ts';

export type * from './types.ts';
export { missingRuntimes, tenantContext } from './context.ts';

/** Mesh objects need both Istio and Authorino: a CUSTOM policy without Authorino denies everything. */
export function meshEnabled(capabilities: Capabilities): boolean {
  return capabilities.istio && capabilities.authorino;
}

function renderMesh(ctx: TenantContext, input: TenantRenderInput): KubeObject[] {
  return [
    renderCaTrustSecret(ctx, input.secrets),
    renderGatewayCredentialSecret(ctx, input.secrets),
    renderGateway(ctx),
    ...ctx.endpoints.flatMap((endpoint) => [renderVirtualService(endpoint), renderDestinationRule(endpoint)]),
    renderRegistryVirtualService(ctx),
    renderGatewayOnlyPolicy(ctx),
    renderAuthConfig(ctx),
    renderRegistryAuthConfig(ctx),
  ];
}

/**
 * The whole desired state of one tenant, in a stable order. Renderers set no ownerReferences: objects
 * labelled `tenantmesh.io/endpoint` belong to that endpoint, the rest to the Tenant (cluster-scoped, so
 * it may own objects in any namespace and cluster-scoped ones). Throws like {@link tenantContext}.
 */
export function renderTenant(input: TenantRenderInput): KubeObject[] {
  const ctx = tenantContext(input);
  const objects: KubeObject[] = [
    renderStorageCredentialSecret(ctx, input.secrets.storage),
    ...ctx.endpoints.flatMap((endpoint) => [renderDeployment(endpoint), renderService(endpoint)]),
    renderRegistryService(ctx),
    ...renderTenantRbac(ctx),
  ];
  if (input.capabilities.openshift) objects.push(renderOpenShiftGroup(ctx));
  if (meshEnabled(input.capabilities)) objects.push(...renderMesh(ctx, input));
  return objects;
}

/**
 * Objects shared by every tenant: the platform-admin role, and with the mesh STRICT mTLS for the serving namespace
 * and the CUSTOM policy that sends every gateway request to Authorino.
 */
export function renderPlatform(platform: PlatformConfig, capabilities: Capabilities): KubeObject[] {
  const objects = renderPlatformAdminRbac(platform);
  if (meshEnabled(capabilities))
    objects.push(renderPeerAuthentication(platform), renderExtAuthzPolicy(platform));
  return objects;
}

/** Whether an object lives outside the serving namespace (another namespace, or cluster-scoped). */
export function isOutsideServingNamespace(object: KubeObject, platform: PlatformConfig): boolean {
  return object.metadata.namespace !== platform.servingNamespace;
}
