import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.ts';
import { registryHostResolver } from '../../../src/api/registry-hosts.ts';
import type { SubjectAccessReviewRequest } from '../../../src/auth/authorize.ts';
import { createRegistryAccess } from '../../../src/auth/registry-access.ts';
import { platformConfig, type Tenant } from '../../../src/domain/index.ts';
import type { RegistryRepository } from '../../../src/registry/repository.ts';
import { bearer, IDENTITIES, testDeps } from './fakes.ts';

const platform = platformConfig();
const tenant = (name: string, hostname?: string): Tenant =>
  ({ metadata: { name }, spec: { ...(hostname ? { hostname } : {}) } }) as unknown as Tenant;

describe('which tenant a registry request is for', () => {
  const resolve = registryHostResolver(
    async () => [tenant('acme'), tenant('beta', 'models.beta.example')],
    platform,
  );

  it.each([
    ['acme.tenantmesh-serving.svc', 'acme'],
    ['acme.tenantmesh-serving.svc.cluster.local', 'acme'],
    ['registry.acme.models.example.com', 'acme'],
    ['REGISTRY.ACME.MODELS.EXAMPLE.COM.', 'acme'],
    ['registry.models.beta.example', 'beta'],
    ['registry.beta.models.example.com', undefined],
    ['acme.other-namespace.svc', undefined],
    ['127.0.0.1', undefined],
  ])('%s is the registry of %s', async (host, expected) => {
    expect(await resolve(host)).toBe(expected);
  });
});

describe('who may use a registry', () => {
  it('asks RBAC for get on the tenant registry Service in the serving namespace, once per TTL', async () => {
    const asked: SubjectAccessReviewRequest[] = [];
    const access = createRegistryAccess(
      { review: async (r) => (asked.push(r), { allowed: r.groups.includes('acme-users') }) },
      { namespace: 'tenantmesh-serving', serviceName: (t) => t },
    );
    const ann = { kind: 'oidc' as const, username: 'ann', groups: ['acme-users'], extra: {} };
    expect((await access.check(ann, 'acme')).allowed).toBe(true);
    expect((await access.check(ann, 'acme')).allowed).toBe(true);
    expect((await access.check({ ...ann, groups: ['beta-users'] }, 'acme')).allowed).toBe(false);
    expect(asked).toHaveLength(2);
    expect(asked[0]!.resourceAttributes).toEqual({
      group: '',
      namespace: 'tenantmesh-serving',
      resource: 'services',
      name: 'acme',
      verb: 'get',
    });
  });
});

describe('the registry gate', () => {
  const allowed = new Set(['oidc:root:acme']);
  const { app } = buildApp(
    testDeps({
      registry: {
        repository: {} as RegistryRepository,
        tenantForHost: async (host) => (host === 'acme.tenantmesh-serving.svc' ? 'acme' : undefined),
        access: async (identity, t) => ({
          allowed: allowed.has(`${identity.username}:${t}`),
          reason: 'test',
        }),
      },
    }).deps,
  );
  const callback = app.callback();
  const path = '/api/model_registry/v1/registered_models';

  it('refuses anonymous callers with 401 before anything else', async () => {
    const response = await request(callback).get(path).set('Host', 'acme.tenantmesh-serving.svc');
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ code: '401' });
  });

  it('answers 404 {code, message} for a host that serves no registry', async () => {
    const response = await request(callback)
      .get(path)
      .set('Host', 'elsewhere.example')
      .set(bearer('admin-token'));
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({
      code: '404',
      message: expect.stringContaining('no model registry'),
    });
  });

  it('refuses a caller without access with 403 before validating the body', async () => {
    const someoneElse = Object.keys(IDENTITIES).find((token) => IDENTITIES[token]!.username !== 'oidc:root')!;
    const response = await request(callback)
      .post(path)
      .set('Host', 'acme.tenantmesh-serving.svc')
      .set(bearer(someoneElse))
      .send({ not: 'valid' });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('403');
  });

  it('validates the body of an admitted caller with 400 {code, message}', async () => {
    const response = await request(callback)
      .post(path)
      .set('Host', 'acme.tenantmesh-serving.svc')
      .set(bearer('admin-token'))
      .send({ not: 'valid' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: '400', message: expect.any(String) });
  });
});
