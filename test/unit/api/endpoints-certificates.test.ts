import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.ts';
import { createTenantCa } from '../../../src/pki/index.ts';
import { MemoryCertificateRegistry, bearer, testDeps } from './fakes.ts';

describe('endpoint routes', () => {
  it('refuses an unknown runtime with 422 naming /runtime', async () => {
    const app = createApp(testDeps().deps).callback();
    const response = await request(app)
      .post('/v1/tenants/acme/endpoints')
      .set(bearer('acme-user-token'))
      .send({ name: 'web', model: { name: 'resnet' }, runtime: 'nope' });
    expect(response.status).toBe(422);
    expect(response.body.invalidParams).toEqual([expect.objectContaining({ pointer: '/runtime' })]);
  });

  it('refuses the endpoint name registry, the host of the tenant’s model registry, with 400 naming /name', async () => {
    const app = createApp(testDeps().deps).callback();
    const response = await request(app)
      .post('/v1/tenants/acme/endpoints')
      .set(bearer('acme-user-token'))
      .send({ name: 'registry', model: { name: 'resnet' }, runtime: 'ovms' });
    expect(response.status).toBe(400);
    expect(response.body.invalidParams).toEqual([
      expect.objectContaining({ pointer: '/name', reason: expect.stringContaining('reserved') }),
    ]);
  });

  it('refuses a model without published versions with 422 naming /model/name', async () => {
    const app = createApp(testDeps().deps).callback();
    const response = await request(app)
      .post('/v1/tenants/acme/endpoints')
      .set(bearer('acme-user-token'))
      .send({ name: 'web', model: { name: 'resnet' }, runtime: 'ovms' });
    expect(response.status).toBe(422);
    expect(response.body.invalidParams).toEqual([expect.objectContaining({ pointer: '/model/name' })]);
  });

  it('hides another tenant’s endpoints behind 404 and audits the denial', async () => {
    const { deps, audit } = testDeps();
    const response = await request(createApp(deps).callback())
      .get('/v1/tenants/globex/endpoints')
      .set(bearer('acme-admin-token'));
    expect(response.status).toBe(404);
    expect(audit()).toContainEqual(expect.objectContaining({ action: 'endpoints.list', decision: 'deny' }));
  });
});

describe('certificate routes', () => {
  it('let tenant users issue but only tenant admins revoke', async () => {
    const app = createApp(testDeps().deps).callback();
    const revoke = await request(app)
      .delete('/v1/tenants/acme/certificates/0a1b')
      .set(bearer('acme-user-token'));
    expect(revoke.status).toBe(403);
    const byAdmin = await request(app)
      .delete('/v1/tenants/acme/certificates/0a1b')
      .set(bearer('acme-admin-token'));
    expect(byAdmin.status).toBe(404);
  });

  it('answer 503 with Retry-After while the tenant’s CA does not exist yet', async () => {
    const app = createApp(testDeps().deps).callback();
    const response = await request(app)
      .post('/v1/tenants/acme/certificates')
      .set(bearer('acme-user-token'))
      .send({ commonName: 'svc-1' });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
  });

  it('refuse a validity beyond the maximum with 422 naming /validityDays', async () => {
    const app = createApp(testDeps().deps).callback();
    const response = await request(app)
      .post('/v1/tenants/acme/certificates')
      .set(bearer('acme-user-token'))
      .send({ commonName: 'svc-1', validityDays: 4000 });
    expect(response.status).toBe(422);
    expect(response.body.invalidParams).toEqual([expect.objectContaining({ pointer: '/validityDays' })]);
  });
});

describe('certificate issuance limits', () => {
  async function withCa(options: { maxPerTenant?: number; maxPerIssuer?: number } = {}) {
    const ca = await createTenantCa({ tenant: 'acme', now: new Date() });
    const registry = new MemoryCertificateRegistry();
    const { deps, audit } = testDeps({
      certificates: {
        registry,
        ca: { get: async () => ({ certPem: ca.certPem, keyPem: ca.keyPem }) },
        ...options,
      },
    });
    return { app: createApp(deps).callback(), registry, audit };
  }
  const issue = (app: Parameters<typeof request>[0], token: string, commonName: string, extra = {}) =>
    request(app)
      .post('/v1/tenants/acme/certificates')
      .set(bearer(token))
      .send({ commonName, ...extra });

  it('issues for 30 days by default, at most 90, and records who issued it', async () => {
    const { app, registry } = await withCa();
    const issued = await issue(app, 'acme-user-token', 'svc-1');
    expect(issued.status, issued.text).toBe(201);
    const days = (Date.parse(issued.body.notAfter) - Date.parse(issued.body.notBefore)) / 86_400_000;
    expect(Math.round(days)).toBe(30);
    expect(issued.body.issuedBy).toBe('oidc:bob');
    expect((await registry.list('acme'))[0]?.issuedBy).toBe('oidc:bob');
    expect((await issue(app, 'acme-user-token', 'svc-2', { validityDays: 91 })).status).toBe(422);
  });

  it('caps the valid certificates one caller may hold, and a tenant’s in total', async () => {
    const { app } = await withCa({ maxPerIssuer: 2, maxPerTenant: 3 });
    expect((await issue(app, 'acme-user-token', 'a')).status).toBe(201);
    expect((await issue(app, 'acme-user-token', 'b')).status).toBe(201);
    const third = await issue(app, 'acme-user-token', 'c');
    expect(third.status).toBe(409);
    expect(third.body.detail).toMatch(/you have issued 2 valid certificates/);
    expect((await issue(app, 'acme-admin-token', 'c')).status).toBe(201);
    const overTenant = await issue(app, 'acme-admin-token', 'd');
    expect(overTenant.status).toBe(409);
    expect(overTenant.body.detail).toMatch(/the tenant has 3 valid certificates/);
  });

  it('lets a tenant admin revoke every valid certificate a user issued, and only an admin', async () => {
    const { app, registry, audit } = await withCa();
    await issue(app, 'acme-user-token', 'a');
    await issue(app, 'acme-user-token', 'b');
    await issue(app, 'acme-admin-token', 'c');
    const byUser = await request(app)
      .post('/v1/tenants/acme/certificates/revocations')
      .set(bearer('acme-user-token'))
      .send({ issuedBy: 'oidc:bob' });
    expect(byUser.status).toBe(403);
    const byAdmin = await request(app)
      .post('/v1/tenants/acme/certificates/revocations')
      .set(bearer('acme-admin-token'))
      .send({ issuedBy: 'oidc:bob' });
    expect(byAdmin.status, byAdmin.text).toBe(200);
    expect(byAdmin.body.items.map((c: { commonName: string }) => c.commonName).sort()).toEqual(['a', 'b']);
    const records = await registry.list('acme');
    expect(
      records
        .filter((r) => r.revokedAt)
        .map((r) => r.commonName)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(records.find((r) => r.commonName === 'c')?.revokedAt).toBeUndefined();
    expect(audit()).toContainEqual(
      expect.objectContaining({ action: 'certificates.revoke-issuer', decision: 'allow' }),
    );
  });
});
