import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildApp, createApp } from '../../../src/api/app.ts';
import { bearer, testDeps } from './fakes.ts';

const PROBLEM_TYPE = /^application\/problem\+json/;

describe('the API edge', () => {
  it('answers unknown routes with a 404 problem carrying the request id', async () => {
    const { deps } = testDeps();
    const response = await request(createApp(deps).callback())
      .get('/no/such/thing')
      .set(bearer('acme-user-token'))
      .set('X-Request-Id', 'req-123');
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toMatch(PROBLEM_TYPE);
    expect(response.headers['x-request-id']).toBe('req-123');
    expect(response.body).toEqual({
      type: 'https://tenantmesh.io/problems/not-found',
      title: 'Not found',
      status: 404,
      detail: 'no route for GET /no/such/thing',
      instance: '/no/such/thing',
      requestId: 'req-123',
    });
  });

  it('audits every refused credential with where it was used and why, never the token', async () => {
    const { deps, audit, auditLines } = testDeps();
    const app = createApp(deps).callback();
    await request(app)
      .delete('/v1/tenants/acme')
      .set(bearer('stolen-looking-token'))
      .set('X-Request-Id', 'r-1');
    await request(app).get('/v1/tenants');
    expect(audit()).toEqual([
      expect.objectContaining({
        request_id: 'r-1',
        subject: 'system:anonymous',
        tenant: null,
        action: 'authenticate',
        target: 'DELETE /v1/tenants/acme',
        decision: 'deny',
        reason: 'token not accepted',
      }),
      expect.objectContaining({
        action: 'authenticate',
        target: 'GET /v1/tenants',
        decision: 'deny',
      }),
    ]);
    expect(auditLines.join('\n')).not.toContain('stolen-looking-token');
  });

  it('generates a request id when the caller sends none or an unsafe one', async () => {
    const { deps } = testDeps();
    const app = createApp(deps).callback();
    const none = await request(app).get('/healthz');
    expect(none.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await request(app).get('/healthz').set('X-Request-Id', 'a b {"forged": true}');
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a wrong method with 405, an Allow header and a problem body', async () => {
    const { deps } = testDeps();
    const response = await request(createApp(deps).callback()).put('/v1/tenants').set(bearer('admin-token'));
    expect(response.status).toBe(405);
    expect(response.headers['allow']).toContain('GET');
    expect(response.headers['allow']).toContain('POST');
    expect(response.headers['content-type']).toMatch(PROBLEM_TYPE);
    expect(response.body.status).toBe(405);
  });

  it('refuses a body declared larger than the limit with 413 before authenticating', async () => {
    const { deps } = testDeps({ maxBodyBytes: 100 });
    const response = await request(createApp(deps).callback())
      .post('/v1/tenants')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(200) }));
    expect(response.status).toBe(413);
    expect(response.body.type).toBe('https://tenantmesh.io/problems/payload-too-large');
  });

  it('refuses a body that is not JSON with 415 and broken JSON with 400', async () => {
    const { deps } = testDeps();
    const app = createApp(deps).callback();
    const text = await request(app)
      .post('/v1/tenants')
      .set(bearer('admin-token'))
      .set('Content-Type', 'text/plain')
      .send('hi');
    expect(text.status).toBe(415);
    const broken = await request(app)
      .post('/v1/tenants')
      .set(bearer('admin-token'))
      .set('Content-Type', 'application/json')
      .send('{"name": ');
    expect(broken.status).toBe(400);
    expect(broken.body.type).toBe('https://tenantmesh.io/problems/malformed-json');
  });

  it('answers 401 with a Bearer challenge when no token is sent', async () => {
    const { deps } = testDeps();
    const response = await request(createApp(deps).callback()).get('/v1/tenants');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(response.headers['content-type']).toMatch(PROBLEM_TYPE);
  });

  it('turns an unexpected failure into a 500 that leaks nothing and is logged with the request id', async () => {
    const { deps, logLines } = testDeps({
      runtimes: {
        list: async () => {
          throw new Error('connect ECONNREFUSED 10.0.0.1:6443 secret-internal-detail');
        },
      },
    });
    const response = await request(createApp(deps).callback())
      .get('/v1/runtimes')
      .set(bearer('acme-user-token'))
      .set('X-Request-Id', 'req-500');
    expect(response.status).toBe(500);
    expect(JSON.stringify(response.body)).not.toContain('secret-internal-detail');
    expect(response.body.requestId).toBe('req-500');
    expect(logLines.some((line) => line.includes('req-500') && line.includes('secret-internal-detail'))).toBe(
      true,
    );
  });

  it('does not log client errors', async () => {
    const { deps, logLines } = testDeps();
    await request(createApp(deps).callback()).get('/v1/tenants/nope').set(bearer('admin-token'));
    expect(logLines).toEqual([]);
  });
});

describe('health and metrics', () => {
  it('reports live and ready when every probe answers', async () => {
    const { deps } = testDeps();
    const app = createApp(deps).callback();
    expect((await request(app).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual(['apiserver', 'storage']);
  });

  it('answers /readyz with a 503 problem naming the failing dependency', async () => {
    const { deps } = testDeps({
      readiness: {
        apiserver: async () => undefined,
        storage: async () => {
          throw new Error('bucket listing refused');
        },
      },
    });
    const response = await request(createApp(deps).callback()).get('/readyz');
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toMatch(PROBLEM_TYPE);
    expect(response.body.detail).toBe('not ready: storage');
  });

  it('keeps the backend’s error text out of /readyz and logs it instead', async () => {
    const { deps, logLines } = testDeps({
      readiness: {
        apiserver: async () => {
          throw new Error('connect ECONNREFUSED 10.0.0.7:6443');
        },
        storage: async () => undefined,
      },
    });
    const response = await request(createApp(deps).callback()).get('/readyz');
    expect(response.status).toBe(503);
    expect(response.text).not.toContain('10.0.0.7');
    expect(response.text).not.toContain('ECONNREFUSED');
    expect(logLines.join('\n')).toContain('ECONNREFUSED 10.0.0.7:6443');
  });

  it('runs the readiness probes at most once per interval, however many callers ask', async () => {
    let probed = 0;
    const { deps } = testDeps({
      readiness: {
        apiserver: async () => {
          probed++;
        },
      },
      readinessTtlMs: 60_000,
    });
    const app = createApp(deps).callback();
    const answers = await Promise.all(Array.from({ length: 20 }, () => request(app).get('/readyz')));
    await request(app).get('/readyz');
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(probed).toBe(1);
  });

  it('labels request metrics by route template, not by raw path', async () => {
    const { deps } = testDeps();
    const app = createApp(deps).callback();
    await request(app).get('/v1/tenants/acme').set(bearer('acme-user-token'));
    await request(app).get('/v1/tenants/zzz-unknown').set(bearer('admin-token'));
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toContain(
      'tenantmesh_api_requests_total{method="GET",route="/v1/tenants/:tenant",status="200"} 1',
    );
    expect(metrics.text).toContain(
      'tenantmesh_api_requests_total{method="GET",route="/v1/tenants/:tenant",status="404"} 1',
    );
    expect(metrics.text).not.toContain('route="/v1/tenants/acme"');
  });

  it('keeps metrics apart between two apps in one process', async () => {
    const first = buildApp(testDeps().deps);
    const second = buildApp(testDeps().deps);
    await request(first.app.callback()).get('/healthz');
    const text = await second.metrics.registry.metrics();
    expect(text).not.toContain('route="/healthz"');
  });
});
