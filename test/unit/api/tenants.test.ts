import { createHash } from 'node:crypto';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.ts';
import { IDENTITIES, MemoryEndpointStore, bearer, noModels, testDeps } from './fakes.ts';

const CA = {
  certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
  privateKeyPem: 'key',
};

describe('tenants', () => {
  it('hides a tenant the caller may not see behind the same 404 as a tenant that does not exist', async () => {
    const { deps } = testDeps();
    const app = createApp(deps).callback();
    const hidden = await request(app).get('/v1/tenants/globex').set(bearer('acme-user-token'));
    const absent = await request(app).get('/v1/tenants/nothere').set(bearer('acme-user-token'));
    expect(hidden.status).toBe(404);
    expect(absent.status).toBe(404);
    expect(hidden.body.detail).toBe('tenant "globex" not found');
    expect(absent.body.detail).toBe('tenant "nothere" not found');
  });

  it('answers 403 when the caller may see the tenant but not change it', async () => {
    const { deps } = testDeps();
    const response = await request(createApp(deps).callback())
      .patch('/v1/tenants/acme')
      .set(bearer('acme-user-token'))
      .send({ displayName: 'ACME' });
    expect(response.status).toBe(403);
  });

  it('presents a tenant without managedFields or internal annotations', async () => {
    const { deps } = testDeps();
    const response = await request(createApp(deps).callback())
      .get('/v1/tenants/acme')
      .set(bearer('acme-user-token'));
    expect(response.status).toBe(200);
    expect(response.headers['etag']).toMatch(/^"\d+"$/);
    expect(response.body).toMatchObject({
      name: 'acme',
      ca: { mode: 'generated' },
      status: { ready: 'True' },
    });
    const text = JSON.stringify(response.body);
    expect(text).not.toContain('managedFields');
    expect(text).not.toContain('tenantmesh.io/internal');
  });

  it('lists only the tenants the caller may see, and all of them to a platform admin', async () => {
    const { deps } = testDeps();
    const app = createApp(deps).callback();
    const user = await request(app).get('/v1/tenants').set(bearer('acme-user-token'));
    expect(user.body.items.map((t: { name: string }) => t.name)).toEqual(['acme']);
    const admin = await request(app).get('/v1/tenants').set(bearer('admin-token'));
    expect(admin.body.items.map((t: { name: string }) => t.name).sort()).toEqual(['acme', 'globex']);
  });

  it('lists 5 of 1,000 tenants to their user with a handful of reviews, not one per tenant', async () => {
    const { deps, store, reviews } = testDeps();
    for (let i = 0; i < 1000; i++) store.seed(`t-${String(i).padStart(4, '0')}`);
    const mine = ['t-0003', 't-0250', 't-0500', 't-0750', 't-0999'];
    IDENTITIES['five-token'] = {
      kind: 'oidc',
      username: 'oidc:five',
      groups: [...mine.map((t) => `oidc:${t}-users`), 'oidc:ghost-users'],
      extra: {},
    };
    try {
      const app = createApp(deps).callback();
      const listed = await request(app).get('/v1/tenants').set(bearer('five-token'));
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((t: { name: string }) => t.name)).toEqual(mine);
      // list, get (all), then one get per tenant the caller's bindings name (and that exists).
      expect(reviews).toHaveLength(2 + mine.length);
      await request(app).get('/v1/tenants').set(bearer('five-token'));
      expect(reviews).toHaveLength(2 + mine.length);
    } finally {
      delete IDENTITIES['five-token'];
    }
  });

  it('answers a caller with no rights an empty list for two reviews, however many tenants exist', async () => {
    const { deps, store, reviews } = testDeps();
    for (let i = 0; i < 1500; i++) store.seed(`t-${i}`);
    const listed = await request(createApp(deps).callback()).get('/v1/tenants').set(bearer('outsider-token'));
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([]);
    expect(reviews.map((r) => `${r.resourceAttributes.verb} ${r.resourceAttributes.name ?? '*'}`)).toEqual([
      'list *',
      'get *',
    ]);
  });

  it('does not show a tenant the bindings name when the review refuses it', async () => {
    const { deps } = testDeps({
      visibility: { candidates: () => new Set(['acme', 'globex']) },
    });
    const listed = await request(createApp(deps).callback())
      .get('/v1/tenants')
      .set(bearer('acme-user-token'));
    expect(listed.body.items.map((t: { name: string }) => t.name)).toEqual(['acme']);
  });

  it('answers 503 while the RBAC caches are still loading', async () => {
    const { deps } = testDeps({ visibility: { candidates: () => undefined } });
    const listed = await request(createApp(deps).callback())
      .get('/v1/tenants')
      .set(bearer('acme-user-token'));
    expect(listed.status).toBe(503);
    expect(listed.headers['retry-after']).toBe('1');
  });

  it('creates a tenant for a platform admin and audits it', async () => {
    const { deps, store, audit } = testDeps();
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants')
      .set(bearer('admin-token'))
      .set('X-Request-Id', 'create-1')
      .send({ name: 'initech', quota: { maxEndpoints: 3, cpu: '500m', memory: '4Gi', storageBytes: 1000 } });
    expect(response.status).toBe(201);
    expect(response.headers['location']).toBe('/v1/tenants/initech');
    expect(store.tenants.get('initech')?.spec.quota).toEqual({
      maxEndpoints: 3,
      cpu: '500m',
      memory: '4Gi',
      storageBytes: 1000,
    });
    expect(audit()).toEqual([
      expect.objectContaining({
        schema_version: 1,
        request_id: 'create-1',
        subject: 'oidc:root',
        tenant: 'initech',
        action: 'tenants.create',
        target: 'tenants/initech',
        decision: 'allow',
      }),
    ]);
  });

  it.each([
    ['a name that is too short', { name: 'ab' }, '/name'],
    ['a name that is not a DNS label', { name: 'Acme_Corp' }, '/name'],
    ['a name longer than 40 characters', { name: 'a'.repeat(41) }, '/name'],
    ['a malformed cpu quantity', { name: 'initech', quota: { cpu: 'lots' } }, '/quota/cpu'],
    ['a negative endpoint quota', { name: 'initech', quota: { maxEndpoints: -1 } }, '/quota/maxEndpoints'],
    ['an unknown field', { name: 'initech', colour: 'blue' }, ''],
    [
      'a ServiceAccount without namespace',
      { name: 'initech', users: [{ kind: 'ServiceAccount', name: 'ci' }] },
      '/users/0/namespace',
    ],
  ])('rejects %s with a 400 naming the field', async (_case, body, pointer) => {
    const { deps, store } = testDeps();
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants')
      .set(bearer('admin-token'))
      .send(body);
    expect(response.status).toBe(400);
    expect(response.body.invalidParams).toContainEqual(expect.objectContaining({ pointer }));
    expect(store.tenants.has('initech')).toBe(false);
  });

  it('passes a provided CA to the validator and answers 422 naming the field it rejects', async () => {
    const { deps } = testDeps();
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants')
      .set(bearer('admin-token'))
      .send({ name: 'initech', ca: { certificatePem: 'garbage', privateKeyPem: 'k' } });
    expect(response.status).toBe(422);
    expect(response.body.invalidParams).toEqual([
      { pointer: '/ca/certificatePem', reason: 'not a PEM certificate' },
    ]);
  });

  it('records a provided CA as such and never returns its key', async () => {
    const { deps } = testDeps();
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants')
      .set(bearer('admin-token'))
      .send({ name: 'initech', ca: CA });
    expect(response.status).toBe(201);
    expect(response.body.ca.mode).toBe('provided');
    expect(JSON.stringify(response.body)).not.toContain('privateKey');
  });

  it('refuses a CA another tenant already uses with 422 naming the field, and takes a CA of its own', async () => {
    const { deps, store } = testDeps();
    const acme = store.tenants.get('acme')!;
    acme.status = {
      ...acme.status,
      caFingerprint: createHash('sha256').update(CA.certificatePem).digest('hex'),
    };
    const app = createApp(deps).callback();
    const shared = await request(app)
      .post('/v1/tenants')
      .set(bearer('admin-token'))
      .send({ name: 'initech', ca: CA });
    expect(shared.status).toBe(422);
    expect(shared.headers['content-type']).toContain('application/problem+json');
    expect(shared.body.invalidParams).toEqual([
      { pointer: '/ca/certificatePem', reason: 'this CA is already the CA of another tenant' },
    ]);
    expect(store.tenants.has('initech')).toBe(false);
    const own = { ...CA, certificatePem: CA.certificatePem.replace('MIIB', 'MIIC') };
    const accepted = await request(app)
      .post('/v1/tenants')
      .set(bearer('admin-token'))
      .send({ name: 'initech', ca: own });
    expect(accepted.status).toBe(201);
  });

  it('refuses tenant creation to a tenant admin with 403 and audits the denial', async () => {
    const { deps, audit } = testDeps();
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants')
      .set(bearer('acme-admin-token'))
      .send({ name: 'initech' });
    expect(response.status).toBe(403);
    expect(audit()).toEqual([
      expect.objectContaining({ action: 'tenants.create', decision: 'deny', subject: 'oidc:ann' }),
    ]);
  });

  it('answers 409 when the tenant already exists', async () => {
    const { deps } = testDeps();
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants')
      .set(bearer('admin-token'))
      .send({ name: 'acme' });
    expect(response.status).toBe(409);
  });

  it('patches only the fields sent and honours If-Match', async () => {
    const { deps, store } = testDeps();
    const app = createApp(deps).callback();
    const patched = await request(app)
      .patch('/v1/tenants/acme')
      .set(bearer('admin-token'))
      .send({ quota: { cpu: '2' } });
    expect(patched.status).toBe(200);
    expect(store.tenants.get('acme')?.spec.admins).toHaveLength(1);
    const stale = await request(app)
      .patch('/v1/tenants/acme')
      .set(bearer('admin-token'))
      .set('If-Match', '"1"')
      .send({ displayName: 'ACME' });
    expect(stale.status).toBe(409);
  });

  it('refuses to delete a tenant that still stores models unless the caller asks to purge them', async () => {
    const stored = { acme: 3 };
    const models = {
      store: {
        listModels: async (tenant: string) =>
          tenant === 'acme' ? [{ name: 'resnet', versions: stored.acme, lastPublishedAt: '' }] : [],
      },
      isVersionInUse: async () => false,
    } as unknown as NonNullable<Parameters<typeof testDeps>[0]>['models'];
    const { deps, store } = testDeps({ models });
    const app = createApp(deps).callback();

    const refused = await request(app).delete('/v1/tenants/acme').set(bearer('admin-token'));
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain('3 model version(s)');
    expect(store.tenants.has('acme')).toBe(true);

    const purged = await request(app).delete('/v1/tenants/acme?purge=true').set(bearer('admin-token'));
    expect(purged.status).toBe(202);
    // Nothing to read (the CLI parses a non-empty answer as JSON; Koa's default would be the text "Accepted").
    expect(purged.text).toBe('');
    expect(store.tenants.has('acme')).toBe(false);
  });

  it('audits a deletion denied to a tenant admin and allowed to a platform admin', async () => {
    const { deps, audit, store } = testDeps();
    const app = createApp(deps).callback();
    expect((await request(app).delete('/v1/tenants/acme').set(bearer('acme-admin-token'))).status).toBe(403);
    expect((await request(app).delete('/v1/tenants/acme').set(bearer('admin-token'))).status).toBe(202);
    expect(store.tenants.has('acme')).toBe(false);
    expect(audit().map((e) => [e.action, e.decision])).toEqual([
      ['tenants.delete', 'deny'],
      ['tenants.delete', 'allow'],
    ]);
  });

  it('writes audit lines that never contain the bearer token', async () => {
    const { deps, auditLines } = testDeps();
    const app = createApp(deps).callback();
    await request(app).delete('/v1/tenants/globex').set(bearer('acme-admin-token'));
    await request(app).post('/v1/tenants').set(bearer('admin-token')).send({ name: 'initech', ca: CA });
    expect(auditLines.length).toBe(2);
    for (const line of auditLines) {
      expect(line).not.toContain('token');
      expect(line).not.toContain('BEGIN');
    }
  });
});

describe('access grants', () => {
  it('grants a group to the tenant users, idempotently, and revokes it', async () => {
    const { deps, store, audit } = testDeps();
    const app = createApp(deps).callback();
    const grant = { role: 'users', subject: { kind: 'Group', name: 'data-science' } };
    const first = await request(app)
      .post('/v1/tenants/acme/access')
      .set(bearer('acme-admin-token'))
      .send(grant);
    expect(first.status).toBe(201);
    const again = await request(app)
      .post('/v1/tenants/acme/access')
      .set(bearer('acme-admin-token'))
      .send(grant);
    expect(again.status).toBe(200);
    expect(store.tenants.get('acme')?.spec.users).toContainEqual({ kind: 'Group', name: 'data-science' });
    const revoked = await request(app)
      .delete('/v1/tenants/acme/access/users/Group/data-science')
      .set(bearer('acme-admin-token'));
    expect(revoked.status).toBe(200);
    expect(store.tenants.get('acme')?.spec.users).not.toContainEqual({ kind: 'Group', name: 'data-science' });
    expect(audit().map((e) => e.action)).toEqual(['access.grant', 'access.revoke']);
  });

  it('applies a grant on top of a change that raced it (the operator wrote meanwhile), losing neither', async () => {
    const { deps, store } = testDeps();
    const update = store.update.bind(store);
    let raced = false;
    store.update = async (name, spec, precondition) => {
      if (!raced) {
        // Someone else's write lands between the route's read and its write.
        raced = true;
        const current = await store.get(name);
        await update(name, { ...current.spec, displayName: 'renamed meanwhile' }, {});
      }
      return update(name, spec, precondition);
    };
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants/acme/access')
      .set(bearer('acme-admin-token'))
      .send({ role: 'users', subject: { kind: 'Group', name: 'late-team' } });
    expect(response.status, response.text).toBe(201);
    const spec = store.tenants.get('acme')?.spec;
    expect(spec?.users).toContainEqual({ kind: 'Group', name: 'late-team' });
    expect(spec?.displayName).toBe('renamed meanwhile');
  });

  it('answers 409 when the tenant keeps changing under every attempt', async () => {
    const { deps, store } = testDeps();
    const update = store.update.bind(store);
    store.update = async (name, spec, precondition) => {
      const current = await store.get(name);
      await update(name, current.spec, {});
      return update(name, spec, precondition);
    };
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants/acme/access')
      .set(bearer('acme-admin-token'))
      .send({ role: 'users', subject: { kind: 'Group', name: 'late-team' } });
    expect(response.status).toBe(409);
    expect(response.headers['content-type']).toContain('application/problem+json');
  });

  it('grants a ServiceAccount access to one endpoint only', async () => {
    const endpoints = new MemoryEndpointStore();
    await endpoints.create('acme', 'resnet', { tenant: 'acme', model: { name: 'm' }, runtime: 'triton' });
    const { deps, store } = testDeps({ endpoints: { store: endpoints, models: noModels } });
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants/acme/access')
      .set(bearer('acme-admin-token'))
      .send({
        role: 'endpointUsers',
        endpoint: 'resnet',
        subject: { kind: 'ServiceAccount', name: 'ci', namespace: 'build' },
      });
    expect(response.status).toBe(201);
    expect(store.tenants.get('acme')?.spec.endpointGrants).toEqual([
      { endpoint: 'resnet', subjects: [{ kind: 'ServiceAccount', name: 'ci', namespace: 'build' }] },
    ]);
  });

  it('refuses a grant on an endpoint the tenant does not own, even when another tenant has one of that name', async () => {
    const endpoints = new MemoryEndpointStore();
    await endpoints.create('globex', 'resnet', { tenant: 'globex', model: { name: 'm' }, runtime: 'triton' });
    const { deps, store } = testDeps({ endpoints: { store: endpoints, models: noModels } });
    const app = createApp(deps).callback();
    for (const endpoint of ['resnet', 'not-created-yet']) {
      const response = await request(app)
        .post('/v1/tenants/acme/access')
        .set(bearer('acme-admin-token'))
        .send({ role: 'endpointUsers', endpoint, subject: { kind: 'User', name: 'oidc:mallory' } });
      expect(response.status).toBe(422);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body.detail).toContain(`tenant "acme" has no endpoint "${endpoint}"`);
    }
    expect(store.tenants.get('acme')?.spec.endpointGrants).toBeUndefined();
  });

  it('leaves naming tenant admins to platform admins', async () => {
    const { deps } = testDeps();
    const app = createApp(deps).callback();
    const grant = { role: 'admins', subject: { kind: 'User', name: 'oidc:carol' } };
    const byTenantAdmin = await request(app)
      .post('/v1/tenants/acme/access')
      .set(bearer('acme-admin-token'))
      .send(grant);
    expect(byTenantAdmin.status).toBe(403);
    const byPlatformAdmin = await request(app)
      .post('/v1/tenants/acme/access')
      .set(bearer('admin-token'))
      .send(grant);
    expect(byPlatformAdmin.status).toBe(201);
  });

  it('asks RBAC the questions docs/rbac.md lists', async () => {
    const { deps, reviews } = testDeps();
    const app = createApp(deps).callback();
    await request(app).patch('/v1/tenants/acme').set(bearer('acme-admin-token')).send({ displayName: 'A' });
    await request(app).get('/v1/tenants/acme/access').set(bearer('acme-admin-token'));
    const asked = reviews.map((r) => {
      const { verb, subresource, name } = r.resourceAttributes;
      return `${verb} tenants${subresource ? `/${subresource}` : ''} ${name ?? ''}`;
    });
    expect(asked).toEqual(['get tenants acme', 'patch tenants acme', 'list tenants/access acme']);
  });

  it('lets tenant users read the access lists but not change them', async () => {
    const { deps } = testDeps();
    const app = createApp(deps).callback();
    expect((await request(app).get('/v1/tenants/acme/access').set(bearer('acme-user-token'))).status).toBe(
      200,
    );
    const grant = await request(app)
      .post('/v1/tenants/acme/access')
      .set(bearer('acme-user-token'))
      .send({ role: 'admins', subject: { kind: 'User', name: 'oidc:bob' } });
    expect(grant.status).toBe(403);
  });

  it('hides another tenant’s access lists behind a 404', async () => {
    const { deps } = testDeps();
    const response = await request(createApp(deps).callback())
      .get('/v1/tenants/globex/access')
      .set(bearer('acme-admin-token'));
    expect(response.status).toBe(404);
  });

  it('grants every signed-in user as tenant users: the public registry', async () => {
    const { deps, store } = testDeps();
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants/acme/access')
      .set(bearer('acme-admin-token'))
      .send({ role: 'users', subject: { kind: 'Group', name: 'system:authenticated' } });
    expect(response.status).toBe(201);
    expect(store.tenants.get('acme')?.spec.users).toContainEqual({
      kind: 'Group',
      name: 'system:authenticated',
    });
  });

  it.each([
    { role: 'users', subject: { kind: 'Group', name: 'system:unauthenticated' } },
    { role: 'users', subject: { kind: 'User', name: 'system:anonymous' } },
    { role: 'endpointUsers', endpoint: 'resnet', subject: { kind: 'Group', name: 'system:anonymous' } },
    { role: 'admins', subject: { kind: 'Group', name: 'system:authenticated' } },
    { role: 'admins', subject: { kind: 'Group', name: 'system:serviceaccounts:ci' } },
  ])('refuses to grant $role to $subject.name with 422 naming the field', async (grant) => {
    const { deps, store } = testDeps();
    const before = structuredClone(store.tenants.get('acme')?.spec);
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants/acme/access')
      .set(bearer('admin-token'))
      .send(grant);
    expect(response.status).toBe(422);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(response.body.invalidParams).toEqual([
      { pointer: '/subject/name', reason: expect.stringContaining(grant.subject.name) },
    ]);
    expect(store.tenants.get('acme')?.spec).toEqual(before);
  });

  it('refuses a new tenant whose admins include a built-in group, or whose users include anonymous callers', async () => {
    const { deps, store } = testDeps();
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants')
      .set(bearer('admin-token'))
      .send({
        name: 'initech',
        admins: [
          { kind: 'Group', name: 'initech-admins' },
          { kind: 'Group', name: 'system:masters' },
        ],
        users: [{ kind: 'Group', name: 'system:unauthenticated' }],
      });
    expect(response.status).toBe(422);
    expect(response.body.invalidParams.map((p: { pointer: string }) => p.pointer)).toEqual([
      '/admins/1/name',
      '/users/0/name',
    ]);
    expect(store.tenants.has('initech')).toBe(false);
  });

  it('answers 404 when revoking a grant that does not exist', async () => {
    const { deps } = testDeps();
    const response = await request(createApp(deps).callback())
      .delete('/v1/tenants/acme/access/users/User/nobody')
      .set(bearer('acme-admin-token'));
    expect(response.status).toBe(404);
  });
});

describe('runtimes', () => {
  it('lists runtimes to any authenticated caller without their container templates', async () => {
    const { deps } = testDeps();
    const response = await request(createApp(deps).callback())
      .get('/v1/runtimes')
      .set(bearer('outsider-token'));
    expect(response.status).toBe(200);
    expect(response.body.items).toEqual([
      {
        name: 'ovms',
        protocols: ['tfserving-grpc', 'kserve-v2-grpc'],
        modelFormats: [{ name: 'openvino_ir' }],
      },
      { name: 'tfserving', protocols: ['tfserving-grpc'], modelFormats: [{ name: 'tensorflow' }] },
    ]);
  });
});
