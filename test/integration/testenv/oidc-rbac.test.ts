import { describe, expect, inject, it } from 'vitest';
import { oidcToken, staticUserToken } from '../../../src/testenv/identities.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { apiserverRequest } from '../../support/kube-http.ts';

const env = inject('env');
const listConfigMaps = (token: string) =>
  apiserverRequest(env, { method: 'GET', path: '/api/v1/namespaces/oidc-rbac/configmaps', token });

describe('the local apiserver authenticates OIDC users of the local issuer and authorizes them with RBAC', () => {
  it('denies a group member before a RoleBinding to the group exists and allows it after', async () => {
    const admin = staticUserToken(env, 'admin');
    await apiserverRequest(env, {
      method: 'POST',
      path: '/api/v1/namespaces',
      token: admin,
      body: JSON.stringify({ metadata: { name: 'oidc-rbac' } }),
    });
    const token = await oidcToken(env, { sub: 'carol', email: 'carol@example.test', groups: ['readers-g'] });

    const before = await listConfigMaps(token);
    expect(before.status).toBe(403);
    expect(JSON.parse(before.body).message).toContain('carol@example.test');

    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'configmap-reader', namespace: 'oidc-rbac' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    };
    expect(
      (
        await apiserverRequest(env, {
          method: 'POST',
          path: '/apis/rbac.authorization.k8s.io/v1/namespaces/oidc-rbac/roles',
          token: admin,
          body: JSON.stringify(role),
        })
      ).status,
    ).toBe(201);
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'readers', namespace: 'oidc-rbac' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'readers-g' }],
    };
    const created = await apiserverRequest(env, {
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/oidc-rbac/rolebindings',
      token: admin,
      body: JSON.stringify(binding),
    });
    expect(created.status).toBe(201);
    // RBAC reads bindings through an informer: the grant takes effect within moments, not instantly.
    await waitFor(async () => (await listConfigMaps(token)).status === 200, {
      description: 'RBAC to allow the group member',
      timeoutMs: 10_000,
    });
  });

  it('rejects a token whose audience the apiserver does not accept', async () => {
    const token = await oidcToken(env, { sub: 'mallory', groups: ['system:masters'], aud: 'someone-else' });
    expect((await listConfigMaps(token)).status).toBe(401);
  });

  it('rejects an expired token', async () => {
    const token = await oidcToken(env, { sub: 'dave', groups: ['readers-g'], expiresIn: -120 });
    expect((await listConfigMaps(token)).status).toBe(401);
  });
});
