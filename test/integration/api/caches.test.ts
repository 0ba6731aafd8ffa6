import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_MANAGERS, GROUP_VERSION, type Tenant } from '../../../src/domain/index.ts';
import { renderManagementRbac } from '../../../src/render/rbac.ts';
import { oidcToken } from '../../../src/testenv/identities.ts';
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
} from './fixture.ts';

const run = suffix();
const T = `ca-${run}`;
/** Tenants nobody but platform admins may see, and two of them for one reader. */
const CROWD = Array.from({ length: 12 }, (_, i) => `cc-${run}-${i}`);
const READABLE = [CROWD[3]!, CROWD[8]!];

/** Reviews of a kind the API has sent to the apiserver so far, from its own /metrics. */
async function reviewsSent(harness: ApiUnderTest, kind: 'subjectaccessreview' | 'tokenreview') {
  const text = (await harness.call('get', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`tenantmesh_api_reviews_total{kind="${kind}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('the API reads from its caches and still shows a caller its own writes', () => {
  let harness: ApiUnderTest;
  let callers: Callers;
  let reader = '';
  let coldReader = '';
  let nobody = '';

  beforeAll(async () => {
    harness = await startApiUnderTest();
    await applyPlatformRbac(harness.kube);
    callers = await callersOf(T);
    await createTenant(harness, callers, T, { quota: { maxEndpoints: 5 } });
    // The crowd is written straight to the apiserver, as another replica or kubectl would.
    for (const name of CROWD) {
      await harness.kube.create({ apiVersion: GROUP_VERSION, kind: 'Tenant', metadata: { name }, spec: {} });
    }
    const readers = `readers-${run}`;
    for (const name of READABLE) {
      const tenant = (await harness.kube.get(GROUP_VERSION, 'Tenant', name)) as unknown as Tenant;
      tenant.spec = { admins: [{ kind: 'Group', name: readers }] };
      for (const object of renderManagementRbac({
        tenant,
        name,
        hostname: `${name}.example.test`,
        platform,
        endpoints: [],
      })) {
        await harness.kube.applyObject(object as never, {
          fieldManager: FIELD_MANAGERS.operator,
          force: true,
        });
      }
    }
    reader = await oidcToken(env, { sub: `r1-${run}`, email: `r1-${run}@example.test`, groups: [readers] });
    coldReader = await oidcToken(env, {
      sub: `r2-${run}`,
      email: `r2-${run}@example.test`,
      groups: [readers],
    });
    nobody = await oidcToken(env, { sub: `nobody-${run}`, email: `nobody-${run}@example.test`, groups: [] });
  });

  afterAll(async () => {
    for (const name of [T, ...CROWD]) await removeTenant(harness, name);
    await harness?.api.close();
  });

  it('shows a tenant the caller just created, changed and deleted on the very next read', async () => {
    for (let round = 0; round < 3; round++) {
      const name = `ryw-${run}-${round}`;
      const created = await harness.call('post', '/v1/tenants', {
        token: callers.platformAdmin,
        json: { name, displayName: 'first' },
      });
      expect(created.status, created.text).toBe(201);
      const read = await harness.call('get', `/v1/tenants/${name}`, { token: callers.platformAdmin });
      expect(read.status, read.text).toBe(200);
      expect(read.json().resourceVersion).toBe(created.json().resourceVersion);

      const patched = await harness.call('patch', `/v1/tenants/${name}`, {
        token: callers.platformAdmin,
        json: { displayName: 'second' },
      });
      expect(patched.status, patched.text).toBe(200);
      const reread = await harness.call('get', `/v1/tenants/${name}`, { token: callers.platformAdmin });
      expect(reread.json().displayName).toBe('second');
      expect(reread.headers.get('etag')).toBe(patched.headers.get('etag'));
      const listed = await harness.call('get', '/v1/tenants', { token: callers.platformAdmin });
      const item = listed.json().items.find((t: { name: string }) => t.name === name);
      expect(item?.displayName).toBe('second');

      expect(
        (await harness.call('delete', `/v1/tenants/${name}?purge=true`, { token: callers.platformAdmin }))
          .status,
      ).toBe(202);
      const gone = await harness.call('get', `/v1/tenants/${name}`, { token: callers.platformAdmin });
      // Without the operator's finalizer the tenant is gone at once; with it, it shows as deleting.
      expect(gone.status === 404 || gone.json().deleting === true, gone.text).toBe(true);
    }
  });

  it('shows an endpoint the caller just created, scaled and deleted on the very next read', async () => {
    const put = await harness.call('put', `/v1/tenants/${T}/models/m/versions/1/files/m.bin`, {
      token: callers.tenantAdmin,
      body: Buffer.from('weights'),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(put.status, put.text).toBe(201);
    const base = `/v1/tenants/${T}/endpoints`;
    const created = await harness.call('post', base, {
      token: callers.tenantAdmin,
      json: { name: 'ep', model: { name: 'm', version: '1' }, runtime: RUNTIME },
    });
    expect(created.status, created.text).toBe(201);
    const listed = await harness.call('get', base, { token: callers.tenantAdmin });
    expect(listed.json().items.map((e: { name: string }) => e.name)).toEqual(['ep']);

    const scaled = await harness.call('put', `${base}/ep/replicas`, {
      token: callers.tenantAdmin,
      json: { replicas: 0 },
    });
    expect(scaled.status, scaled.text).toBe(200);
    const read = await harness.call('get', `${base}/ep`, { token: callers.tenantAdmin });
    expect(read.json().replicas).toBe(0);

    expect((await harness.call('delete', `${base}/ep`, { token: callers.tenantAdmin })).status).toBe(204);
    const after = await harness.call('get', base, { token: callers.tenantAdmin });
    expect(after.json().items).toEqual([]);
  });

  it('follows changes made behind its back (kubectl, the operator) through its watch', async () => {
    await harness.kube.patchMerge(GROUP_VERSION, 'Tenant', T, undefined, {
      spec: { displayName: `edited by kubectl ${run}` },
    });
    await waitFor(
      async () =>
        (await harness.call('get', `/v1/tenants/${T}`, { token: callers.tenantAdmin })).json().displayName ===
        `edited by kubectl ${run}`,
      { description: 'the API cache to see a change made with kubectl', timeoutMs: 10_000, intervalMs: 50 },
    );
  });

  it('lists the tenants RBAC names a caller for with a bounded number of SubjectAccessReviews', async () => {
    await waitFor(
      async () =>
        (await harness.call('get', '/v1/tenants', { token: reader })).json().items?.length ===
        READABLE.length,
      { description: 'the RBAC caches to see the reader’s bindings', timeoutMs: 20_000, intervalMs: 200 },
    );
    // Another member of the same group: none of its decisions are cached yet.
    const before = await reviewsSent(harness, 'subjectaccessreview');
    const listed = await harness.call('get', '/v1/tenants', { token: coldReader });
    const sent = (await reviewsSent(harness, 'subjectaccessreview')) - before;
    expect(
      listed
        .json()
        .items.map((t: { name: string }) => t.name)
        .sort(),
    ).toEqual([...READABLE].sort());
    // list tenants, get tenants (all), then one per tenant its bindings name; never one per tenant.
    expect(sent).toBeLessThanOrEqual(2 + READABLE.length);
  });

  it('answers a caller with no rights an empty list for two reviews, however many tenants exist', async () => {
    const before = await reviewsSent(harness, 'subjectaccessreview');
    const listed = await harness.call('get', '/v1/tenants', { token: nobody });
    expect(listed.status).toBe(200);
    expect(listed.json().items).toEqual([]);
    expect((await reviewsSent(harness, 'subjectaccessreview')) - before).toBe(2);
  });

  it('asks the apiserver about a repeated unknown token once, not once per request', async () => {
    const before = await reviewsSent(harness, 'tokenreview');
    const unknown = `opaque-${run}-not-a-token`;
    for (let i = 0; i < 10; i++) {
      const response = await harness.call('get', '/v1/tenants', { token: unknown });
      expect(response.status).toBe(401);
    }
    expect((await reviewsSent(harness, 'tokenreview')) - before).toBe(1);
  });
});
