import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.ts';
import { bearer, testDeps } from './fakes.ts';

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
