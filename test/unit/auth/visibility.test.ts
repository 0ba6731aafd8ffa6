import { describe, expect, it } from 'vitest';
import { subjectKey, subjectKeysOf, tenantsNamedByRules } from '../../../src/auth/visibility.ts';
import { tenantAdminRules, tenantUserRules, platformAdminRules } from '../../../src/render/rbac.ts';

describe('which tenants RBAC names a caller for', () => {
  it('finds the tenant in the rules the operator renders for tenant admins and users', () => {
    expect(tenantsNamedByRules(tenantAdminRules('acme'))).toEqual(['acme']);
    expect(tenantsNamedByRules(tenantUserRules('acme'))).toEqual(['acme']);
  });

  it('adds nothing for rules without names (one name-less review answers those)', () => {
    expect(tenantsNamedByRules(platformAdminRules())).toEqual([]);
  });

  it('counts wildcards as RBAC does and ignores rules for other verbs, resources or groups', () => {
    const rules = [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'], resourceNames: ['a'] },
      { apiGroups: ['tenantmesh.io'], resources: ['tenants'], verbs: ['delete'], resourceNames: ['b'] },
      { apiGroups: ['tenantmesh.io'], resources: ['tenants/models'], verbs: ['get'], resourceNames: ['c'] },
      { apiGroups: ['example.com'], resources: ['tenants'], verbs: ['get'], resourceNames: ['d'] },
      { apiGroups: ['tenantmesh.io'], resources: ['tenants'], verbs: ['get', 'list'], resourceNames: ['e'] },
    ];
    expect(tenantsNamedByRules(rules).sort()).toEqual(['a', 'e']);
  });

  it('matches a caller by user, by each group, and a ServiceAccount user by its ServiceAccount subject', () => {
    const keys = subjectKeysOf({
      kind: 'serviceaccount',
      username: 'system:serviceaccount:build:ci',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:build'],
      extra: {},
    });
    expect(keys).toContain(subjectKey({ kind: 'User', name: 'system:serviceaccount:build:ci' }));
    expect(keys).toContain(subjectKey({ kind: 'Group', name: 'system:serviceaccounts:build' }));
    expect(keys).toContain(subjectKey({ kind: 'ServiceAccount', name: 'ci', namespace: 'build' }));
    expect(keys).not.toContain(subjectKey({ kind: 'ServiceAccount', name: 'ci', namespace: 'other' }));
  });

  it('matches a binding to a group Kubernetes gives every caller, as the review would', () => {
    const keys = subjectKeysOf({ kind: 'oidc', username: 'alice', groups: [], extra: {} });
    expect(keys).toContain(subjectKey({ kind: 'Group', name: 'system:authenticated' }));
  });
});
