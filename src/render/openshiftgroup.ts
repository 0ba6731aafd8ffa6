import { commonLabels, tenantUsersGroup } from '../domain/index.ts';
import type { KubeObject } from '../domain/index.ts';
import { objectMeta } from './meta.ts';
import type { TenantContext } from './types.ts';

/**
 * On OpenShift, group membership lives in `user.openshift.io/v1` Groups: `<t>-users` lists the tenant's
 * User subjects (Groups and ServiceAccounts cannot be members; they are bound directly instead).
 */
export function renderOpenShiftGroup(ctx: TenantContext): KubeObject {
  const users = (ctx.tenant.spec.users ?? []).filter((s) => s.kind === 'User').map((s) => s.name);
  return {
    apiVersion: 'user.openshift.io/v1',
    kind: 'Group',
    metadata: objectMeta(tenantUsersGroup(ctx.name), undefined, commonLabels('rbac', ctx.name)),
    users: [...new Set(users)].sort(),
  };
}
