import { describe, expect, it } from 'vitest';
import { renderPlatform, tenantContext } from '../../../src/render/index.ts';
import { renderOpenShiftGroup } from '../../../src/render/openshiftgroup.ts';
import { renderTenantRbac } from '../../../src/render/rbac.ts';
import { find, platform, sampleInput, toYaml } from './fixtures.ts';

const ctx = tenantContext(sampleInput());
const objects = renderTenantRbac(ctx);

describe('RBAC objects', () => {
  it('match the golden Roles, RoleBindings, ClusterRoles and ClusterRoleBindings', async () => {
    await expect(toYaml(objects)).toMatchFileSnapshot('__golden__/rbac.yaml');
  });

  it('match the golden platform-admin role', async () => {
    const capabilities = { istio: false, authorino: false, openshift: false };
    await expect(toYaml(renderPlatform(platform, capabilities))).toMatchFileSnapshot(
      '__golden__/platform-rbac.yaml',
    );
  });

  it('match the golden OpenShift Group', async () => {
    await expect(toYaml(renderOpenShiftGroup(ctx))).toMatchFileSnapshot('__golden__/openshiftgroup.yaml');
  });

  it("the tenant's data-plane Role allows get on its registry Service and invoke on exactly its endpoints", () => {
    expect(find(objects, 'Role', 'registry-user-acme').rules).toEqual([
      { apiGroups: [''], resources: ['services'], verbs: ['get'], resourceNames: ['acme'] },
      {
        apiGroups: ['tenantmesh.io'],
        resources: ['inferenceendpoints'],
        verbs: ['invoke'],
        resourceNames: ['acme--bert', 'acme--resnet'],
      },
    ]);
  });

  it('a tenant without endpoints gets a data-plane Role that grants its registry Service only', () => {
    const empty = renderTenantRbac(tenantContext(sampleInput({ endpoints: [] })));
    expect(find(empty, 'Role', 'registry-user-acme').rules).toEqual([
      { apiGroups: [''], resources: ['services'], verbs: ['get'], resourceNames: ['acme'] },
    ]);
  });

  it("the users binding covers the users group, the tenant's certificates, admins and users", () => {
    expect(find(objects, 'RoleBinding', 'acme-users').subjects).toEqual([
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'acme-users' },
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'tenantmesh:clients:acme' },
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'oidc:alice' },
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'acme-data-science' },
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'oidc:bob' },
      { kind: 'ServiceAccount', name: 'pipeline', namespace: 'acme-ci' },
    ]);
  });

  it('an endpoint grant renders a Role limited to invoking that endpoint', () => {
    expect(find(objects, 'Role', 'registry-user-acme--bert').rules).toEqual([
      {
        apiGroups: ['tenantmesh.io'],
        resources: ['inferenceendpoints'],
        verbs: ['invoke'],
        resourceNames: ['acme--bert'],
      },
    ]);
    expect(find(objects, 'RoleBinding', 'registry-user-acme--bert').subjects).toEqual([
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'partners' },
    ]);
  });

  it('tenant management roles are limited to their own tenant', () => {
    for (const name of ['tenantmesh:tenant-admin:acme', 'tenantmesh:tenant-user:acme']) {
      const rules = find(objects, 'ClusterRole', name).rules as { resourceNames?: string[] }[];
      expect(
        rules.every((rule) => rule.resourceNames?.length === 1 && rule.resourceNames[0] === 'acme'),
      ).toBe(true);
    }
  });

  it('tenant users can issue but not revoke client certificates, and cannot change grants', () => {
    const rules = find(objects, 'ClusterRole', 'tenantmesh:tenant-user:acme').rules as {
      resources: string[];
      verbs: string[];
    }[];
    const verbsOn = (resource: string) =>
      rules.filter((r) => r.resources.includes(resource)).flatMap((r) => r.verbs);
    expect(verbsOn('tenants/certificates')).toEqual(['get', 'list', 'create']);
    expect(verbsOn('tenants/access')).toEqual(['get', 'list']);
    expect(verbsOn('tenants')).toEqual(['get']);
  });

  it('the OpenShift group lists the tenant users that are Users', () => {
    expect(renderOpenShiftGroup(ctx).users).toEqual(['oidc:bob']);
  });
});
