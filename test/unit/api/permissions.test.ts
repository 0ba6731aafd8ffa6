import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.ts';
import { bearer, testDeps } from './fakes.ts';

describe('permissions', () => {
  it('tells a platform admin they may list and create tenants, and a tenant user they may do neither', async () => {
    const app = createApp(testDeps().deps).callback();
    const admin = await request(app).get('/v1/permissions').set(bearer('admin-token'));
    const user = await request(app).get('/v1/permissions').set(bearer('acme-user-token'));
    expect(admin.body).toEqual({ tenants: { list: true, create: true } });
    expect(user.body).toEqual({ tenants: { list: false, create: false } });
  });

  it("answers a tenant user with exactly the verbs RBAC grants them on their tenant's parts", async () => {
    const app = createApp(testDeps().deps).callback();
    const response = await request(app).get('/v1/tenants/acme/permissions').set(bearer('acme-user-token'));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      tenant: 'acme',
      tenantActions: { get: true, patch: false, delete: false },
      access: { list: true, get: true, create: false, patch: false, delete: false },
      models: { list: true, get: true, create: true, patch: true, delete: true },
      endpoints: { list: true, get: true, create: true, patch: true, delete: true },
      certificates: { list: true, get: true, create: true, patch: false, delete: false },
    });
  });

  it('gives a tenant admin every part but not the tenant itself', async () => {
    const app = createApp(testDeps().deps).callback();
    const response = await request(app).get('/v1/tenants/acme/permissions').set(bearer('acme-admin-token'));
    expect(response.body.tenantActions).toEqual({ get: true, patch: false, delete: false });
    expect(response.body.access).toEqual({ list: true, get: true, create: true, patch: true, delete: true });
  });

  it('hides a tenant the caller may not see behind the same 404 as every other route', async () => {
    const app = createApp(testDeps().deps).callback();
    const hidden = await request(app).get('/v1/tenants/acme/permissions').set(bearer('outsider-token'));
    const absent = await request(app).get('/v1/tenants/nothere/permissions').set(bearer('admin-token'));
    expect(hidden.status).toBe(404);
    expect(hidden.body.detail).toBe('tenant "acme" not found');
    expect(absent.status).toBe(404);
  });

  it('refuses callers without a token', async () => {
    const app = createApp(testDeps().deps).callback();
    expect((await request(app).get('/v1/permissions')).status).toBe(401);
  });
});
