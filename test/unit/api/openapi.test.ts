import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.ts';
import { toOpenApiPath } from '../../../src/api/openapi.ts';
import { bearer, testDeps } from './fakes.ts';

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
});
