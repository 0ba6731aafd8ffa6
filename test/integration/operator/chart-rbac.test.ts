import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfigFile } from '../../../src/config/file.ts';
import {
  GROUP_VERSION,
  LABELS,
  caKeySecretName,
  endpointResourceName,
  type InferenceEndpoint,
  type PlatformConfig,
  type Tenant,
} from '../../../src/domain/index.ts';
import { KubeError, createKube, type Kube, type KubeObject } from '../../../src/kube/index.ts';
import { createOperator, type Operator } from '../../../src/operator/controller.ts';
import { storagePortFrom } from '../../../src/operator/ports.ts';
import { createTenantCa } from '../../../src/pki/index.ts';
import { createModelStore } from '../../../src/storage/store.ts';
import { assetPath, provisionAssets } from '../../../src/testenv/provision.ts';
import { serviceAccountToken } from '../../../src/testenv/identities.ts';
import { renderKubeconfig } from '../../../src/testenv/kubeconfig.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { RELEASE_NAMESPACE, chartDocuments, chartValues } from '../../support/chart.ts';
import {
  RUNTIME,
  callersOf,
  env,
  platform as apiTestPlatform,
  startApiUnderTest,
  suffix,
  tenantAdminUser,
  type ApiUnderTest,
  type Callers,
} from '../api/fixture.ts';

/**
 * The chart's RBAC, applied to a real apiserver: the SubjectAccessReviews prove nothing broader than needed is
 * granted, and the operator and the API then do their whole job authenticated as the chart's ServiceAccounts.
 */
const admin = createKube({ kubeconfigPath: env.adminKubeconfigPath });
const chartDefaults = chartValues() as { gateway: Record<string, unknown> };
const values = {
  ...chartDefaults,
  servingNamespace: env.namespaces.serving,
  gateway: { ...chartDefaults.gateway, namespace: env.namespaces.gateway },
};
/** The platform exactly as both processes read it from the chart's rendered ConfigMap (set in beforeAll). */
let platform: PlatformConfig;
const T = `rbac-${suffix()}`;
const PROVIDED = `${T}-own`;
/** A tenant written around the API with PROVIDED's CA. */
const AROUND = `${T}-dup`;
let providedCa: { certPem: string; keyPem: string };
const account = (name: string) => ({
  user: `system:serviceaccount:${RELEASE_NAMESPACE}:${name}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${RELEASE_NAMESPACE}`, 'system:authenticated'],
});
const OPERATOR = account('tenantmesh-operator');
const API = account('tenantmesh-api');

let dir: string;
let operatorKube: Kube;
let apiKube: Kube;
let operator: Operator;
let harness: ApiUnderTest;
let callers: Callers;
const operatorErrors: string[] = [];

/** The chart's config.json as Helm renders it for this test's namespaces, parsed by the processes' parser. */
async function chartPlatform(): Promise<PlatformConfig> {
  const helm = assetPath(await provisionAssets(['helm']), 'helm');
  const chart = fileURLToPath(new URL('../../../charts/tenantmesh', import.meta.url));
  const { stdout } = await promisify(execFile)(
    helm,
    [
      'template',
      'tenantmesh',
      chart,
      '--namespace',
      RELEASE_NAMESPACE,
      '--set',
      `servingNamespace=${values.servingNamespace}`,
      '--set',
      `gateway.namespace=${env.namespaces.gateway}`,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const configMap = parseAllDocuments(stdout)
    .map((document) => document.toJS() as KubeObject | null)
    .find((object) => object?.kind === 'ConfigMap' && object.metadata.name === 'tenantmesh-config');
  const text = (configMap?.['data'] as Record<string, string> | undefined)?.['config.json'];
  if (!text) throw new Error('the chart renders no tenantmesh-config config.json');
  return parseConfigFile(text, 'config.json').platform;
}

/** A kubeconfig file for the chart's ServiceAccount `name`, with a token from the TokenRequest API. */
async function kubeconfigOf(name: string): Promise<string> {
  const token = await serviceAccountToken(env, RELEASE_NAMESPACE, name);
  const file = path.join(dir, `${name}.kubeconfig`);
  writeFileSync(file, renderKubeconfig({ server: env.apiserverUrl, caPem: env.caPem, user: name, token }), {
    mode: 0o600,
  });
  return file;
}

async function may(
  who: { user: string; groups: string[] },
  verb: string,
  resource: string,
  options: { group?: string; namespace?: string; name?: string } = {},
): Promise<boolean> {
  const status = await admin.createSubjectAccessReview({
    ...who,
    resourceAttributes: {
      verb,
      resource,
      group: options.group ?? '',
      ...(options.namespace ? { namespace: options.namespace } : {}),
      ...(options.name ? { name: options.name } : {}),
    },
  });
  return status.allowed === true;
}

/** The reason of a refused write, or 'allowed' when the apiserver took it. */
async function attempt(write: () => Promise<unknown>): Promise<string> {
  try {
    await write();
    return 'allowed';
  } catch (error) {
    if (error instanceof KubeError) return error.reason;
    throw error;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-chart-rbac-'));
  platform = await chartPlatform();
  await admin.applyObject(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: RELEASE_NAMESPACE } },
    { fieldManager: 'chart-rbac-test' },
  );
  for (const template of ['operator-rbac.yaml', 'api-rbac.yaml']) {
    for (const object of chartDocuments(template, values)) {
      await admin.applyObject(object as unknown as KubeObject, {
        fieldManager: 'chart-rbac-test',
        force: true,
      });
    }
  }
  operatorKube = createKube({ kubeconfigPath: await kubeconfigOf('tenantmesh-operator') });
  const apiKubeconfig = await kubeconfigOf('tenantmesh-api');
  apiKube = createKube({ kubeconfigPath: apiKubeconfig });

  operator = createOperator({
    kube: operatorKube,
    platform,
    store: storagePortFrom(createModelStore(env.s3)),
    leaderElection: false,
    onError: (key, error) => {
      if ([T, PROVIDED, AROUND].includes(key) || key.startsWith('__')) {
        operatorErrors.push(`${key}: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  });
  operator.start();
  await waitFor(() => operator.isReady(), {
    description: 'operator (chart identity) ready',
    timeoutMs: 60_000,
  });
  // The chart's platform, trusting the run's OIDC issuer for the callers' tokens.
  harness = await startApiUnderTest({
    kubeconfigPath: apiKubeconfig,
    platform: { ...platform, oidcIssuers: apiTestPlatform.oidcIssuers },
  });
  callers = await callersOf(T);
});

afterAll(async () => {
  await admin.delete(GROUP_VERSION, 'Tenant', AROUND).catch(() => undefined);
  await admin.delete('v1', 'Secret', `${AROUND}-byo`, RELEASE_NAMESPACE).catch(() => undefined);
  for (const name of [T, PROVIDED]) {
    await harness?.call('delete', `/v1/tenants/${name}?purge=true`, { token: callers.platformAdmin });
    await waitFor(async () => !(await admin.get(GROUP_VERSION, 'Tenant', name)), {
      description: `tenant ${name} removed by the operator`,
      timeoutMs: 60_000,
    }).catch(() => undefined);
  }
  await operator?.stop();
  await harness?.api.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the chart grants the operator nothing broader than it needs', () => {
  it('has no bind or escalate on any role, so it cannot grant what it does not hold', async () => {
    for (const resource of ['roles', 'clusterroles']) {
      for (const verb of ['bind', 'escalate']) {
        expect(
          await may(OPERATOR, verb, resource, { group: 'rbac.authorization.k8s.io', name: 'cluster-admin' }),
        ).toBe(false);
        expect(
          await may(OPERATOR, verb, resource, {
            group: 'rbac.authorization.k8s.io',
            namespace: platform.servingNamespace,
          }),
        ).toBe(false);
      }
    }
    expect(await may(OPERATOR, 'impersonate', 'users')).toBe(false);
  });

  it('is refused when it tries to bind cluster-admin to itself or to write a role wider than its own', async () => {
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `rbac-test-escalation-${T}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'tenantmesh-operator', namespace: RELEASE_NAMESPACE }],
    };
    expect(
      await attempt(() => operatorKube.create(binding as KubeObject, { fieldManager: 'attacker' })),
    ).toBe('Forbidden');
    const wideRole = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `rbac-test-wide-${T}` },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }],
    };
    expect(
      await attempt(() => operatorKube.create(wideRole as KubeObject, { fieldManager: 'attacker' })),
    ).toBe('Forbidden');
  });

  it('reads Secrets only in the serving, gateway and CA namespaces', async () => {
    for (const namespace of [platform.servingNamespace, platform.gatewayNamespace, RELEASE_NAMESPACE]) {
      expect(await may(OPERATOR, 'get', 'secrets', { namespace }), namespace).toBe(true);
    }
    expect(await may(OPERATOR, 'list', 'secrets')).toBe(false);
    for (const namespace of ['kube-system', 'default']) {
      expect(await may(OPERATOR, 'get', 'secrets', { namespace }), namespace).toBe(false);
    }
    expect(await attempt(() => operatorKube.list('v1', 'Secret', { namespace: 'kube-system' }))).toBe(
      'Forbidden',
    );
  });
});

describe('the chart grants the API nothing broader than it needs', () => {
  it('has no Secret right outside the namespaces of the CA keys, and may list Secrets nowhere', async () => {
    expect(await may(API, 'list', 'secrets')).toBe(false);
    expect(await may(API, 'get', 'secrets', { namespace: 'kube-system' })).toBe(false);
    expect(await may(API, 'get', 'secrets', { namespace: platform.gatewayNamespace })).toBe(false);
    expect(await may(API, 'get', 'secrets', { namespace: platform.servingNamespace })).toBe(false);
    expect(await may(API, 'list', 'secrets', { namespace: RELEASE_NAMESPACE })).toBe(false);
    expect(await may(API, 'get', 'secrets', { namespace: RELEASE_NAMESPACE })).toBe(true);
    expect(await attempt(() => apiKube.list('v1', 'Secret', { namespace: 'kube-system' }))).toBe('Forbidden');
    expect(await attempt(() => apiKube.list('v1', 'Secret'))).toBe('Forbidden');
  });

  it('cannot write RBAC', async () => {
    for (const resource of ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings']) {
      expect(await may(API, 'create', resource, { group: 'rbac.authorization.k8s.io' }), resource).toBe(
        false,
      );
    }
  });
});

describe('under exactly the chart’s rules', () => {
  it('the API creates a tenant and the operator builds all of it', async () => {
    const created = await harness.call('post', '/v1/tenants', {
      token: callers.platformAdmin,
      json: { name: T, admins: [{ kind: 'User', name: tenantAdminUser(T) }] },
    });
    expect(created.status, created.text).toBe(201);
    await waitFor(
      async () =>
        (await harness.call('get', `/v1/tenants/${T}`, { token: callers.tenantAdmin })).status === 200,
      {
        description: 'the tenant admin to see the tenant (operator-written bindings)',
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    await waitFor(
      async () =>
        (await admin.get('v1', 'Secret', `tenantmesh-${T}-ca`, RELEASE_NAMESPACE)) &&
        (await admin.get('v1', 'Secret', `tenantmesh-${T}-gateway`, platform.gatewayNamespace)) &&
        (await admin.get(
          'rbac.authorization.k8s.io/v1',
          'Role',
          `registry-user-${T}`,
          platform.servingNamespace,
        )),
      {
        description: 'CA, gateway Secret and data-plane Role of the tenant',
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
  });

  it('keeps every tenant CA key out of the serving namespace, generated or provided', async () => {
    expect(platform.caNamespace).toBe(RELEASE_NAMESPACE);
    const ca = await createTenantCa({ tenant: PROVIDED, now: new Date() });
    providedCa = ca;
    const created = await harness.call('post', '/v1/tenants', {
      token: callers.platformAdmin,
      json: { name: PROVIDED, ca: { certificatePem: ca.certPem, privateKeyPem: ca.keyPem } },
    });
    expect(created.status, created.text).toBe(201);
    await waitFor(
      async () =>
        (await admin.get<Tenant & KubeObject>(GROUP_VERSION, 'Tenant', PROVIDED))?.status?.caFingerprint !==
        undefined,
      { description: 'the operator to load the provided CA', timeoutMs: 60_000, intervalMs: 250 },
    );
    const keys: string[] = [];
    for (const name of [T, PROVIDED]) {
      const secret = await admin.get('v1', 'Secret', caKeySecretName(name), RELEASE_NAMESPACE);
      const key = (secret?.['data'] as Record<string, string> | undefined)?.['tls.key'];
      expect(key, `${name}: CA key in the release namespace`).toBeDefined();
      keys.push(key!);
      expect(
        await admin.get('v1', 'Secret', caKeySecretName(name), platform.servingNamespace),
      ).toBeUndefined();
    }
    // Nothing in the serving namespace holds either CA's private key under any name.
    const serving = await admin.list('v1', 'Secret', { namespace: platform.servingNamespace });
    const leaked = serving.items.filter((secret) =>
      Object.values((secret['data'] ?? {}) as Record<string, string>).some((value) => keys.includes(value)),
    );
    expect(leaked.map((secret) => secret.metadata.name)).toEqual([]);
  });

  it('refuses a CA another tenant already uses: 422 from the API, Degraded CaInUse from the operator', async () => {
    const refused = await harness.call('post', '/v1/tenants', {
      token: callers.platformAdmin,
      json: { name: AROUND, ca: { certificatePem: providedCa.certPem, privateKeyPem: providedCa.keyPem } },
    });
    expect(refused.status, refused.text).toBe(422);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.json().invalidParams).toEqual([
      { pointer: '/ca/certificatePem', reason: 'this CA is already the CA of another tenant' },
    ]);
    expect(await admin.get(GROUP_VERSION, 'Tenant', AROUND)).toBeUndefined();

    // Written around the API: the operator trusts the CA for no second tenant.
    await admin.create(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${AROUND}-byo`, namespace: RELEASE_NAMESPACE },
        type: 'kubernetes.io/tls',
        stringData: { 'tls.crt': providedCa.certPem, 'tls.key': providedCa.keyPem },
      } as KubeObject,
      { fieldManager: 'chart-rbac-test' },
    );
    await admin.create(
      {
        apiVersion: GROUP_VERSION,
        kind: 'Tenant',
        metadata: { name: AROUND },
        spec: { admins: [], users: [], ca: { secretRef: { name: `${AROUND}-byo` } } },
      } as KubeObject,
      { fieldManager: 'chart-rbac-test' },
    );
    const degraded = await waitFor(
      async () => {
        const tenant = await admin.get<Tenant & KubeObject>(GROUP_VERSION, 'Tenant', AROUND);
        const condition = tenant?.status?.conditions?.find((c) => c.type === 'Degraded');
        return condition?.reason === 'CaInUse' ? condition : undefined;
      },
      { description: `${AROUND} Degraded CaInUse`, timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(degraded.status).toBe('True');
    expect(degraded.message).toContain(`already tenant ${PROVIDED}'s`);
    // Nothing trusts the CA for the second tenant: no gateway credential, no Authorino trust Secret.
    expect(
      await admin.get('v1', 'Secret', `tenantmesh-${AROUND}-gateway`, platform.gatewayNamespace),
    ).toBeUndefined();
    const trust = await admin.list('v1', 'Secret', {
      namespace: platform.servingNamespace,
      labelSelector: `${LABELS.tenant}=${AROUND}`,
    });
    expect(trust.items.map((secret) => secret.metadata.name)).toEqual([]);
    // The first holder keeps its CA.
    const holder = await admin.get<Tenant & KubeObject>(GROUP_VERSION, 'Tenant', PROVIDED);
    expect(holder?.status?.conditions?.some((c) => c.reason === 'CaInUse')).toBe(false);
  });

  it('gives the CA to the other tenant once its first holder is gone', async () => {
    const removed = await harness.call('delete', `/v1/tenants/${PROVIDED}?purge=true`, {
      token: callers.platformAdmin,
    });
    expect(removed.status, removed.text).toBe(202);
    // Nothing about the second tenant changes: the holder's going alone must queue it again.
    await waitFor(
      async () => {
        const tenant = await admin.get<Tenant & KubeObject>(GROUP_VERSION, 'Tenant', AROUND);
        const degraded = tenant?.status?.conditions?.find((c) => c.type === 'Degraded');
        return degraded !== undefined && degraded.reason !== 'CaInUse';
      },
      { description: `${AROUND} to take the CA up`, timeoutMs: 60_000, intervalMs: 250 },
    );
    await waitFor(
      async () => await admin.get('v1', 'Secret', `tenantmesh-${AROUND}-gateway`, platform.gatewayNamespace),
      { description: `${AROUND}'s gateway credential`, timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  it('the API serves a tenant admin’s whole round: model, endpoint, grant, certificate, revocation, deletion', async () => {
    const token = callers.tenantAdmin;
    const put = await harness.call('put', `/v1/tenants/${T}/models/m/versions/1/files/m.bin`, {
      token,
      body: Buffer.from('weights'),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(put.status, put.text).toBe(201);
    const endpoint = await harness.call('post', `/v1/tenants/${T}/endpoints`, {
      token,
      json: { name: 'ep', model: { name: 'm', version: '1' }, runtime: RUNTIME },
    });
    expect(endpoint.status, endpoint.text).toBe(201);
    const grant = await harness.call('post', `/v1/tenants/${T}/access`, {
      token,
      json: { role: 'endpointUsers', endpoint: 'ep', subject: { kind: 'User', name: 'scorer' } },
    });
    expect(grant.status, grant.text).toBe(201);
    await waitFor(
      async () =>
        (
          await admin.list('rbac.authorization.k8s.io/v1', 'Role', {
            namespace: platform.servingNamespace,
            labelSelector: `${LABELS.tenant}=${T},${LABELS.endpoint}=ep`,
          })
        ).items.length > 0,
      {
        description: 'the endpoint grant’s Role, written by the operator',
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    const issued = await harness.call('post', `/v1/tenants/${T}/certificates`, {
      token,
      json: { commonName: 'scorer' },
    });
    expect(issued.status, issued.text).toBe(201);
    const serial = issued.json().serialNumber as string;
    expect((await harness.call('get', `/v1/tenants/${T}/certificates`, { token })).status).toBe(200);
    const revoked = await harness.call('delete', `/v1/tenants/${T}/certificates/${serial}`, { token });
    expect(revoked.status, revoked.text).toBeLessThan(300);
    const deleted = await harness.call('delete', `/v1/tenants/${T}/endpoints/ep`, { token });
    expect(deleted.status, deleted.text).toBe(204);
    // One endpoint stays, so the tenant's deletion below must delete it (the finalizer) and its Deployment.
    const kept = await harness.call('post', `/v1/tenants/${T}/endpoints`, {
      token,
      json: { name: 'kept', model: { name: 'm', version: '1' }, runtime: RUNTIME },
    });
    expect(kept.status, kept.text).toBe(201);
    await waitFor(
      async () =>
        (await admin.get(
          'apps/v1',
          'Deployment',
          endpointResourceName(T, 'kept'),
          platform.servingNamespace,
        )) !== undefined,
      {
        description: 'the kept endpoint’s Deployment, written by the operator',
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    expect(operatorErrors.filter((e) => /forbidden/i.test(e))).toEqual([]);
  });

  it('the operator cleans the tenant and its endpoints up across namespaces when the API deletes it', async () => {
    const removed = await harness.call('delete', `/v1/tenants/${T}?purge=true`, {
      token: callers.platformAdmin,
    });
    expect(removed.status, removed.text).toBe(202);
    await waitFor(async () => !(await admin.get<Tenant & KubeObject>(GROUP_VERSION, 'Tenant', T)), {
      description: `tenant ${T} finalized by the operator`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    // The garbage collector removes what the Tenant owned once the Tenant is gone, asynchronously.
    await waitFor(
      async () =>
        (await admin.get('v1', 'Secret', `tenantmesh-${T}-gateway`, platform.gatewayNamespace)) === undefined,
      { description: `the gateway Secret of ${T} collected`, timeoutMs: 60_000, intervalMs: 250 },
    );
    const endpoints = await admin.list<InferenceEndpoint & KubeObject>(GROUP_VERSION, 'InferenceEndpoint', {
      namespace: platform.servingNamespace,
    });
    expect(endpoints.items.filter((item) => item.spec.tenant === T)).toEqual([]);
    expect(operatorErrors.filter((e) => /forbidden/i.test(e))).toEqual([]);
  });
});
