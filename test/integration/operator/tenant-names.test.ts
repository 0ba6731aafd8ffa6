import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  commonLabels,
  endpointGrantRoleName,
  endpointResourceName,
  platformConfig,
  registryUserRoleName,
  type Tenant,
} from '../../../src/domain/index.ts';
import { KubeError, createKube, type KubeObject } from '../../../src/kube/index.ts';
import { createOperator, type Operator } from '../../../src/operator/controller.ts';
import { CONDITION_TYPES, REASONS } from '../../../src/operator/conditions.ts';
import { storagePortFrom } from '../../../src/operator/ports.ts';
import { createModelStore } from '../../../src/storage/store.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { endpoint, runtimeNamed, tenant } from './fixtures.ts';

const env = inject('env');
const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
const ns = env.namespaces.serving;
const platform = platformConfig({ servingNamespace: ns, gatewayNamespace: env.namespaces.gateway });
const runtimeName = `names-tfs-${randomBytes(3).toString('hex')}`;
const testManager = 'tenantmesh-test';
const GV = 'tenantmesh.io/v1alpha1';
const RBAC = 'rbac.authorization.k8s.io/v1';

// Two tenants where one name is the other plus "-prod": before names were separated by "--", tenant acme's
// endpoint "prod-x" was tenant acme-prod's endpoint "x", and acme's grant on "prod" was acme-prod's data-plane
// Role `registry-user-acme-prod`.
const ACME = 'acme';
const ACME_PROD = 'acme-prod';

let operator: Operator;
const errors: string[] = [];
const reconciles = new Map<string, number>();

const apply = (object: unknown) => kube.applyObject(object as KubeObject, { fieldManager: testManager });

async function mayInvoke(user: string, groups: string[], t: string, e: string): Promise<boolean> {
  const name = endpointResourceName(t, e);
  const review = await kube.createSubjectAccessReview({
    user,
    groups,
    resourceAttributes: {
      namespace: ns,
      group: 'tenantmesh.io',
      verb: 'invoke',
      resource: 'inferenceendpoints',
      name,
    },
  });
  return review.allowed;
}

function condition(obj: object | undefined, type: string) {
  const status = (
    obj as { status?: { conditions?: { type: string; status: string; reason: string }[] } } | undefined
  )?.status;
  return status?.conditions?.find((c) => c.type === type);
}

beforeAll(async () => {
  await apply(runtimeNamed(runtimeName));
  operator = createOperator({
    kube,
    platform,
    store: storagePortFrom(createModelStore(env.s3)),
    workers: 2,
    identity: `names-${randomBytes(3).toString('hex')}`,
    lease: { durationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
    onError: (key, err) => errors.push(`${key}: ${err instanceof Error ? err.message : String(err)}`),
    onReconciled: (key) => reconciles.set(key, (reconciles.get(key) ?? 0) + 1),
  });
  operator.start();
  await waitFor(() => operator.isReady(), { description: 'operator leading', timeoutMs: 120_000 });
});

afterAll(async () => {
  await operator?.stop();
  for (const t of [ACME, ACME_PROD]) await kube.delete(GV, 'Tenant', t);
  await kube.delete(GV, 'ServingRuntime', runtimeName);
});

describe('tenants whose names share a prefix (acme and acme-prod)', () => {
  it('own disjoint objects: acme cannot reach acme-prod through an endpoint or a grant named to collide', async () => {
    await apply(tenant(ACME_PROD, { users: [{ kind: 'Group', name: 'prod-team' }] }));
    await apply(endpoint(ACME_PROD, 'x', runtimeName, ns));
    // acme grants its own subject on "prod-x" (its endpoint) and on "prod" (a name that used to be acme-prod's
    // data-plane Role), both written straight into the Tenant as kubectl would.
    await apply(
      tenant(ACME, {
        users: [{ kind: 'Group', name: 'acme-team' }],
        endpointGrants: [
          { endpoint: 'prod-x', subjects: [{ kind: 'User', name: 'mallory' }] },
          { endpoint: 'prod', subjects: [{ kind: 'User', name: 'mallory' }] },
        ],
      }),
    );
    await apply(endpoint(ACME, 'prod-x', runtimeName, ns));

    await waitFor(
      async () =>
        (await kube.get(RBAC, 'Role', endpointGrantRoleName(ACME, 'prod'), ns)) !== undefined &&
        (await kube.get('v1', 'Service', endpointResourceName(ACME, 'prod-x'), ns)) !== undefined &&
        (await kube.get('v1', 'Service', endpointResourceName(ACME_PROD, 'x'), ns)) !== undefined,
      { description: `objects of both tenants (errors: ${errors.join('; ')})`, timeoutMs: 30_000 },
    );
    await operator.idle();

    // Both endpoints exist side by side, each Service labelled for its own tenant.
    for (const [t, e] of [
      [ACME, 'prod-x'],
      [ACME_PROD, 'x'],
    ] as const) {
      const service = await kube.get('v1', 'Service', endpointResourceName(t, e), ns);
      expect(service?.metadata.labels?.['tenantmesh.io/tenant']).toBe(t);
    }

    // acme-prod's data-plane Role is its own: only its endpoint, labelled for it, bound to its users.
    const prodRole = await kube.get(RBAC, 'Role', registryUserRoleName(ACME_PROD), ns);
    expect(prodRole?.metadata.labels?.['tenantmesh.io/tenant']).toBe(ACME_PROD);
    expect(JSON.stringify(prodRole?.['rules'])).toContain(endpointResourceName(ACME_PROD, 'x'));
    expect(JSON.stringify(prodRole?.['rules'])).not.toContain(endpointResourceName(ACME, 'prod-x'));
    const resourceVersion = prodRole?.metadata.resourceVersion;

    expect(await mayInvoke('mallory', [], ACME, 'prod-x')).toBe(true);
    expect(await mayInvoke('mallory', [], ACME_PROD, 'x')).toBe(false);
    expect(await mayInvoke('ann', ['acme-team'], ACME_PROD, 'x')).toBe(false);
    expect(await mayInvoke('pat', ['prod-team'], ACME_PROD, 'x')).toBe(true);
    expect(await mayInvoke('pat', ['prod-team'], ACME, 'prod-x')).toBe(false);

    // No flapping: reconciling both tenants again leaves acme-prod's Role untouched.
    const before = reconciles.get(ACME_PROD) ?? 0;
    await apply({
      ...tenant(ACME_PROD, { users: [{ kind: 'Group', name: 'prod-team' }] }),
      metadata: { name: ACME_PROD, annotations: { 'tenantmesh.test/poke': '1' } },
    });
    await waitFor(async () => (reconciles.get(ACME_PROD) ?? 0) > before, {
      description: `${ACME_PROD} reconciled again`,
      timeoutMs: 20_000,
    });
    await operator.idle();
    expect(
      (await kube.get(RBAC, 'Role', registryUserRoleName(ACME_PROD), ns))?.metadata.resourceVersion,
    ).toBe(resourceVersion);
  });

  it('the apiserver refuses an endpoint name that does not split exactly into its tenant and an endpoint', async () => {
    const refused = async (name: string, t: string) => {
      const object = { ...endpoint(t, 'ignored', runtimeName, ns), metadata: { name, namespace: ns } };
      try {
        await kube.create(object as unknown as KubeObject, { fieldManager: testManager });
        await kube.delete(GV, 'InferenceEndpoint', name, ns);
        return false;
      } catch (error) {
        return error instanceof KubeError && error.reason === 'Invalid';
      }
    };
    // The old `<t>-<e>` form, acme claiming what reads as acme-prod's, and a doubled separator.
    expect(await refused('acme-prod-y', ACME)).toBe(true);
    expect(await refused('acme-prod--y', ACME)).toBe(true);
    expect(await refused('acme--prod--y', ACME)).toBe(true);
    expect(await refused('acme---y', ACME)).toBe(true);
    // registry.<tenant hostname> is the tenant's model registry: no endpoint may be named registry.
    expect(await refused(`${ACME}--registry`, ACME)).toBe(true);
    expect(await refused(`${ACME}--registry-2`, ACME)).toBe(false);
    const tenantRefused = await kube
      .create(tenant('acme--prod') as unknown as KubeObject, { fieldManager: testManager })
      .then(
        () => false,
        (error: unknown) => error instanceof KubeError && error.reason === 'Invalid',
      );
    expect(tenantRefused).toBe(true);
  });

  it('never applies over an object labelled for another tenant, and says so in a Degraded condition', async () => {
    // A RoleBinding with the name acme's grant on "held" will need, labelled for another tenant.
    const name = endpointGrantRoleName(ACME, 'held');
    const planted = {
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name, namespace: ns, labels: commonLabels('rbac', 'someone-else') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'someone-elses-role' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'someone' }],
    };
    await kube.create(planted as unknown as KubeObject, { fieldManager: testManager });
    try {
      const current = await kube.get<Tenant & KubeObject>(GV, 'Tenant', ACME);
      await apply(
        tenant(ACME, {
          users: [{ kind: 'Group', name: 'acme-team' }],
          endpointGrants: [
            ...(current?.spec.endpointGrants ?? []),
            { endpoint: 'held', subjects: [{ kind: 'User', name: 'mallory' }] },
          ],
        }),
      );
      await waitFor(
        async () =>
          condition(await kube.get(GV, 'Tenant', ACME), CONDITION_TYPES.degraded)?.reason ===
          REASONS.nameConflict,
        { description: `${ACME} Degraded ${REASONS.nameConflict}`, timeoutMs: 30_000 },
      );
      const degraded = condition(await kube.get(GV, 'Tenant', ACME), CONDITION_TYPES.degraded);
      expect(degraded?.status).toBe('True');
      const live = await kube.get(RBAC, 'RoleBinding', name, ns);
      expect(live?.metadata.labels?.['tenantmesh.io/tenant']).toBe('someone-else');
      expect(live?.['subjects']).toEqual(planted.subjects);
      expect((live?.['roleRef'] as { name: string }).name).toBe('someone-elses-role');
    } finally {
      await kube.delete(RBAC, 'RoleBinding', name, ns);
    }
  });
});
