import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REGISTRY_API_PREFIXES,
  registryHost,
  tenantHostname,
  type Tenant,
} from '../../../src/domain/index.ts';
import {
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
import { grantRegistryUsers, registryCall, serviceHost, waitForRegistryAccess } from './fixture.ts';

const V1 = '/api/model_registry/v1';

describe('the model registry API of each tenant', () => {
  let harness: ApiUnderTest;
  const a = `reg-a-${suffix()}`;
  const b = `reg-b-${suffix()}`;
  let callersA: Callers;
  let callersB: Callers;
  let tenantA: Tenant;
  const call = (
    tenant: string,
    method: string,
    path: string,
    options: { token?: string; json?: unknown } = {},
  ) => registryCall(harness.api.url, serviceHost(tenant), method, path, options);

  beforeAll(async () => {
    expect(env.postgresql, 'the run has a PostgreSQL').toBeDefined();
    harness = await startApiUnderTest();
    await applyPlatformRbac(harness.kube);
    [callersA, callersB] = await Promise.all([callersOf(a), callersOf(b)]);
    tenantA = await createTenant(harness, callersA, a);
    await createTenant(harness, callersB, b);
    await Promise.all([grantRegistryUsers(harness, a), grantRegistryUsers(harness, b)]);
    await waitForRegistryAccess(harness, serviceHost(a), callersA.tenantUser);
    await waitForRegistryAccess(harness, serviceHost(b), callersB.tenantUser);
  });

  afterAll(async () => {
    await Promise.all([removeTenant(harness, a), removeTenant(harness, b)]);
    await harness?.api.close();
  });

  it('creates, reads, patches, finds and nests entities with the contract types', async () => {
    const token = callersA.tenantUser;
    const created = await call(a, 'post', `${V1}/registered_models`, {
      token,
      json: {
        name: 'churn',
        owner: 'ann',
        customProperties: {
          epochs: { metadataType: 'MetadataIntValue', int_value: '12' },
          accuracy: { metadataType: 'MetadataDoubleValue', double_value: 0.91 },
        },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'churn', owner: 'ann', state: 'LIVE' });
    expect(created.body.id).toMatch(/^[1-9][0-9]*$/);
    expect(created.body.createTimeSinceEpoch).toMatch(/^[0-9]+$/);
    const id = created.body.id as string;

    // The same rows under both path prefixes.
    const alpha = await call(a, 'get', `/api/model_registry/v1alpha3/registered_models/${id}`, { token });
    expect(alpha.body).toEqual(created.body);

    const version = await call(a, 'post', `${V1}/registered_models/${id}/versions`, {
      token,
      json: { name: 'v1', author: 'ann' },
    });
    expect(version.status).toBe(201);
    expect(version.body.registeredModelId).toBe(id);
    const artifact = await call(a, 'post', `${V1}/model_versions/${version.body.id}/artifacts`, {
      token,
      json: { artifactType: 'model-artifact', name: 'churn', uri: 's3://x/churn/', modelFormatName: 'onnx' },
    });
    expect(artifact.status).toBe(201);
    const doc = await call(a, 'post', `${V1}/model_versions/${version.body.id}/artifacts`, {
      token,
      json: { artifactType: 'doc-artifact', name: 'readme', uri: 'https://docs/x' },
    });
    expect(doc.status).toBe(201);
    const artifacts = await call(a, 'get', `${V1}/model_versions/${version.body.id}/artifacts`, { token });
    expect(artifacts.body.items.map((x: { artifactType: string }) => x.artifactType)).toEqual([
      'model-artifact',
      'doc-artifact',
    ]);
    const onlyDocs = await call(a, 'get', `${V1}/artifacts?artifactType=doc-artifact`, { token });
    expect(onlyDocs.body.items.map((x: { name: string }) => x.name)).toEqual(['readme']);

    const found = await call(
      a,
      'get',
      `${V1}/model_artifact?name=churn&parentResourceId=${version.body.id}`,
      { token },
    );
    expect(found.body).toMatchObject({ id: artifact.body.id, uri: 's3://x/churn/', state: 'UNKNOWN' });

    const patched = await call(a, 'patch', `${V1}/registered_models/${id}`, {
      token,
      json: { description: 'who leaves', state: 'ARCHIVED', externalId: 'ext-churn' },
    });
    expect(patched.body).toMatchObject({ description: 'who leaves', state: 'ARCHIVED', owner: 'ann' });
    expect(patched.body.customProperties).toEqual(created.body.customProperties);
    const byExternalId = await call(a, 'get', `${V1}/registered_model?externalId=ext-churn`, { token });
    expect(byExternalId.body.id).toBe(id);

    const filtered = await call(
      a,
      'get',
      `${V1}/registered_models?filterQuery=${encodeURIComponent('epochs > 10 AND accuracy >= 0.9 AND name LIKE "ch%"')}`,
      { token },
    );
    expect(filtered.body.items.map((x: { id: string }) => x.id)).toEqual([id]);

    const environment = await call(a, 'post', `${V1}/serving_environments`, {
      token,
      json: { name: 'prod' },
    });
    const service = await call(
      a,
      'post',
      `${V1}/serving_environments/${environment.body.id}/inference_services`,
      {
        token,
        json: { name: 'churn-prod', registeredModelId: id, runtime: 'mlserver' },
      },
    );
    expect(service.status).toBe(201);
    expect(service.body).toMatchObject({
      servingEnvironmentId: environment.body.id,
      desiredState: 'DEPLOYED',
    });
    expect(
      (await call(a, 'get', `${V1}/inference_services/${service.body.id}/model`, { token })).body.id,
    ).toBe(id);
    expect(
      (await call(a, 'get', `${V1}/inference_services/${service.body.id}/version`, { token })).body.id,
    ).toBe(version.body.id);
    const serve = await call(a, 'post', `${V1}/inference_services/${service.body.id}/serves`, {
      token,
      json: { modelVersionId: version.body.id },
    });
    expect(serve.status).toBe(201);
    expect(serve.body.lastKnownState).toBe('UNKNOWN');
  });

  it('answers bad input with 400 {code, message}, missing things with 404, duplicates with 409, never 5xx', async () => {
    const token = callersA.tenantUser;
    const cases: Array<[string, string, unknown, number]> = [
      ['get', `${V1}/registered_models?filterQuery=${encodeURIComponent('NOT name = "x"')}`, undefined, 400],
      ['get', `${V1}/registered_models?nextPageToken=garbage`, undefined, 400],
      ['get', `${V1}/registered_models?orderBy=NAME`, undefined, 400],
      ['get', `${V1}/registered_models/999999999`, undefined, 404],
      ['get', `${V1}/registered_model?name=nothing-here`, undefined, 404],
      ['get', `${V1}/model_version?name=v1`, undefined, 400],
      ['post', `${V1}/registered_models`, { name: 'x', colour: 'red' }, 400],
      ['post', `${V1}/model_versions`, { name: 'v', registeredModelId: '999999999' }, 404],
      [
        'post',
        `${V1}/registered_models`,
        { name: 'y', customProperties: { n: { metadataType: 'MetadataIntValue', int_value: '1.5' } } },
        400,
      ],
      ['delete', `${V1}/registered_models/1`, undefined, 405],
    ];
    for (const [method, path, json, status] of cases) {
      const response = await call(a, method, path, { token, ...(json ? { json } : {}) });
      expect(response.status, `${method} ${path}`).toBe(status);
      expect(response.body.code, `${method} ${path}`).toBe(String(status));
      expect(typeof response.body.message).toBe('string');
    }
    await call(a, 'post', `${V1}/registered_models`, { token, json: { name: 'dup' } });
    expect((await call(a, 'post', `${V1}/registered_models`, { token, json: { name: 'dup' } })).status).toBe(
      409,
    );
  });

  it('a page token only continues the query that produced it', async () => {
    const token = callersA.tenantUser;
    for (const name of ['p1', 'p2', 'p3'])
      await call(a, 'post', `${V1}/registered_models`, { token, json: { name } });
    const first = await call(a, 'get', `${V1}/registered_models?pageSize=1&orderBy=CREATE_TIME`, { token });
    expect(first.body.nextPageToken).not.toBe('');
    const again = await call(a, 'get', `${V1}/registered_models?pageSize=1&orderBy=CREATE_TIME`, { token });
    expect(again.body.nextPageToken).toBe(first.body.nextPageToken);
    const other = await call(
      a,
      'get',
      `${V1}/registered_models?pageSize=1&orderBy=ID&nextPageToken=${first.body.nextPageToken}`,
      { token },
    );
    expect(other.status).toBe(400);
    expect(other.body.message).toMatch(/different query/);
    // Tenant B cannot continue tenant A's listing either.
    const elsewhere = await call(
      b,
      'get',
      `${V1}/registered_models?pageSize=1&orderBy=CREATE_TIME&nextPageToken=${first.body.nextPageToken}`,
      { token: callersB.tenantUser },
    );
    expect(elsewhere.status).toBe(400);
  });

  it('paging never repeats or loses a model while others are inserted concurrently, in every order', async () => {
    const token = callersB.tenantUser;
    const before: string[] = [];
    for (let i = 0; i < 60; i++) {
      const created = await call(b, 'post', `${V1}/registered_models`, {
        token,
        json: { name: `page-${i}` },
      });
      before.push(created.body.id as string);
    }
    let inserted = 0;
    let inserting = true;
    const inserter = (async () => {
      while (inserting) {
        await call(b, 'post', `${V1}/registered_models`, { token, json: { name: `late-${inserted++}` } });
      }
    })();
    try {
      for (const orderBy of ['ID', 'CREATE_TIME', 'LAST_UPDATE_TIME']) {
        for (const sortOrder of ['ASC', 'DESC']) {
          const seen: string[] = [];
          let pageToken = '';
          for (let pages = 0; pages < 1000; pages++) {
            const query = `pageSize=7&orderBy=${orderBy}&sortOrder=${sortOrder}${pageToken ? `&nextPageToken=${pageToken}` : ''}`;
            const page = await call(b, 'get', `${V1}/registered_models?${query}`, { token });
            expect(page.status).toBe(200);
            seen.push(...page.body.items.map((x: { id: string }) => x.id));
            pageToken = page.body.nextPageToken;
            if (!pageToken) break;
          }
          expect(new Set(seen).size, `${orderBy} ${sortOrder}: no repeats`).toBe(seen.length);
          expect(
            before.filter((id) => !seen.includes(id)),
            `${orderBy} ${sortOrder}: nothing lost`,
          ).toEqual([]);
        }
      }
    } finally {
      inserting = false;
      await inserter;
    }
    expect(inserted).toBeGreaterThan(0);
  });

  it('a version uploaded through the management API is the registry model, version and LIVE artifact', async () => {
    const upload = await harness.call(
      'put',
      `/v1/tenants/${a}/models/uploaded/versions/3/files/model.onnx?modelFormatName=onnx&modelFormatVersion=1`,
      {
        token: callersA.tenantAdmin,
        body: Buffer.from('weights'),
        headers: { 'Content-Type': 'application/octet-stream' },
      },
    );
    expect(upload.status, upload.text).toBe(201);
    const token = callersA.tenantUser;
    const model = await call(a, 'get', `${V1}/registered_model?name=uploaded`, { token });
    expect(model.status).toBe(200);
    const version = await call(a, 'get', `${V1}/model_version?name=3&parentResourceId=${model.body.id}`, {
      token,
    });
    expect(version.body).toMatchObject({ state: 'LIVE', author: 'admin@' + a + '.example.test' });
    const artifact = await call(
      a,
      'get',
      `${V1}/model_artifact?name=uploaded&parentResourceId=${version.body.id}`,
      {
        token,
      },
    );
    expect(artifact.body).toMatchObject({
      uri: `s3://tenantmesh-${a}/models/uploaded/3/`,
      storagePath: 'models/uploaded/3/',
      storageKey: `tenantmesh-${a}-storage-read`,
      modelFormatName: 'onnx',
      modelFormatVersion: '1',
      state: 'LIVE',
    });
    // What a registry client changes shows on the management API's lists (one source of truth).
    const described = await call(a, 'patch', `${V1}/registered_models/${model.body.id}`, {
      token,
      json: { description: 'detects churn' },
    });
    expect(described.status, JSON.stringify(described.body)).toBe(200);
    const archived = await call(a, 'patch', `${V1}/model_versions/${version.body.id}`, {
      token,
      json: { state: 'ARCHIVED' },
    });
    expect(archived.status, JSON.stringify(archived.body)).toBe(200);
    const models = await harness.call('get', `/v1/tenants/${a}/models`, { token });
    expect(models.json().items).toContainEqual(
      expect.objectContaining({
        name: 'uploaded',
        registry: { id: model.body.id, state: 'LIVE', description: 'detects churn' },
      }),
    );
    const versions = await harness.call('get', `/v1/tenants/${a}/models/uploaded/versions`, { token });
    expect(versions.json().items).toEqual([
      expect.objectContaining({ version: '3', registry: { id: version.body.id, state: 'ARCHIVED' } }),
    ]);
    // Deleting the version through the management API removes it from the registry too.
    const deleted = await harness.call('delete', `/v1/tenants/${a}/models/uploaded/versions/3`, {
      token: callersA.tenantAdmin,
    });
    expect(deleted.status).toBe(204);
    expect(
      (await call(a, 'get', `${V1}/model_version?name=3&parentResourceId=${model.body.id}`, { token }))
        .status,
    ).toBe(404);
  });

  it('the external registry host of a tenant selects the same registry', async () => {
    const host = registryHost(tenantHostname(tenantA, platform));
    const response = await registryCall(harness.api.url, host, 'get', `${V1}/registered_model?name=churn`, {
      token: callersA.tenantUser,
    });
    expect(response.status).toBe(200);
    const unknown = await registryCall(
      harness.api.url,
      'registry.nobody.example.test',
      'get',
      `${V1}/registered_models`,
      {
        token: callersA.tenantUser,
      },
    );
    expect(unknown.status).toBe(404);
  });

  it("every registry route refuses another tenant's users and anonymous callers, and serves its own", async () => {
    const own = await call(a, 'post', `${V1}/registered_models`, {
      token: callersA.tenantUser,
      json: { name: 'own' },
    });
    const registryRoutes = harness.api.routes.filter((route) =>
      REGISTRY_API_PREFIXES.some((prefix) => route.path.startsWith(`${prefix}/`)),
    );
    expect(registryRoutes.length).toBeGreaterThanOrEqual(2 * 35);
    for (const route of registryRoutes) {
      const path = route.path.replace(':id', own.body.id as string);
      const json = route.method === 'post' || route.method === 'patch' ? {} : undefined;
      const foreign = await call(a, route.method, path, {
        token: callersB.tenantUser,
        ...(json ? { json } : {}),
      });
      expect(foreign.status, `${route.method} ${route.path} as tenant B's user`).toBe(403);
      const anonymous = await call(a, route.method, path, json ? { json } : {});
      expect(anonymous.status, `${route.method} ${route.path} anonymously`).toBe(401);
      const mine = await call(a, route.method, path, {
        token: callersA.tenantUser,
        ...(json ? { json } : {}),
      });
      expect([200, 201, 400, 404], `${route.method} ${route.path} as tenant A's user`).toContain(mine.status);
    }
    // Tenant B's ids read as "not found" in tenant A's registry even for B's own users' data.
    const theirs = await call(b, 'post', `${V1}/registered_models`, {
      token: callersB.tenantUser,
      json: { name: 'theirs' },
    });
    expect(
      (await call(a, 'get', `${V1}/registered_models/${theirs.body.id}`, { token: callersA.tenantUser }))
        .status,
    ).toBe(404);
  });
});
