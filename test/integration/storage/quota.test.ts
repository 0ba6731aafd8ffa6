import { randomBytes } from 'node:crypto';
import http from 'node:http';
import Koa from 'koa';
import pino from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { problemEdge } from '../../../src/api/problem.ts';
import { modelsRouter } from '../../../src/api/routes/models.ts';
import { startUploadJanitor } from '../../../src/api/upload-janitor.ts';
import { createModelStore, type ModelStore } from '../../../src/storage/store.ts';
import { waitFor } from '../../../src/testenv/wait.ts';

const MIB = 1024 * 1024;

describe('a tenant’s storage quota and upload sessions over a real MinIO', () => {
  const tenant = `quota-${randomBytes(4).toString('hex')}`;
  const base = `/v1/tenants/${tenant}/models`;
  let store: ModelStore;
  let server: http.Server;
  // 4 MiB of data plus room for the small manifests, which count too.
  let quota: number | undefined = 4 * MIB + 64 * 1024;

  beforeAll(async () => {
    store = createModelStore(inject('env').s3);
    await store.ensureBucket(tenant);
    const app = new Koa();
    app.silent = true;
    app.use(problemEdge(pino({ level: 'silent' })));
    const router = modelsRouter({
      store,
      authorize: async () => undefined,
      isVersionInUse: async () => [],
      storageQuota: async () => quota,
      maxOpenUploads: 3,
    });
    app.use(router.routes()).use(router.allowedMethods());
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await store.removeBucket(tenant, { purge: true });
  });

  const put = (version: string, bytes: number) =>
    request(server)
      .put(`${base}/m/versions/${version}/files/m.bin`)
      .set('Content-Type', 'application/octet-stream')
      .send(randomBytes(bytes));
  const start = (version: string, size?: number) =>
    request(server)
      .post(`${base}/m/versions/${version}/uploads`)
      .send({ file: 'm.bin', ...(size === undefined ? {} : { size }) });

  it('refuses a single upload that would take the tenant past storageBytes, and publishes nothing', async () => {
    expect((await put('1', 3 * MIB)).status).toBe(201);
    const over = await put('2', 2 * MIB);
    expect(over.status).toBe(409);
    expect(over.body.detail).toMatch(/storageBytes/);
    expect(
      (await request(server).get(`${base}/m/versions`)).body.items.map((v: { version: string }) => v.version),
    ).toEqual(['1']);
  });

  it('asks for a Content-Length when the body’s size is unknown and a quota applies', async () => {
    const chunked = await new Promise<number>((resolve, reject) => {
      const address = server.address() as { port: number };
      const req = http.request(
        {
          host: '127.0.0.1',
          port: address.port,
          method: 'PUT',
          path: `${base}/m/versions/3/files/m.bin`,
          headers: { 'content-type': 'application/octet-stream' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(randomBytes(1024));
      req.end();
    });
    expect(chunked).toBe(411);
  });

  it('makes a session declare its size at start, reserves it, and holds every part to it', async () => {
    expect((await start('4')).status).toBe(422);
    const tooBig = await start('4', 2 * MIB);
    expect(tooBig.status).toBe(409);
    const session = await start('4', MIB);
    expect(session.status, session.text).toBe(201);
    const uploadId = session.body.uploadId as string;
    // What the quota counts is what the tenant is shown: the published bytes and the session's reservation.
    const usage = await request(server).get(`/v1/tenants/${tenant}/storage`);
    expect(usage.status, usage.text).toBe(200);
    expect(usage.body).toMatchObject({ reservedBytes: MIB, openUploads: 1, quotaBytes: quota });
    expect(usage.body.publishedBytes).toBeGreaterThanOrEqual(3 * MIB);
    expect(usage.body.usedBytes).toBe(usage.body.publishedBytes + MIB);
    // The reservation counts: another MiB would pass the 4 MiB quota (3 published + 1 reserved).
    expect((await put('5', 512 * 1024)).status).toBe(409);
    const part = (n: number, bytes: number) =>
      request(server)
        .put(`${base}/m/versions/4/uploads/${uploadId}/parts/${n}`)
        .set('Content-Type', 'application/octet-stream')
        .send(randomBytes(bytes));
    const oversized = await part(1, 2 * MIB);
    expect(oversized.status).toBe(409);
    expect((await part(1, MIB)).status).toBe(200);
    expect((await part(2, 1)).status).toBe(409);
    const done = await request(server).post(`${base}/m/versions/4/uploads/${uploadId}/complete`).send({});
    expect(done.status, done.text).toBe(201);
    const after = (await request(server).get(`/v1/tenants/${tenant}/storage`)).body;
    expect(after).toMatchObject({ reservedBytes: 0, openUploads: 0 });
    expect(after.publishedBytes).toBeGreaterThanOrEqual(4 * MIB);
  });

  it('caps the open sessions of a tenant, and the scheduled sweep frees abandoned ones', async () => {
    quota = undefined;
    for (const version of ['6', '7', '8']) expect((await start(version)).status).toBe(201);
    const fourth = await start('9');
    expect(fourth.status).toBe(409);
    expect(fourth.body.detail).toMatch(/open upload sessions/);
    const stop = startUploadJanitor(
      { tenantNames: async () => [tenant], store, logger: pino({ level: 'silent' }) },
      { staleAfterMs: 1, intervalMs: 200 },
    );
    try {
      await waitFor(async () => (await store.usage(tenant)).openUploads.length === 0, {
        description: 'the janitor to remove the abandoned sessions',
        timeoutMs: 20_000,
      });
    } finally {
      stop();
    }
    expect((await start('9')).status).toBe(201);
  });
});
