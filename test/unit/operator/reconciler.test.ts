import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  endpointResourceName,
  platformConfig,
  type InferenceEndpoint,
  type InferenceEndpointStatus,
  type ServingRuntime,
  type Tenant,
} from '../../../src/domain/index.ts';
import { systemClock, type Kube, type KubeObject } from '../../../src/kube/index.ts';
import type { OperatorCache } from '../../../src/operator/cache.ts';
import { createOperatorMetrics } from '../../../src/operator/metrics.ts';
import { OwnWrites } from '../../../src/operator/own-writes.ts';
import { defaultPki, type StoragePort } from '../../../src/operator/ports.ts';
import { CLEANUP_FINALIZER, TenantReconciler } from '../../../src/operator/reconciler.ts';

const platform = platformConfig();
const runtime = parse(
  readFileSync(
    new URL('../../../charts/tenantmesh/runtimes/tensorflow-serving.yaml', import.meta.url),
    'utf8',
  ),
) as ServingRuntime & KubeObject;

const tenant = {
  apiVersion: 'tenantmesh.io/v1alpha1',
  kind: 'Tenant',
  metadata: {
    name: 'acme',
    uid: 'uid-acme',
    generation: 1,
    resourceVersion: '1',
    finalizers: [CLEANUP_FINALIZER],
  },
  spec: { users: [{ kind: 'Group', name: 'acme-users' }] },
} as Tenant & KubeObject;

const endpoint = {
  apiVersion: 'tenantmesh.io/v1alpha1',
  kind: 'InferenceEndpoint',
  metadata: {
    name: endpointResourceName('acme', 'mnist'),
    namespace: platform.servingNamespace,
    uid: 'uid-mnist',
    generation: 1,
    resourceVersion: '2',
  },
  spec: { tenant: 'acme', model: { name: 'mnist', version: 'v1' }, runtime: runtime.metadata.name },
} as InferenceEndpoint & KubeObject;

/** A cache that has not seen any of the reconciler's writes yet: their watch events are still on their way. */
const cacheBeforeEchoes: OperatorCache = {
  tenant: (name) => (name === 'acme' ? tenant : undefined),
  tenantNames: () => ['acme'],
  endpointsOf: (name) => (name === 'acme' ? [endpoint] : []),
  runtimes: () => [runtime],
  ownedBy: () => [],
  owned: () => undefined,
};

/**
 * A stub of our Kube port for this unit test of the reconciler's own logic (the operator's integration tests run it
 * against a real apiserver): answers writes as the apiserver does for new objects, and records the statuses written.
 */
function recordingKube() {
  let resourceVersion = 100;
  const statuses = new Map<string, unknown>();
  const written = <T extends KubeObject>(object: T, extra: Partial<KubeObject['metadata']> = {}): T => ({
    ...object,
    metadata: { ...object.metadata, ...extra, resourceVersion: String(++resourceVersion) },
  });
  const kube = {
    // A new object as the apiserver returns it: generation 1, and a Deployment's status not written yet.
    applyObject: (object: KubeObject) =>
      Promise.resolve(
        written(object.kind === 'Deployment' ? { ...object, status: {} } : object, {
          uid: `uid-${object.metadata.name}`,
          generation: 1,
        }),
      ),
    create: (object: KubeObject) => Promise.resolve(written(object)),
    applyStatus: (object: KubeObject & { status: unknown }) => {
      statuses.set(`${object.kind}/${object.metadata.name}`, object.status);
      return Promise.resolve(written(object));
    },
    get: () => Promise.resolve(undefined),
    delete: () => Promise.resolve(false),
  } as unknown as Kube;
  return { kube, statuses };
}

const store: StoragePort = {
  ensureBucket: () => Promise.resolve(),
  removeBucket: () => Promise.resolve(),
  issueReadCredentials: () =>
    Promise.resolve({
      accessKey: 'access',
      secretKey: 'secret',
      sessionToken: 'token',
      expiresAt: new Date(Date.now() + 12 * 3600_000).toISOString(),
    }),
  latestVersion: () => Promise.resolve('v1'),
};

describe('TenantReconciler', () => {
  it("judges an endpoint by the Deployment it just applied, before the cache has seen that write's echo", async () => {
    const { kube, statuses } = recordingKube();
    const reconciler = new TenantReconciler({
      kube,
      platform,
      store,
      pki: defaultPki,
      clock: systemClock,
      cache: cacheBeforeEchoes,
      ownWrites: new OwnWrites(),
      metrics: createOperatorMetrics(),
      capabilities: () => Promise.resolve({ istio: true, authorino: true, openshift: false }),
    });

    await reconciler.reconcile('acme');

    const status = statuses.get(`InferenceEndpoint/${endpoint.metadata.name}`) as InferenceEndpointStatus;
    const ready = status.conditions?.find((condition) => condition.type === 'Ready');
    // The echo of the Deployment's apply is recognised as our own write and queues nothing: a status judged
    // from the cache ("does not exist yet") would stay wrong until the next resync rewrote it.
    expect(ready?.message).toBe('0 of 1 replicas available (rollout not observed yet)');
  });
});
