import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import {
  GROUP_VERSION,
  endpointResourceName,
  platformConfig,
  type InferenceEndpoint,
} from '../../../src/domain/index.ts';
import type { KubeObject } from '../../../src/kube/index.ts';
import { createOperator, type Operator } from '../../../src/operator/controller.ts';
import { storagePortFrom } from '../../../src/operator/ports.ts';
import { createRegistryPool } from '../../../src/registry/database.ts';
import { migrate } from '../../../src/registry/migrate.ts';
import { RegistryRepository } from '../../../src/registry/repository.ts';
import { createModelStore } from '../../../src/storage/store.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import {
  RUNTIME,
  applyPlatformRbac,
  callersOf,
  createTenant,
  env,
  platform,
  removeTenant,
  startApiUnderTest,
  suffix,
  type ApiUnderTest,
  type Callers,
} from '../api/fixture.ts';
import { registryCall, serviceHost, waitForRegistryAccess } from './fixture.ts';

/**
 * The operator mirrors every InferenceEndpoint into its tenant's registry as an InferenceService of the serving
 * environment: real apiserver, real PostgreSQL, the operator's own reconcile, read back through the registry API.
 */
const V1 = '/api/model_registry/v1';
const ns = env.namespaces.serving;
const t = `mirror-${suffix()}`;
const testManager = 'tenantmesh-test';
// The operator's view of the platform: no mesh here (the mirror does not depend on it).
const operatorPlatform = platformConfig({ ...platform, gatewayNamespace: env.namespaces.gateway });

let harness: ApiUnderTest;
let callers: Callers;
let operator: Operator;
let pool: pg.Pool;
const operatorErrors: string[] = [];

const call = (method: string, path: string, json?: unknown) =>
  registryCall(harness.api.url, serviceHost(t), method, path, {
    token: callers.tenantUser,
    ...(json !== undefined ? { json } : {}),
  });

function endpoint(e: string, spec: Partial<InferenceEndpoint['spec']> = {}): KubeObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'InferenceEndpoint',
    metadata: { name: endpointResourceName(t, e), namespace: ns },
    spec: { tenant: t, model: { name: 'mnist', version: 'v1' }, runtime: RUNTIME, ...spec },
  } as unknown as KubeObject;
}

/** The serving environment's inference services, by name (the registry API's nested list). */
async function inferenceServices(): Promise<Map<string, Record<string, unknown>>> {
  const environment = await call('get', `${V1}/serving_environment?name=${ns}`);
  if (environment.status === 404) return new Map();
  expect(environment.status).toBe(200);
  const list = await call('get', `${V1}/serving_environments/${environment.body.id}/inference_services`);
  expect(list.status).toBe(200);
  return new Map(
    (list.body.items as Record<string, unknown>[]).map((item) => [item['name'] as string, item]),
  );
}

let modelId: string;
const versionIds: Record<string, string> = {};

beforeAll(async () => {
  expect(env.postgresql, 'the run has a PostgreSQL').toBeDefined();
  pool = createRegistryPool(env.postgresql!);
  await migrate(pool);
  harness = await startApiUnderTest();
  await applyPlatformRbac(harness.kube);
  callers = await callersOf(t);
  await createTenant(harness, callers, t);
  operator = createOperator({
    kube: harness.kube,
    platform: operatorPlatform,
    store: storagePortFrom(createModelStore({ ...env.s3, region: 'us-east-1' })),
    registryMirror: new RegistryRepository(pool),
    leaderElection: false,
    discoverCapabilities: async () => ({ istio: false, authorino: false, openshift: false }),
    onError: (key, err) => operatorErrors.push(`${key}: ${err instanceof Error ? err.message : String(err)}`),
  });
  operator.start();
  await waitFor(() => operator.isReady(), { description: 'operator ready', timeoutMs: 30_000 });
  // Role registry-user-<t> as the operator renders it: `get` on the registry Service <t>.
  await waitForRegistryAccess(harness, serviceHost(t), callers.tenantUser);

  const model = await call('post', `${V1}/registered_models`, { name: 'mnist', owner: 'ann' });
  expect(model.status).toBe(201);
  modelId = model.body.id;
  for (const version of ['v1', 'v2']) {
    const created = await call('post', `${V1}/registered_models/${modelId}/versions`, { name: version });
    expect(created.status).toBe(201);
    versionIds[version] = created.body.id;
  }
});

afterAll(async () => {
  await operator?.stop();
  if (harness) await removeTenant(harness, t);
  await harness?.api.close();
  await pool?.end();
});

describe('InferenceEndpoints mirrored into the tenant’s registry', () => {
  it('an endpoint appears as an InferenceService of the serving environment with its model, version, URL and state', async () => {
    await harness.kube.applyObject(endpoint('web'), { fieldManager: testManager });
    // The model of this one is not registered: it is left out, and the others are mirrored regardless.
    await harness.kube.applyObject(endpoint('ghost', { model: { name: 'unregistered', version: 'v1' } }), {
      fieldManager: testManager,
    });
    const web = await waitFor(async () => (await inferenceServices()).get('web'), {
      description: 'the endpoint mirrored',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    expect(web).toMatchObject({
      name: 'web',
      externalId: `${ns}/${t}--web`,
      registeredModelId: modelId,
      modelVersionId: versionIds['v1'],
      runtime: RUNTIME,
      desiredState: 'DEPLOYED',
      customProperties: {
        url: { metadataType: 'MetadataStringValue', string_value: `https://web.${t}.${platform.domain}` },
      },
    });
    // The InferenceService routes of the contract resolve what it serves.
    expect((await call('get', `${V1}/inference_services/${web['id']}/model`)).body.id).toBe(modelId);
    expect((await call('get', `${V1}/inference_services/${web['id']}/version`)).body.id).toBe(
      versionIds['v1'],
    );

    await operator.idle();
    expect([...(await inferenceServices()).keys()]).toEqual(['web']);
    expect(operatorErrors).toEqual([]);
  });

  it('follows the endpoint (version, scaled to zero), keeps a user’s own custom properties, and writes nothing when nothing changed', async () => {
    const before = (await inferenceServices()).get('web')!;
    const noted = await call('patch', `${V1}/inference_services/${before['id']}`, {
      customProperties: {
        ...(before['customProperties'] as object),
        note: { metadataType: 'MetadataStringValue', string_value: 'canary' },
      },
    });
    expect(noted.status).toBe(200);

    // A pass with nothing to change leaves the row as it is (no update time bump).
    await operator.idle();
    operator.resyncAll();
    await operator.idle();
    const untouched = (await inferenceServices()).get('web')!;
    expect(untouched['lastUpdateTimeSinceEpoch']).toBe(noted.body.lastUpdateTimeSinceEpoch);

    await harness.kube.applyObject(
      endpoint('web', { model: { name: 'mnist', version: 'v2' }, replicas: 0 }),
      {
        fieldManager: testManager,
      },
    );
    const after = await waitFor(
      async () => {
        const web = (await inferenceServices()).get('web');
        return web?.['modelVersionId'] === versionIds['v2'] && web?.['desiredState'] === 'UNDEPLOYED'
          ? web
          : undefined;
      },
      { description: 'the mirror to follow the endpoint', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(after['id']).toBe(before['id']);
    expect(after['customProperties']).toMatchObject({
      note: { metadataType: 'MetadataStringValue', string_value: 'canary' },
      url: { string_value: `https://web.${t}.${platform.domain}` },
    });
  });

  it('removes the mirror with the endpoint, and leaves InferenceServices users created themselves', async () => {
    const environment = await call('get', `${V1}/serving_environment?name=${ns}`);
    const manual = await call('post', `${V1}/inference_services`, {
      name: 'manual',
      servingEnvironmentId: environment.body.id,
      registeredModelId: modelId,
    });
    expect(manual.status).toBe(201);

    await harness.kube.delete(GROUP_VERSION, 'InferenceEndpoint', endpointResourceName(t, 'web'), ns);
    await waitFor(async () => !(await inferenceServices()).has('web'), {
      description: 'the mirror removed with its endpoint',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    expect([...(await inferenceServices()).keys()]).toEqual(['manual']);
  });

  it('removes the mirrors of a deleted tenant’s endpoints when the operator finalizes it', async () => {
    await harness.kube.applyObject(endpoint('api'), { fieldManager: testManager });
    await waitFor(async () => (await inferenceServices()).has('api'), {
      description: 'the second endpoint mirrored',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    await harness.kube.delete(GROUP_VERSION, 'Tenant', t);
    await waitFor(async () => (await harness.kube.get(GROUP_VERSION, 'Tenant', t)) === undefined, {
      description: 'the tenant finalized',
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const left = await new RegistryRepository(pool).list(t, { kinds: ['inference-service'] });
    expect(left.items.map((row) => row.name)).toEqual(['manual']);
    expect(operatorErrors).toEqual([]);
  });
});
