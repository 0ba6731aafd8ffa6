import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { platformConfig, type InferenceEndpoint, type Tenant } from '../../../src/domain/index.ts';
import { createKube, type KubeObject } from '../../../src/kube/index.ts';
import { createOperator, type Operator } from '../../../src/operator/controller.ts';
import { storagePortFrom } from '../../../src/operator/ports.ts';
import { createModelStore } from '../../../src/storage/store.ts';
import { serviceAccountToken } from '../../../src/testenv/identities.ts';
import { renderKubeconfig } from '../../../src/testenv/kubeconfig.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { chartClusterRoleRules } from '../../support/chart.ts';
import { endpoint, runtimeNamed, tenant } from './fixtures.ts';

/**
 * The operator as the chart runs it: a ServiceAccount bound to exactly the chart's ClusterRole, nothing else.
 * The other operator tests run as system:masters, which is how a missing verb went unnoticed.
 */
const env = inject('env');
const admin = createKube({ kubeconfigPath: env.adminKubeconfigPath });
const ns = env.namespaces.serving;
const run = randomBytes(3).toString('hex');
const roleName = `tenantmesh-operator-chart-${run}`;
const serviceAccount = `operator-chart-${run}`;
const runtimeName = `chart-tfs-${run}`;
const t = `chrb-${run}`;
const GV = 'tenantmesh.io/v1alpha1';
const manager = 'tenantmesh-test';
const errors: string[] = [];
let operator: Operator | undefined;
let scratch: string;

beforeAll(async () => {
  await admin.applyObject(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: roleName },
      rules: chartClusterRoleRules('operator-rbac.yaml', 'tenantmesh-operator'),
    } as KubeObject,
    { fieldManager: manager },
  );
  await admin.applyObject(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: roleName },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: ns }],
    } as KubeObject,
    { fieldManager: manager },
  );
  const token = await serviceAccountToken(env, ns, serviceAccount);
  scratch = mkdtempSync(path.join(tmpdir(), 'chart-rbac-'));
  const kubeconfigPath = path.join(scratch, 'operator.kubeconfig');
  writeFileSync(
    kubeconfigPath,
    renderKubeconfig({ server: env.apiserverUrl, caPem: env.caPem, user: serviceAccount, token }),
  );
  await admin.applyObject(runtimeNamed(runtimeName) as unknown as KubeObject, { fieldManager: manager });
  operator = createOperator({
    kube: createKube({ kubeconfigPath }),
    platform: platformConfig({ servingNamespace: ns, gatewayNamespace: env.namespaces.gateway }),
    store: storagePortFrom(createModelStore(env.s3)),
    workers: 2,
    identity: `chart-${run}`,
    lease: { durationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
    onError: (key, err) => errors.push(`${key}: ${err instanceof Error ? err.message : String(err)}`),
  });
  operator.start();
  // The Lease lives in the serving namespace that the other operator tests share: on a loaded machine taking it
  // over from a stopped holder can take a lease duration or two.
  await waitFor(() => operator!.isReady(), {
    description: 'operator under the chart RBAC leading',
    timeoutMs: 90_000,
  }).catch((error: unknown) => {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}; operator errors: ${errors.join('; ')}`,
    );
  });
});

afterAll(async () => {
  await operator?.stop();
  await admin.delete(GV, 'Tenant', t);
  await admin.delete(GV, 'ServingRuntime', runtimeName);
  await admin.delete('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', roleName);
  await admin.delete('rbac.authorization.k8s.io/v1', 'ClusterRole', roleName);
  await admin.delete('v1', 'ServiceAccount', serviceAccount, ns);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("the operator under exactly the chart's RBAC", () => {
  it('builds a tenant with endpoints, then deletes it with its endpoints: nothing is left Terminating', async () => {
    await admin.applyObject(tenant(t) as unknown as KubeObject, { fieldManager: manager });
    for (const e of ['a', 'b']) {
      await admin.applyObject(endpoint(t, e, runtimeName, ns) as unknown as KubeObject, {
        fieldManager: manager,
      });
    }
    await waitFor(
      async () =>
        (await admin.get('apps/v1', 'Deployment', `${t}-a`, ns)) !== undefined &&
        (await admin.get('apps/v1', 'Deployment', `${t}-b`, ns)) !== undefined,
      { description: 'the Deployments of both endpoints', timeoutMs: 60_000 },
    );
    const live = await admin.get<Tenant & KubeObject>(GV, 'Tenant', t);
    expect(live?.metadata.finalizers).toContain('tenantmesh.io/cleanup');

    await admin.delete(GV, 'Tenant', t);
    await waitFor(
      async () =>
        (await admin.get(GV, 'Tenant', t)) === undefined &&
        (
          await admin.list<InferenceEndpoint & KubeObject>(GV, 'InferenceEndpoint', { namespace: ns })
        ).items.every((item) => item.spec.tenant !== t),
      { description: 'the tenant and its endpoints to be gone', timeoutMs: 60_000 },
    );
    expect(errors.filter((error) => /forbidden/i.test(error))).toEqual([]);
  });
});
