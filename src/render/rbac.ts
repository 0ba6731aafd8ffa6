import {
  API_GROUP,
  INVOKE_ATTRIBUTES,
  PLATFORM_ADMIN_CLUSTER_ROLE,
  clientCertificateGroup,
  commonLabels,
  endpointGrantRoleName,
  endpointResourceName,
  registryServiceName,
  registryUserRoleName,
  registryUsersBindingName,
  tenantAdminClusterRoleName,
  tenantUserClusterRoleName,
  tenantUsersGroup,
} from '../domain/index.ts';
import type { EndpointGrant, KubeObject, PlatformConfig, Subject } from '../domain/index.ts';
import { objectMeta } from './meta.ts';
import type { TenantContext } from './types.ts';

const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';
const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** A policy rule of a Role or ClusterRole. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** Subresources of `tenants` the management API checks (docs/rbac.md); they exist only for RBAC. */
export const TENANT_SUBRESOURCES = ['endpoints', 'models', 'access', 'certificates'] as const;
export type TenantSubresource = (typeof TENANT_SUBRESOURCES)[number];

const ALL_VERBS = ['get', 'list', 'create', 'update', 'patch', 'delete'];
const READ_VERBS = ['get', 'list'];

/** An RBAC subject from a tenant subject (ServiceAccounts carry their namespace, no apiGroup). */
export function rbacSubject(subject: Subject): Record<string, string> {
  if (subject.kind === 'ServiceAccount') {
    return { kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace ?? '' };
  }
  return { kind: subject.kind, apiGroup: RBAC_GROUP, name: subject.name };
}

/** Subjects in first-seen order without duplicates. */
function uniqueSubjects(subjects: Subject[]): Record<string, string>[] {
  const seen = new Set<string>();
  const result: Record<string, string>[] = [];
  for (const subject of subjects) {
    const key = `${subject.kind}/${subject.namespace ?? ''}/${subject.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(rbacSubject(subject));
  }
  return result;
}

/** Everyone who may call every endpoint of the tenant. */
export function tenantDataPlaneSubjects(ctx: TenantContext): Subject[] {
  return [
    { kind: 'Group', name: tenantUsersGroup(ctx.name) },
    { kind: 'Group', name: clientCertificateGroup(ctx.name) },
    ...(ctx.tenant.spec.admins ?? []),
    ...(ctx.tenant.spec.users ?? []),
  ];
}

function role(
  name: string,
  namespace: string,
  ctx: TenantContext,
  rules: PolicyRule[],
  endpoint?: string,
): KubeObject {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'Role',
    metadata: objectMeta(name, namespace, commonLabels('rbac', ctx.name, endpoint)),
    rules,
  };
}

function roleBinding(
  name: string,
  roleName: string,
  ctx: TenantContext,
  subjects: Subject[],
  endpoint?: string,
): KubeObject {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'RoleBinding',
    metadata: objectMeta(name, ctx.platform.servingNamespace, commonLabels('rbac', ctx.name, endpoint)),
    roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: roleName },
    subjects: uniqueSubjects(subjects),
  };
}

/**
 * `invoke` on exactly these InferenceEndpoints; none at all for an empty list (empty resourceNames would mean
 * every one). `invoke` is a verb only the data plane asks, so no built-in role grants it by accident.
 */
function invokeEndpointsRule(endpointNames: string[]): PolicyRule[] {
  if (endpointNames.length === 0) return [];
  return [
    {
      apiGroups: [INVOKE_ATTRIBUTES.group],
      resources: [INVOKE_ATTRIBUTES.resource],
      verbs: [INVOKE_ATTRIBUTES.verb],
      resourceNames: [...endpointNames].sort(),
    },
  ];
}

/**
 * Data plane: Role `registry-user-<t>` (invoke on the tenant's InferenceEndpoints) bound as `<t>-users` to the
 * tenant's users group, its client certificates' group and every user and admin subject. Authorino's
 * SubjectAccessReview asks exactly this question.
 */
export function renderDataPlaneRbac(ctx: TenantContext): KubeObject[] {
  const roleName = registryUserRoleName(ctx.name);
  // `get` on the tenant's registry Service is what the Model Registry tenancy design checks for registry access.
  const registryRule: PolicyRule = {
    apiGroups: [''],
    resources: ['services'],
    verbs: ['get'],
    resourceNames: [registryServiceName(ctx.name)],
  };
  return [
    role(roleName, ctx.platform.servingNamespace, ctx, [
      registryRule,
      ...invokeEndpointsRule(ctx.endpoints.map((e) => e.name)),
    ]),
    roleBinding(registryUsersBindingName(ctx.name), roleName, ctx, tenantDataPlaneSubjects(ctx)),
  ];
}

/** An endpoint grant: Role and RoleBinding `registry-user-<t>--<e>` covering only that endpoint. */
export function renderEndpointGrantRbac(ctx: TenantContext, grant: EndpointGrant): KubeObject[] {
  const name = endpointGrantRoleName(ctx.name, grant.endpoint);
  const rules = invokeEndpointsRule([endpointResourceName(ctx.name, grant.endpoint)]);
  return [
    role(name, ctx.platform.servingNamespace, ctx, rules, grant.endpoint),
    roleBinding(name, name, ctx, grant.subjects, grant.endpoint),
  ];
}

function tenantRule(tenant: string | undefined, resources: string[], verbs: string[]): PolicyRule {
  const rule: PolicyRule = { apiGroups: [API_GROUP], resources, verbs };
  if (tenant !== undefined) rule.resourceNames = [tenant];
  return rule;
}

const subresources = (...names: TenantSubresource[]) => names.map((name) => `tenants/${name}`);

/** Management-plane rules of a tenant's administrators (docs/rbac.md). */
export function tenantAdminRules(tenant: string): PolicyRule[] {
  return [
    tenantRule(tenant, ['tenants'], ['get']),
    tenantRule(tenant, subresources('endpoints', 'models', 'access', 'certificates'), ALL_VERBS),
  ];
}

/** Management-plane rules of a tenant's users (docs/rbac.md). */
export function tenantUserRules(tenant: string): PolicyRule[] {
  return [
    tenantRule(tenant, ['tenants'], ['get']),
    tenantRule(tenant, subresources('endpoints', 'models'), ALL_VERBS),
    tenantRule(tenant, subresources('certificates'), ['get', 'list', 'create']),
    tenantRule(tenant, subresources('access'), READ_VERBS),
  ];
}

/** Management-plane rules of platform admins: everything tenantmesh, cluster-wide. */
export function platformAdminRules(): PolicyRule[] {
  return [
    tenantRule(
      undefined,
      ['tenants', ...subresources(...TENANT_SUBRESOURCES), 'tenants/status'],
      [...ALL_VERBS, 'watch'],
    ),
    tenantRule(
      undefined,
      ['inferenceendpoints', 'inferenceendpoints/status', 'inferenceendpoints/scale'],
      [...ALL_VERBS, 'watch'],
    ),
    tenantRule(undefined, ['servingruntimes'], [...ALL_VERBS, 'watch']),
  ];
}

function clusterRole(name: string, labels: Record<string, string>, rules: PolicyRule[]): KubeObject {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'ClusterRole',
    metadata: objectMeta(name, undefined, labels),
    rules,
  };
}

function clusterRoleBinding(name: string, labels: Record<string, string>, subjects: Subject[]): KubeObject {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'ClusterRoleBinding',
    metadata: objectMeta(name, undefined, labels),
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name },
    subjects: uniqueSubjects(subjects),
  };
}

/** Per-tenant management-plane ClusterRoles and bindings (tenant admin, tenant user). */
export function renderManagementRbac(ctx: TenantContext): KubeObject[] {
  const labels = commonLabels('rbac', ctx.name);
  const adminRole = tenantAdminClusterRoleName(ctx.name);
  const userRole = tenantUserClusterRoleName(ctx.name);
  return [
    clusterRole(adminRole, labels, tenantAdminRules(ctx.name)),
    clusterRoleBinding(adminRole, labels, ctx.tenant.spec.admins ?? []),
    clusterRole(userRole, labels, tenantUserRules(ctx.name)),
    clusterRoleBinding(userRole, labels, [
      { kind: 'Group', name: tenantUsersGroup(ctx.name) },
      ...(ctx.tenant.spec.users ?? []),
    ]),
  ];
}

/** The static platform-admin ClusterRole and its binding to the configured platform admins. */
export function renderPlatformAdminRbac(platform: PlatformConfig): KubeObject[] {
  const labels = commonLabels('rbac');
  return [
    clusterRole(PLATFORM_ADMIN_CLUSTER_ROLE, labels, platformAdminRules()),
    clusterRoleBinding(PLATFORM_ADMIN_CLUSTER_ROLE, labels, platform.platformAdmins),
  ];
}

/** Every RBAC object of a tenant: data plane, endpoint grants (sorted by endpoint), management plane. */
export function renderTenantRbac(ctx: TenantContext): KubeObject[] {
  const grants = [...(ctx.tenant.spec.endpointGrants ?? [])].sort((a, b) =>
    a.endpoint.localeCompare(b.endpoint),
  );
  return [
    ...renderDataPlaneRbac(ctx),
    ...grants.flatMap((grant) => renderEndpointGrantRbac(ctx, grant)),
    ...renderManagementRbac(ctx),
  ];
}
