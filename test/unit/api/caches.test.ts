import { describe, expect, it } from 'vitest';
import { createApiCaches, reached } from '../../../src/api/caches.ts';
import type { Kube, KubeObject, ListWatchSource, WatchHandlers } from '../../../src/kube/index.ts';
import { MemoryEndpointStore, MemoryTenantStore } from './fakes.ts';

/** A Kube whose list/watch an individual test drives: lists answer `items`, watch events come from `emit`. */
function drivenKube(items: Record<string, KubeObject[]>) {
  const watchers = new Map<string, WatchHandlers<KubeObject>>();
  const kube = {
    listWatch(_apiVersion: string, kind: string): ListWatchSource<KubeObject> {
      return {
        list: async () => ({ items: items[kind] ?? [], resourceVersion: '1' }),
        watch: (_rv, handlers) => {
          watchers.set(kind, handlers);
          return { stop: () => watchers.delete(kind) };
        },
      };
    },
  } as unknown as Kube;
  return {
    kube,
    emit: (kind: string, object: KubeObject) => watchers.get(kind)?.onEvent({ type: 'MODIFIED', object }),
  };
}

const tenant = (name: string, resourceVersion: string, displayName: string): KubeObject => ({
  apiVersion: 'tenantmesh.io/v1alpha1',
  kind: 'Tenant',
  metadata: { name, resourceVersion },
  spec: { displayName },
});

describe('the API caches', () => {
  it('compares resourceVersions as integers and anything else only for equality', () => {
    expect(reached('100', '99')).toBe(true);
    expect(reached('99', '100')).toBe(false);
    expect(reached('abc', 'abc')).toBe(true);
    expect(reached('abd', 'abc')).toBe(false);
    expect(reached(undefined, '1')).toBe(false);
  });

  it('serves reads from the cache, not the store behind it', async () => {
    const { kube } = drivenKube({ Tenant: [tenant('acme', '1', 'cached')] });
    const direct = new MemoryTenantStore();
    direct.seed('acme', { displayName: 'from the apiserver' });
    const caches = createApiCaches(
      kube,
      { tenants: direct, endpoints: new MemoryEndpointStore() },
      {
        servingNamespace: 'serving',
      },
    );
    await caches.synced();
    expect((await caches.tenants.get('acme')).spec.displayName).toBe('cached');
    expect((await caches.tenants.list()).map((t) => t.spec.displayName)).toEqual(['cached']);
    caches.stop();
  });

  it('answers a write once the watch has delivered it, so the next read shows it', async () => {
    const { kube, emit } = drivenKube({ Tenant: [tenant('acme', '1', 'old')] });
    const direct = new MemoryTenantStore();
    const caches = createApiCaches(
      kube,
      { tenants: direct, endpoints: new MemoryEndpointStore() },
      {
        servingNamespace: 'serving',
        writeVisibleTimeoutMs: 60_000,
      },
    );
    await caches.synced();
    direct.seed('acme');
    let answered = false;
    const write = caches.tenants.update('acme', { displayName: 'new' }, {}).then(() => (answered = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    const written = direct.tenants.get('acme')!;
    emit('Tenant', tenant('acme', written.metadata.resourceVersion!, 'new'));
    await write;
    expect((await caches.tenants.get('acme')).spec.displayName).toBe('new');
    caches.stop();
  });

  it('reads a key through to the apiserver while the cache lags a write past the deadline', async () => {
    const { kube, emit } = drivenKube({ Tenant: [tenant('acme', '1', 'old')] });
    const direct = new MemoryTenantStore();
    const caches = createApiCaches(
      kube,
      { tenants: direct, endpoints: new MemoryEndpointStore() },
      {
        servingNamespace: 'serving',
        writeVisibleTimeoutMs: 20,
      },
    );
    await caches.synced();
    direct.seed('acme');
    const updated = await caches.tenants.update('acme', { displayName: 'new' }, {});
    expect((await caches.tenants.get('acme')).spec.displayName).toBe('new');
    expect((await caches.tenants.list()).map((t) => t.spec.displayName)).toEqual(['new']);
    // Once the watch catches up, the cache serves again.
    emit('Tenant', tenant('acme', updated.metadata.resourceVersion!, 'from the watch'));
    expect((await caches.tenants.get('acme')).spec.displayName).toBe('from the watch');
    caches.stop();
  });

  it('reads a tenant the cache has not seen through, instead of answering 404', async () => {
    const { kube } = drivenKube({ Tenant: [] });
    const direct = new MemoryTenantStore();
    direct.seed('fresh', { displayName: 'created elsewhere' });
    const caches = createApiCaches(
      kube,
      { tenants: direct, endpoints: new MemoryEndpointStore() },
      {
        servingNamespace: 'serving',
      },
    );
    await caches.synced();
    expect((await caches.tenants.get('fresh')).spec.displayName).toBe('created elsewhere');
    caches.stop();
  });

  it('names the tenants of the ClusterRoles bound to a caller, and nothing before the RBAC caches load', async () => {
    const role = (name: string, tenantName: string): KubeObject => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name, resourceVersion: '1' },
      rules: [
        { apiGroups: ['tenantmesh.io'], resources: ['tenants'], verbs: ['get'], resourceNames: [tenantName] },
      ],
    });
    const binding = (name: string, subjects: object[]): KubeObject => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, resourceVersion: '1' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects,
    });
    const { kube } = drivenKube({
      ClusterRole: [role('r-acme', 'acme'), role('r-globex', 'globex'), role('r-initech', 'initech')],
      ClusterRoleBinding: [
        binding('r-acme', [{ kind: 'Group', name: 'acme-users' }]),
        binding('r-globex', [{ kind: 'User', name: 'bob' }]),
        binding('r-initech', [{ kind: 'User', name: 'carol' }]),
      ],
    });
    const caches = createApiCaches(
      kube,
      { tenants: new MemoryTenantStore(), endpoints: new MemoryEndpointStore() },
      { servingNamespace: 'serving' },
    );
    const bob = { kind: 'oidc' as const, username: 'bob', groups: ['acme-users'], extra: {} };
    expect(caches.visibility.candidates(bob)).toBeUndefined();
    await caches.synced();
    expect([...caches.visibility.candidates(bob)!].sort()).toEqual(['acme', 'globex']);
    caches.stop();
  });
});
