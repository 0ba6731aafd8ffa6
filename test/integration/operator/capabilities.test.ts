import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { platformConfig, type Tenant } from '../../../src/domain/index.ts';
import { createKube, type KubeObject } from '../../../src/kube/index.ts';
import { createOperator, type Operator } from '../../../src/operator/controller.ts';
import { CONDITION_TYPES, REASONS } from '../../../src/operator/conditions.ts';
import { storagePortFrom } from '../../../src/operator/ports.ts';
import type { Capabilities } from '../../../src/render/index.ts';
import { createModelStore } from '../../../src/storage/store.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { endpoint, runtimeNamed, tenant } from './fixtures.ts';

// The shared cluster serves Istio and Authorino; uninstalling them would break every other test, so this file
// acts out the uninstall through the operator's capability seam. Everything else — apply, prune, status — is real.
const env = inject('env');
const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
const ns = env.namespaces.serving;
const platform = platformConfig({ servingNamespace: ns, gatewayNamespace: env.namespaces.gateway });
const run = randomBytes(3).toString('hex');
const t = `cap-${run}`;
const runtimeName = `cap-tfs-${run}`;
const GV = 'tenantmesh.io/v1alpha1';
let capabilities: Capabilities = { istio: true, authorino: true, openshift: false };
let operator: Operator;

/** Gateway, the endpoint's and the registry's VirtualServices, DestinationRule, two AuthConfigs, two policies. */
const MESH_OBJECTS = 7;
const meshObjects = async () => {
  const kinds = [
    ['networking.istio.io/v1', 'Gateway'],
    ['networking.istio.io/v1', 'VirtualService'],
    ['networking.istio.io/v1', 'DestinationRule'],
    ['authorino.kuadrant.io/v1beta3', 'AuthConfig'],
    ['security.istio.io/v1', 'AuthorizationPolicy'],
  ] as const;
  // Across namespaces: the tenant's objects sit in the serving namespace, its trust with the ingress gateway.
  const lists = await Promise.all(
    kinds.map(([apiVersion, kind]) =>
      kube.list(apiVersion, kind, { labelSelector: `tenantmesh.io/tenant=${t}` }),
    ),
  );
  return lists.flatMap((list) => list.items.map((item) => `${item.kind}/${item.metadata.name}`));
};

const degraded = async () => {
  const current = await kube.get<Tenant & KubeObject>(GV, 'Tenant', t);
  return current?.status?.conditions?.find((c) => c.type === CONDITION_TYPES.degraded);
};

beforeAll(async () => {
  await kube.applyObject(runtimeNamed(runtimeName) as unknown as KubeObject, {
    fieldManager: 'tenantmesh-test',
  });
  operator = createOperator({
    kube,
    platform,
    store: storagePortFrom(createModelStore(env.s3)),
    identity: `cap-${run}`,
    lease: { durationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
    discoverCapabilities: async () => capabilities,
  });
  operator.start();
  await waitFor(() => operator.isReady(), { description: 'operator ready', timeoutMs: 30_000 });
  await kube.applyObject(tenant(t) as unknown as KubeObject, { fieldManager: 'tenantmesh-test' });
  await kube.applyObject(endpoint(t, 'alpha', runtimeName, ns) as unknown as KubeObject, {
    fieldManager: 'tenantmesh-test',
  });
});

afterAll(async () => {
  await operator?.stop();
  await kube.delete(GV, 'Tenant', t);
  await kube.delete(GV, 'ServingRuntime', runtimeName);
});

describe('the operator follows what the cluster serves', () => {
  it('renders the mesh objects while Istio and Authorino are installed', async () => {
    await waitFor(async () => (await meshObjects()).length === MESH_OBJECTS, {
      description: 'gateway, virtual service, auth config and policies',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    expect((await meshObjects()).sort()).toEqual(
      [
        `AuthConfig/tenantmesh-${t}`,
        `AuthConfig/tenantmesh-${t}--registry`,
        `AuthorizationPolicy/tenantmesh-${t}-from-gateway`,
        `DestinationRule/${t}--alpha`,
        `Gateway/tenantmesh-${t}`,
        `VirtualService/${t}--alpha`,
        `VirtualService/${t}--registry`,
      ].sort(),
    );
    expect((await degraded())?.status).toBe('False');
    // The CUSTOM policy sending every gateway request to Authorino is the platform's, not the tenant's.
    const policy = await kube.get(
      'security.istio.io/v1',
      'AuthorizationPolicy',
      'tenantmesh-ext-authz',
      env.namespaces.gateway,
    );
    expect(policy?.metadata.labels).not.toHaveProperty('tenantmesh.io/tenant');
  });

  it('removes them and reports Degraded MeshUnavailable when Istio goes away, keeping the serving stack', async () => {
    capabilities = { istio: false, authorino: true, openshift: false };
    operator.resyncAll();
    await waitFor(async () => (await meshObjects()).length === 0, {
      description: 'the mesh objects to be removed',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    await waitFor(async () => (await degraded())?.reason === REASONS.meshUnavailable, {
      description: 'Degraded MeshUnavailable',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    expect(await kube.get('apps/v1', 'Deployment', `${t}--alpha`, ns)).toBeDefined();
    expect(await kube.get('rbac.authorization.k8s.io/v1', 'Role', `registry-user-${t}`, ns)).toBeDefined();
  });

  it('renders them again once Istio is back', async () => {
    capabilities = { istio: true, authorino: true, openshift: false };
    operator.resyncAll();
    await waitFor(
      async () => (await meshObjects()).length === MESH_OBJECTS && (await degraded())?.status === 'False',
      {
        description: 'the mesh objects to come back',
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
  });
});
