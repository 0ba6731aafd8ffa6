import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { Client } from 'minio';
import pino from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ForbiddenError } from '../../../src/domain/errors.ts';
import { modelsRouter, type ModelsRouterDeps } from '../../../src/api/routes/models.ts';
import { problemEdge } from '../../../src/api/problem.ts';
import { createModelStore, type ModelStore, type ModelStoreConfig } from '../../../src/storage/store.ts';

type S3Endpoint = Pick<ModelStoreConfig, 'endPoint' | 'port' | 'useSSL' | 'accessKey' | 'secretKey'>;

/** The real MinIO the global setup started. */
const s3Endpoint = (): S3Endpoint => inject('env').s3;

const MIB = 1024 * 1024;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('models API over a real MinIO', () => {
  let store: ModelStore;
  let root: Client;
  let server: http.Server;
  let app: Koa;
  const tenant = `api-${randomBytes(4).toString('hex')}`;
  const inUse = new Set<string>();
  const decisions: string[] = [];
  const audited: string[] = [];
  /** Resolves when the server has finished handling a request (even one whose client went away). */
  let requestsSettled: Array<() => void> = [];
  const base = `/v1/tenants/${tenant}/models`;

  async function allObjects(): Promise<string[]> {
    const names: string[] = [];
    for await (const item of root.listObjects(`tenantmesh-${tenant}`, '', true))
      names.push((item as { name: string }).name);
    return names;
  }

  function nextSettled(): Promise<void> {
    return new Promise((resolve) => requestsSettled.push(resolve));
  }

  beforeAll(async () => {
    const endpoint = s3Endpoint();
    store = createModelStore(endpoint);
    root = new Client({ ...endpoint, region: 'us-east-1' });
    await store.ensureBucket(tenant);
    const deps: ModelsRouterDeps = {
      store,
      async authorize(ctx, forTenant, verb, subresource) {
        decisions.push(`${verb} ${forTenant}/${subresource}`);
        if (ctx.get('X-Test-Deny') !== '') throw new ForbiddenError(`may not ${verb} ${subresource}`);
      },
      async isVersionInUse(forTenant, model, version) {
        return inUse.has(`${forTenant}/${model}/${version}`) ? ['frontend'] : [];
      },
      audit(_ctx, event) {
        audited.push(`${event.action} ${event.target}`);
      },
      maxSinglePutBytes: 64 * MIB,
    };
    app = new Koa();
    app.silent = true;
    app.use(async (_ctx, next) => {
      try {
        await next();
      } finally {
        const waiting = requestsSettled;
        requestsSettled = [];
        for (const resolve of waiting) resolve();
      }
    });
    app.use(problemEdge(pino({ level: 'silent' })));
    const router = modelsRouter(deps);
    app.use(router.routes()).use(router.allowedMethods());
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await store.removeBucket(tenant, { purge: true });
  });

  it('uploads a version in one request and lists, reads and downloads it', async () => {
    const data = randomBytes(MIB + 17);
    const put = await request(server)
      .put(`${base}/resnet/versions/1/files/model.onnx`)
      .set('Content-Type', 'application/octet-stream')
      .set('X-Checksum-Sha256', sha256(data))
      .send(data);
    expect(put.status).toBe(201);
    expect(put.headers['location']).toBe(`${base}/resnet/versions/1`);
    expect(put.body.files).toEqual([{ name: 'model.onnx', size: data.length, sha256: sha256(data) }]);
    expect(audited).toContain(`models.upload tenants/${tenant}/models/resnet/versions/1`);

    const models = await request(server).get(base);
    expect(models.status).toBe(200);
    expect(models.body.items).toMatchObject([{ name: 'resnet', versions: 1 }]);
    const versions = await request(server).get(`${base}/resnet/versions`);
    expect(versions.body.items.map((v: { version: string }) => v.version)).toEqual(['1']);
    expect((await request(server).get(`${base}/resnet/versions/1`)).body.files[0].sha256).toBe(sha256(data));

    const download = await request(server)
      .get(`${base}/resnet/versions/1/files/model.onnx`)
      .buffer(true)
      .parse(binary);
    expect(download.status).toBe(200);
    expect(download.headers['x-checksum-sha256']).toBe(sha256(data));
    expect(download.headers['accept-ranges']).toBe('bytes');
    expect(Buffer.compare(download.body as Buffer, data)).toBe(0);
  });

  it('answers a byte range with 206 and Content-Range, and an impossible one with 416', async () => {
    const data = Buffer.from('abcdefghij');
    await request(server).put(`${base}/ranged/versions/1/files/f.bin`).send(data).expect(201);
    const partial = await request(server)
      .get(`${base}/ranged/versions/1/files/f.bin`)
      .set('Range', 'bytes=3-5')
      .buffer(true)
      .parse(binary);
    expect(partial.status).toBe(206);
    expect(partial.headers['content-range']).toBe('bytes 3-5/10');
    expect((partial.body as Buffer).toString()).toBe('def');

    const outside = await request(server)
      .get(`${base}/ranged/versions/1/files/f.bin`)
      .set('Range', 'bytes=50-');
    expect(outside.status).toBe(416);
    expect(outside.headers['content-range']).toBe('bytes */10');
    expect(outside.headers['content-type']).toContain('application/problem+json');
  });

  it('answers 409 for a second upload of an existing version and 422 for a checksum mismatch', async () => {
    await request(server).put(`${base}/dup/versions/1/files/a.bin`).send(Buffer.from('one')).expect(201);
    const again = await request(server).put(`${base}/dup/versions/1/files/a.bin`).send(Buffer.from('two'));
    expect(again.status).toBe(409);
    expect(again.body.type).toContain('conflict');

    const mismatch = await request(server)
      .put(`${base}/dup/versions/2/files/a.bin`)
      .set('X-Checksum-Sha256', sha256(Buffer.from('something else')))
      .send(Buffer.from('two'));
    expect(mismatch.status).toBe(422);
    expect((await request(server).get(`${base}/dup/versions/2`)).status).toBe(404);
  });

  it('rejects malformed input with a 4xx that says what is wrong', async () => {
    const badChecksum = await request(server)
      .put(`${base}/bad/versions/1/files/a.bin`)
      .set('X-Checksum-Sha256', 'nope')
      .send(Buffer.from('x'));
    expect(badChecksum.status).toBe(400);
    expect(badChecksum.body.invalidParams).toEqual([
      { parameter: 'X-Checksum-Sha256', reason: expect.any(String) },
    ]);

    const badName = await request(server)
      .put(`${base}/Bad..Name/versions/1/files/a.bin`)
      .send(Buffer.from('x'));
    expect(badName.status).toBe(422);
    expect(badName.body.invalidParams).toEqual([{ pointer: 'model', reason: expect.any(String) }]);

    const tooLarge = await request(server)
      .put(`${base}/bad/versions/1/files/a.bin`)
      .set('Content-Length', String(65 * MIB))
      .send(Buffer.alloc(0))
      .catch((error: { response?: request.Response }) => error.response);
    expect(tooLarge?.status).toBe(413);

    const badPart = await request(server)
      .put(`${base}/bad/versions/1/uploads/${'a'.repeat(32)}/parts/0`)
      .send(Buffer.from('x'));
    expect(badPart.status).toBe(400);
  });

  it('checks authorization before reading anything, with the verb of the operation', async () => {
    decisions.length = 0;
    const denied = await request(server)
      .put(`${base}/secret/versions/1/files/a.bin`)
      .set('X-Test-Deny', 'yes')
      .send(Buffer.from('x'));
    expect(denied.status).toBe(403);
    expect(decisions).toEqual([`create ${tenant}/models`]);
    expect((await request(server).get(`${base}/secret/versions`)).status).toBe(404);
    await request(server).get(base).set('X-Test-Deny', 'yes').expect(403);
    expect(decisions).toContain(`list ${tenant}/models`);
  });

  it('refuses to delete a version an endpoint serves, and deletes it once it is free', async () => {
    await request(server).put(`${base}/served/versions/1/files/a.bin`).send(Buffer.from('x')).expect(201);
    inUse.add(`${tenant}/served/1`);
    const blocked = await request(server).delete(`${base}/served/versions/1`);
    expect(blocked.status).toBe(409);
    expect(blocked.body.detail).toContain('frontend');
    inUse.delete(`${tenant}/served/1`);
    await request(server).delete(`${base}/served/versions/1`).expect(204);
    await request(server).get(`${base}/served/versions/1`).expect(404);
    await request(server).delete(`${base}/served/versions/1`).expect(404);
  });

  it('runs a multipart session over HTTP: start, parts, list to resume, complete', async () => {
    const parts = [randomBytes(5 * MIB), randomBytes(1000)];
    const whole = Buffer.concat(parts);
    const started = await request(server)
      .post(`${base}/big/versions/1/uploads`)
      .send({ file: 'weights.bin', size: whole.length, sha256: sha256(whole) });
    expect(started.status).toBe(201);
    const uploadId = started.body.uploadId as string;
    expect(started.headers['location']).toBe(`${base}/big/versions/1/uploads/${uploadId}`);
    expect(started.body).not.toHaveProperty('s3UploadId');

    const first = await request(server)
      .put(`${base}/big/versions/1/uploads/${uploadId}/parts/1`)
      .send(parts[0]);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ partNumber: 1, size: 5 * MIB });
    const status = await request(server).get(`${base}/big/versions/1/uploads/${uploadId}`);
    expect(status.body.parts.map((p: { partNumber: number }) => p.partNumber)).toEqual([1]);
    await request(server)
      .put(`${base}/big/versions/1/uploads/${uploadId}/parts/2`)
      .send(parts[1])
      .expect(200);

    const done = await request(server).post(`${base}/big/versions/1/uploads/${uploadId}/complete`).send({});
    expect(done.status).toBe(201);
    expect(done.body.files).toEqual([{ name: 'weights.bin', size: whole.length, sha256: sha256(whole) }]);
    await request(server).get(`${base}/big/versions/1/uploads/${uploadId}`).expect(404);
  });

  it('aborts a session on DELETE and forgets it', async () => {
    const started = await request(server)
      .post(`${base}/aborted/versions/1/uploads`)
      .send({ file: 'a.bin' })
      .expect(201);
    const uploadId = started.body.uploadId as string;
    await request(server)
      .put(`${base}/aborted/versions/1/uploads/${uploadId}/parts/1`)
      .send(Buffer.from('x'))
      .expect(200);
    decisions.length = 0;
    await request(server).delete(`${base}/aborted/versions/1/uploads/${uploadId}`).expect(204);
    expect(decisions).toEqual([`delete ${tenant}/models`]);
    await request(server).get(`${base}/aborted/versions/1/uploads/${uploadId}`).expect(404);
  });

  it('removes staged data when the client disconnects mid-upload, and publishes nothing', async () => {
    const before = (await allObjects()).filter((name) => !name.startsWith('models/'));
    const settled = nextSettled();
    await sendHalfAndHangUp(`${base}/cut/versions/1/files/a.bin`, 16 * MIB, 2 * MIB);
    await settled;
    expect((await allObjects()).filter((name) => !name.startsWith('models/'))).toEqual(before);
    await request(server).get(`${base}/cut/versions/1`).expect(404);
    await request(server).get(`${base}/cut/versions`).expect(404);
  });

  it('keeps a session resumable when a part upload is cut off, storing nothing of that part', async () => {
    const started = await request(server)
      .post(`${base}/cutpart/versions/1/uploads`)
      .send({ file: 'a.bin' })
      .expect(201);
    const uploadId = started.body.uploadId as string;
    const settled = nextSettled();
    await sendHalfAndHangUp(`${base}/cutpart/versions/1/uploads/${uploadId}/parts/1`, 8 * MIB, MIB);
    await settled;
    const status = await request(server).get(`${base}/cutpart/versions/1/uploads/${uploadId}`).expect(200);
    expect(status.body.parts).toEqual([]);
    await request(server).delete(`${base}/cutpart/versions/1/uploads/${uploadId}`).expect(204);
  });

  /** Declares `declared` bytes, sends `sent`, then drops the connection. */
  async function sendHalfAndHangUp(path: string, declared: number, sent: number): Promise<void> {
    const { port } = server.address() as AddressInfo;
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      method: 'PUT',
      headers: { 'content-length': String(declared), 'content-type': 'application/octet-stream' },
    });
    req.on('error', () => undefined);
    await new Promise<void>((resolve) => req.write(Buffer.alloc(sent, 1), () => resolve()));
    req.destroy();
  }
});

/** supertest parser that keeps a binary body as a Buffer. */
function binary(res: request.Response, callback: (error: Error | null, body: Buffer) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => callback(null, Buffer.concat(chunks)));
}
