import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  CLIENT_CERTIFICATE_REGISTRY_KEY,
  LABELS,
  clientCertificateRegistryName,
  commonLabels,
  platformConfig,
  selectorString,
  tenantSelector,
  type InferenceEndpoint,
  type Tenant,
} from '../../../src/domain/index.ts';
import { createKube, type KubeObject } from '../../../src/kube/index.ts';
import { OWNED_KINDS } from '../../../src/operator/cache.ts';
import { createOperator, type Operator } from '../../../src/operator/controller.ts';
import { CONDITION_TYPES, REASONS } from '../../../src/operator/conditions.ts';
import { storagePortFrom } from '../../../src/operator/ports.ts';
import { summariseCrl } from '../../../src/pki/index.ts';
import { createModelStore } from '../../../src/storage/store.ts';
import { s3Client } from '../../../src/testenv/identities.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { endpoint, runtimeNamed, tenant } from './fixtures.ts';

const env = inject('env');
const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
const ns = env.namespaces.serving;
const platform = platformConfig({ servingNamespace: ns, gatewayNamespace: env.namespaces.gateway });
const store = storagePortFrom(createModelStore(env.s3));
const run = randomBytes(3).toString('hex');
const runtimeName = `op-tfs-${run}`;
const t1 = `op1-${run}`;
const t2 = `op2-${run}`;
const t3 = `op3-${run}`;
const testManager = 'tenantmesh-test';
const GV = 'tenantmesh.io/v1alpha1';

let operator: Operator;
const errors: string[] = [];
/** Finished reconciles per tenant. */
const reconciles = new Map<string, number>();

function startOperator(): Operator {
  const started = createOperator({
    kube,
    platform,
    store,
    workers: 4,
    identity: `test-${randomBytes(3).toString('hex')}`,
    lease: { durationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
    onError: (key, err) => errors.push(`${key}: ${err instanceof Error ? err.message : String(err)}`),
    onReconciled: (key) => reconciles.set(key, (reconciles.get(key) ?? 0) + 1),
  });
  started.start();
  return started;
}

async function managedObjects(t: string): Promise<KubeObject[]> {
  const groups = await kube.serverGroups();
  const served = new Set(groups.map((group) => group.name));
  const lists = await Promise.all(
    OWNED_KINDS.filter((kind) => kind.group === '' || served.has(kind.group)).map((kind) =>
      kube.list(kind.apiVersion, kind.kind, { labelSelector: selectorString(tenantSelector(t)) }),
    ),
  );
  return lists.flatMap((list) => list.items.filter((item) => !item.metadata.deletionTimestamp));
}

const names = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

async function getTenant(name: string): Promise<Tenant | undefined> {
  return kube.get<Tenant & KubeObject>(GV, 'Tenant', name);
}

function condition(obj: object | undefined, type: string) {
  const status = (
    obj as { status?: { conditions?: { type: string; status: string; reason: string }[] } } | undefined
  )?.status;
  return status?.conditions?.find((c) => c.type === type);
}

/** Writes the status a deployment controller would write once every replica is available. */
async function markAvailable(name: string): Promise<void> {
  const deployment = await kube.get('apps/v1', 'Deployment', name, ns);
  if (!deployment) throw new Error(`no Deployment ${name}`);
  const replicas = (deployment['spec'] as { replicas?: number }).replicas ?? 1;
  await kube.applyStatus(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
      status: {
        observedGeneration: deployment.metadata.generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
      },
    },
    { fieldManager: 'kube-controller-manager-stand-in', force: true },
  );
}

beforeAll(async () => {
  await kube.applyObject(runtimeNamed(runtimeName) as unknown as KubeObject, { fieldManager: testManager });
  operator = startOperator();
  await waitFor(() => operator.isReady(), {
    description: 'operator leading with synced caches',
    timeoutMs: 30_000,
  });
});

afterAll(async () => {
  await operator?.stop();
  for (const t of [t1, t2, t3]) await kube.delete(GV, 'Tenant', t);
  await kube.delete(GV, 'ServingRuntime', runtimeName);
});

describe('operator against a real apiserver', () => {
  const expectedForTwoEndpoints = (t: string) =>
    [
      `AuthConfig/tenantmesh-${t}`,
      `AuthConfig/tenantmesh-${t}--registry`,
      `AuthorizationPolicy/tenantmesh-${t}-from-gateway`,
      `ClusterRole/tenantmesh:tenant-admin:${t}`,
      `ClusterRole/tenantmesh:tenant-user:${t}`,
      `ClusterRoleBinding/tenantmesh:tenant-admin:${t}`,
      `ClusterRoleBinding/tenantmesh:tenant-user:${t}`,
      `Deployment/${t}--alpha`,
      `Deployment/${t}--beta`,
      `DestinationRule/${t}--alpha`,
      `DestinationRule/${t}--beta`,
      `Gateway/tenantmesh-${t}`,
      `Role/registry-user-${t}`,
      `Role/registry-user-${t}--alpha`,
      `RoleBinding/${t}-users`,
      `RoleBinding/registry-user-${t}--alpha`,
      `Secret/tenantmesh-${t}-ca`,
      `Secret/tenantmesh-${t}-ca-trust`,
      `Secret/tenantmesh-${t}-gateway`,
      `Secret/tenantmesh-${t}-storage-read`,
      `Service/${t}`,
      `Service/${t}--alpha`,
      `Service/${t}--beta`,
      `VirtualService/${t}--alpha`,
      `VirtualService/${t}--beta`,
      `VirtualService/${t}--registry`,
    ].sort();

  it('creates every object of a tenant with two endpoints, accepted by the apiserver with strict validation', async () => {
    await kube.applyObject(
      tenant(t1, {
        users: [{ kind: 'Group', name: 'team-a' }],
        endpointGrants: [{ endpoint: 'alpha', subjects: [{ kind: 'User', name: 'bob' }] }],
      }) as unknown as KubeObject,
      { fieldManager: testManager },
    );
    for (const e of ['alpha', 'beta']) {
      await kube.applyObject(endpoint(t1, e, runtimeName, ns) as unknown as KubeObject, {
        fieldManager: testManager,
      });
    }
    await waitFor(async () => names(await managedObjects(t1)).join() === expectedForTwoEndpoints(t1).join(), {
      description: `objects of ${t1}`,
      timeoutMs: 30_000,
    });
    const tenantNow = await getTenant(t1);
    expect(tenantNow?.metadata.finalizers).toContain('tenantmesh.io/cleanup');
    // The registry Service: an alias of the management API's Service, found by the dashboard's label and port.
    const registry = await kube.get('v1', 'Service', t1, ns);
    expect(registry?.metadata.labels).toMatchObject({ component: 'model-registry' });
    expect(registry?.['spec']).toMatchObject({
      type: 'ExternalName',
      externalName: platform.registryService.externalName,
      ports: [{ name: 'https-api', port: platform.registryService.port }],
    });
    expect(await s3Client(env).bucketExists(`tenantmesh-${t1}`)).toBe(true);
    await waitFor(
      async () => condition(await getTenant(t1), CONDITION_TYPES.progressing)?.reason === REASONS.rollingOut,
      {
        description: 'tenant Progressing while Deployments roll out',
        timeoutMs: 15_000,
      },
    );
  });

  it('gives children the right controller owner and labels', async () => {
    const objects = await managedObjects(t1);
    const tenantUid = (await getTenant(t1))!.metadata.uid;
    const alpha = await kube.get<InferenceEndpoint & KubeObject>(GV, 'InferenceEndpoint', `${t1}--alpha`, ns);
    for (const object of objects) {
      const owner = object.metadata.ownerReferences?.[0];
      expect(object.metadata.ownerReferences, `${object.kind}/${object.metadata.name}`).toHaveLength(1);
      expect(owner?.controller).toBe(true);
      expect(object.metadata.labels?.[LABELS.tenant]).toBe(t1);
      const endpointLabel = object.metadata.labels?.[LABELS.endpoint];
      if (endpointLabel === 'alpha' && object.metadata.namespace === ns) {
        expect(owner).toMatchObject({
          kind: 'InferenceEndpoint',
          name: `${t1}--alpha`,
          uid: alpha!.metadata.uid,
        });
      } else if (endpointLabel === undefined) {
        expect(owner).toMatchObject({ kind: 'Tenant', name: t1, uid: tenantUid });
      }
    }
    const gatewaySecret = objects.find((o) => o.metadata.name === `tenantmesh-${t1}-gateway`);
    expect(gatewaySecret?.metadata.namespace).toBe(env.namespaces.gateway);
  });

  it('reports Ready once the Deployments report available replicas', async () => {
    await markAvailable(`${t1}--alpha`);
    await markAvailable(`${t1}--beta`);
    await waitFor(async () => condition(await getTenant(t1), CONDITION_TYPES.ready)?.status === 'True', {
      description: 'tenant Ready',
      timeoutMs: 15_000,
    });
    const status = (await getTenant(t1))!.status!;
    expect(status.observedGeneration).toBe((await getTenant(t1))!.metadata.generation);
    expect(status.bucket).toBe(`tenantmesh-${t1}`);
    expect(status.caFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(status.hosts).toEqual([`alpha.${t1}.${platform.domain}`, `beta.${t1}.${platform.domain}`]);
    const alpha = await kube.get<InferenceEndpoint & KubeObject>(GV, 'InferenceEndpoint', `${t1}--alpha`, ns);
    expect(alpha?.status).toMatchObject({
      readyReplicas: 1,
      servedModelVersion: 'v1',
      url: `https://alpha.${t1}.${platform.domain}`,
    });
    expect(condition(alpha, CONDITION_TYPES.ready)?.status).toBe('True');
  });

  it('performs zero writes on a no-op resync', async () => {
    await operator.idle();
    const before = await operator.metrics.writeCount();
    operator.resyncAll();
    await operator.idle();
    expect(await operator.metrics.writeCount()).toBe(before);
  });

  it('puts the revocations recorded in the certificate registry into the gateway credential CRL, signed once', async () => {
    const registry = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: clientCertificateRegistryName(t1), namespace: ns, labels: commonLabels('pki', t1) },
      data: {
        [CLIENT_CERTIFICATE_REGISTRY_KEY]: JSON.stringify([
          {
            serialNumber: '7a01',
            commonName: 'kept',
            notBefore: '',
            notAfter: '',
            fingerprintSha256: '',
            issuedBy: 'x',
          },
          {
            serialNumber: '7a02',
            commonName: 'revoked',
            notBefore: '',
            notAfter: '',
            fingerprintSha256: '',
            issuedBy: 'x',
            revokedAt: '2026-01-01T00:00:00Z',
          },
        ]),
      },
    } as unknown as KubeObject;
    await kube.applyObject(registry, { fieldManager: 'tenantmesh-api' });

    const crl = await waitFor(
      async () => {
        const secret = await kube.get('v1', 'Secret', `tenantmesh-${t1}-gateway`, env.namespaces.gateway);
        const encoded = (secret?.['data'] as Record<string, string> | undefined)?.['ca.crl'];
        return encoded ? Buffer.from(encoded, 'base64').toString() : undefined;
      },
      { description: 'the gateway credential to carry a CRL', timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(summariseCrl(crl).serialNumbers).toEqual(['7a02']);

    await operator.idle();
    const before = await operator.metrics.writeCount();
    operator.resyncAll();
    await operator.idle();
    expect(await operator.metrics.writeCount()).toBe(before);
    // The operator reads the registry; it never prunes it.
    expect(await kube.get('v1', 'ConfigMap', clientCertificateRegistryName(t1), ns)).toBeDefined();
  });

  it('lets members of <t>-users get the tenant endpoint Services but not another tenant’s, and an endpoint grant only its endpoint', async () => {
    await kube.applyObject(tenant(t2, { quota: { maxEndpoints: 1 } }) as unknown as KubeObject, {
      fieldManager: testManager,
    });
    await kube.applyObject(endpoint(t2, 'one', runtimeName, ns) as unknown as KubeObject, {
      fieldManager: testManager,
    });
    await waitFor(
      async () =>
        (await kube.get('rbac.authorization.k8s.io/v1', 'Role', `registry-user-${t2}`, ns)) !== undefined,
      {
        description: `RBAC of ${t2}`,
        timeoutMs: 20_000,
      },
    );
    const may = async (user: string, groups: string[], service: string) =>
      (
        await kube.createSubjectAccessReview({
          user,
          groups,
          resourceAttributes: {
            namespace: ns,
            group: 'tenantmesh.io',
            verb: 'invoke',
            resource: 'inferenceendpoints',
            name: service,
          },
        })
      ).allowed;
    expect(await may('carol', [`${t1}-users`], `${t1}--alpha`)).toBe(true);
    expect(await may('carol', [`${t1}-users`], `${t1}--beta`)).toBe(true);
    expect(await may('carol', [`${t1}-users`], `${t2}--one`)).toBe(false);
    expect(await may('alice', ['team-a'], `${t1}--beta`)).toBe(true);
    expect(await may('bob', ['team-b'], `${t1}--alpha`)).toBe(true);
    expect(await may('bob', ['team-b'], `${t1}--beta`)).toBe(false);

    // The registry: `get` on the tenant's registry Service `<t>`, exactly that, and only for its own users.
    const mayOnServices = async (groups: string[], verb: string, name?: string) =>
      (
        await kube.createSubjectAccessReview({
          user: 'carol',
          groups,
          resourceAttributes: { namespace: ns, verb, resource: 'services', ...(name ? { name } : {}) },
        })
      ).allowed;
    expect(await mayOnServices([`${t1}-users`], 'get', t1)).toBe(true);
    expect(await mayOnServices([`${t2}-users`], 'get', t2)).toBe(true);
    expect(await mayOnServices([`${t1}-users`], 'get', t2)).toBe(false);
    expect(await mayOnServices([`${t2}-users`], 'get', t1)).toBe(false);
    expect(await mayOnServices([`${t1}-users`], 'get', `${t1}--alpha`)).toBe(false);
    expect(await mayOnServices([`${t1}-users`], 'get')).toBe(false);
    for (const verb of ['list', 'watch', 'update', 'patch', 'delete']) {
      expect(await mayOnServices([`${t1}-users`], verb, t1), verb).toBe(false);
    }
    expect(await mayOnServices(['bob-only'], 'get', t1)).toBe(false);
  });

  it('marks endpoints over quota Degraded QuotaExceeded and creates nothing for them', async () => {
    await kube.applyObject(endpoint(t2, 'two', runtimeName, ns) as unknown as KubeObject, {
      fieldManager: testManager,
    });
    await waitFor(
      async () =>
        condition(await kube.get(GV, 'InferenceEndpoint', `${t2}--two`, ns), CONDITION_TYPES.degraded)
          ?.reason === REASONS.quotaExceeded,
      { description: 'QuotaExceeded on the second endpoint', timeoutMs: 20_000 },
    );
    const objects = names(await managedObjects(t2));
    expect(objects).toContain(`Deployment/${t2}--one`);
    expect(objects.filter((name) => name.includes(`${t2}--two`))).toEqual([]);
  });

  it('restores a child edited by hand and recreates a deleted one, without reconciling again for its own writes', async () => {
    const service = `${t1}--alpha`;
    const original = await kube.get('v1', 'Service', service, ns);
    await operator.idle();
    const reconcilesBefore = reconciles.get(t1) ?? 0;
    // A hand edit of a field the operator owns (kubectl edit would do the same as an update).
    await kube.patchMerge('v1', 'Service', service, ns, {
      spec: { selector: { [LABELS.endpoint]: 'hijacked' } },
    });
    await waitFor(
      async () =>
        JSON.stringify((await kube.get('v1', 'Service', service, ns))?.['spec']) ===
        JSON.stringify(original?.['spec']),
      { description: `Service restored (errors: ${errors.join('; ')})`, timeoutMs: 20_000 },
    );
    // The hand edit queues one reconcile; the echo of the write that restored the Service queues none.
    await operator.idle();
    expect((reconciles.get(t1) ?? 0) - reconcilesBefore).toBe(1);
    const vs = await kube.get('networking.istio.io/v1', 'VirtualService', service, ns);
    await kube.delete('networking.istio.io/v1', 'VirtualService', service, ns);
    await waitFor(
      async () => {
        const again = await kube.get('networking.istio.io/v1', 'VirtualService', service, ns);
        return again !== undefined && again.metadata.uid !== vs?.metadata.uid;
      },
      { description: 'VirtualService recreated', timeoutMs: 20_000 },
    );
  });

  it('reads a child another writer touched and leaves it alone when what the operator set still holds', async () => {
    const service = `${t1}--alpha`;
    await operator.idle();
    const reconcilesBefore = reconciles.get(t1) ?? 0;
    const writesBefore = await operator.metrics.writeCount();
    // Another tool's label: the operator holds the VirtualService as metadata only, so it reads the object to
    // judge it, finds every field it sets in place and writes nothing.
    const labelled = await kube.patchMerge('networking.istio.io/v1', 'VirtualService', service, ns, {
      metadata: { labels: { team: 'vision' } },
    });
    await waitFor(async () => (reconciles.get(t1) ?? 0) > reconcilesBefore, {
      description: 'the label queued the tenant',
      timeoutMs: 20_000,
      intervalMs: 5,
    });
    await operator.idle();
    expect(await operator.metrics.writeCount()).toBe(writesBefore);
    const after = await kube.get('networking.istio.io/v1', 'VirtualService', service, ns);
    expect(after?.metadata.resourceVersion).toBe(labelled.metadata.resourceVersion);
    expect(after?.metadata.labels?.['team']).toBe('vision');

    // Known good at its new version from then on: a resync writes nothing either.
    operator.resyncAll();
    await operator.idle();
    expect(await operator.metrics.writeCount()).toBe(writesBefore);
  });

  it('removes a revoked endpoint grant’s Role and RoleBinding, and a removed endpoint’s objects', async () => {
    await kube.patchMerge(
      GV,
      'Tenant',
      t1,
      undefined,
      { spec: { endpointGrants: null } },
      { fieldManager: testManager },
    );
    // The grant was applied by testManager; drop it from that manager's apply as well.
    await kube.applyObject(
      tenant(t1, { users: [{ kind: 'Group', name: 'team-a' }] }) as unknown as KubeObject,
      {
        fieldManager: testManager,
      },
    );
    await waitFor(async () => !names(await managedObjects(t1)).includes(`Role/registry-user-${t1}--alpha`), {
      description: `grant Role removed (errors: ${errors.join('; ')})`,
      timeoutMs: 20_000,
    });
    expect(names(await managedObjects(t1))).not.toContain(`RoleBinding/registry-user-${t1}--alpha`);

    await kube.delete(GV, 'InferenceEndpoint', `${t1}--beta`, ns);
    await waitFor(async () => !names(await managedObjects(t1)).some((name) => name.endsWith(`${t1}--beta`)), {
      description: 'beta objects removed',
      timeoutMs: 30_000,
    });
  });

  it('converges without duplicates when the operator is stopped mid-reconcile and started again', async () => {
    const writesBefore = await operator.metrics.writeCount();
    await kube.applyObject(tenant(t3) as unknown as KubeObject, { fieldManager: testManager });
    for (const e of ['alpha', 'beta']) {
      await kube.applyObject(endpoint(t3, e, runtimeName, ns) as unknown as KubeObject, {
        fieldManager: testManager,
      });
    }
    await waitFor(async () => (await operator.metrics.writeCount()) > writesBefore, {
      description: 'first writes for the new tenant',
      timeoutMs: 20_000,
      intervalMs: 5,
    });
    await operator.stop();
    operator = startOperator();
    await waitFor(
      async () =>
        names(await managedObjects(t3)).join() ===
        expectedForTwoEndpoints(t3)
          .filter((n) => !n.includes('-alpha') || !n.startsWith('Role'))
          .join(),
      {
        description: `objects of ${t3} after restart`,
        timeoutMs: 40_000,
      },
    );
    const caSecrets = (await managedObjects(t3)).filter((o) => o.metadata.name === `tenantmesh-${t3}-ca`);
    expect(caSecrets).toHaveLength(1);
  });

  it('deletes everything of a deleted tenant, including the gateway-namespace Secret and the bucket', async () => {
    await kube.delete(GV, 'Tenant', t1);
    await waitFor(async () => (await getTenant(t1)) === undefined, {
      description: 'tenant gone',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await managedObjects(t1)).length === 0, {
      description: `every object of ${t1} collected`,
      timeoutMs: 60_000,
    });
    expect(
      await kube.get('v1', 'Secret', `tenantmesh-${t1}-gateway`, env.namespaces.gateway),
    ).toBeUndefined();
    expect(await kube.get('v1', 'Service', t1, ns)).toBeUndefined();
    expect(await s3Client(env).bucketExists(`tenantmesh-${t1}`)).toBe(false);
    expect(await kube.get(GV, 'InferenceEndpoint', `${t1}--alpha`, ns)).toBeUndefined();
  });
});
