import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.ts';
import { toOpenApiPath } from '../../../src/api/openapi.ts';
import type { RegistryRepository } from '../../../src/registry/repository.ts';
import { bearer, testDeps } from './fakes.ts';

/** Registry deps for documentation: no host names a registry, so no handler reaches the repository. */
const documentedRegistry = {
  repository: {} as RegistryRepository,
  tenantForHost: async () => undefined,
  access: async () => ({ allowed: false, reason: 'test' }),
};

describe('the OpenAPI document', () => {
  it('documents exactly the routes the app serves', async () => {
    const { app, routes } = buildApp(testDeps().deps);
    const response = await request(app.callback()).get('/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    const documented = Object.entries(response.body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    const served = routes.map((r) => `${r.method} ${toOpenApiPath(r.path)}`).sort();
    expect(documented).toEqual(served);
  });

  it('serves every documented operation (no documented route answers 404 or 405)', async () => {
    const { app, routes } = buildApp(testDeps().deps);
    const callback = app.callback();
    for (const route of routes) {
      const path = route.path.replace(/:([A-Za-z]+)/g, (_, name: string) =>
        name === 'kind' ? 'User' : name === 'role' ? 'users' : 'acme',
      );
      const response = await request(callback)[route.method](path).set(bearer('admin-token'));
      const unrouted = response.status === 405 || String(response.body.detail).startsWith('no route');
      expect(unrouted, `${route.method} ${path} is documented but not served`).toBe(false);
    }
  });

  it('describes request bodies and path parameters from the zod schemas', async () => {
    const { app } = buildApp(testDeps().deps);
    const document = (await request(app.callback()).get('/openapi.json')).body;
    const create = document.paths['/v1/tenants'].post;
    expect(create.requestBody.content['application/json'].schema.required).toContain('name');
    expect(create.requestBody.content['application/json'].schema.properties.name.maxLength).toBe(40);
    const get = document.paths['/v1/tenants/{tenant}'].get;
    expect(get.parameters).toEqual([expect.objectContaining({ name: 'tenant', in: 'path', required: true })]);
    expect(document.paths['/healthz'].get.security).toEqual([]);
  });

  it('documents the model registry API under both path prefixes, with its bodies and query parameters', async () => {
    const { app, routes } = buildApp(testDeps({ registry: documentedRegistry }).deps);
    const document = (await request(app.callback()).get('/openapi.json')).body;
    for (const prefix of ['/api/model_registry/v1', '/api/model_registry/v1alpha3']) {
      const create = document.paths[`${prefix}/registered_models`].post;
      expect(create.requestBody.content['application/json'].schema.required).toContain('name');
      const list = document.paths[`${prefix}/registered_models`].get;
      expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['filterQuery', 'pageSize', 'orderBy', 'sortOrder', 'nextPageToken']),
      );
      expect(document.paths[`${prefix}/model_versions/{id}/artifacts`].post).toBeDefined();
      expect(document.paths[`${prefix}/registered_models/{id}`].delete).toBeUndefined();
    }
    const documented = Object.keys(document.paths).filter((path) => path.startsWith('/api/model_registry/'));
    expect(documented.length).toBe(
      new Set(routes.filter((r) => r.path.startsWith('/api/')).map((r) => r.path)).size,
    );
  });
});
