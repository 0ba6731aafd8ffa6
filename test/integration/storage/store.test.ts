import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { Readable } from 'node:stream';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NotFoundError } from '../../../src/domain/errors.ts';
import { createModelStore, type ModelStore, type ModelStoreConfig } from '../../../src/storage/store.ts';

type S3Endpoint = Pick<ModelStoreConfig, 'endPoint' | 'port' | 'useSSL' | 'accessKey' | 'secretKey'>;

/** The real MinIO the global setup started. */
const s3Endpoint = (): S3Endpoint => inject('env').s3;

const MIB = 1024 * 1024;
const sha256 = (...chunks: Buffer[]): string => {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
};
const newTenant = (): string => `st-${randomBytes(5).toString('hex')}`;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A body that sends `sent` bytes and then fails, like a client whose connection drops. */
function interruptedBody(sent: number): Readable {
  let pushed = false;
  return new Readable({
    read() {
      if (!pushed) {
        pushed = true;
        this.push(Buffer.alloc(sent, 7));
      } else {
        this.destroy(new Error('client went away'));
      }
    },
  });
}

describe('model store against a real MinIO', () => {
  let endpoint: S3Endpoint;
  let store: ModelStore;
  let root: Client;
  const tenants: string[] = [];

  async function freshTenant(): Promise<string> {
    const tenant = newTenant();
    tenants.push(tenant);
    await store.ensureBucket(tenant);
    return tenant;
  }

  async function allObjects(tenant: string): Promise<string[]> {
    const names: string[] = [];
    for await (const item of root.listObjects(`tenantmesh-${tenant}`, '', true)) {
      if ((item as { name?: string }).name) names.push((item as { name: string }).name);
    }
    return names.sort();
  }

  async function incompleteUploads(tenant: string): Promise<number> {
    let count = 0;
    for await (const _upload of root.listIncompleteUploads(`tenantmesh-${tenant}`, '', true)) count += 1;
    return count;
  }

  beforeAll(() => {
    endpoint = s3Endpoint();
    store = createModelStore(endpoint);
    root = new Client({ ...endpoint, region: 'us-east-1' });
  });

  afterAll(async () => {
    for (const tenant of tenants) await store.removeBucket(tenant, { purge: true });
  });

  it('creates the tenant bucket idempotently and removes it with everything in it', async () => {
    const tenant = newTenant();
    await store.ensureBucket(tenant);
    await store.ensureBucket(tenant);
    await store.putVersionFile(tenant, 'm', '1', 'a.bin', Readable.from([Buffer.from('x')]), { size: 1 });
    await store.removeBucket(tenant, { purge: true });
    expect(await root.bucketExists(`tenantmesh-${tenant}`)).toBe(false);
    await store.removeBucket(tenant, { purge: true });
  });

  it('refuses to remove a bucket that still holds models unless told to purge', async () => {
    const tenant = await freshTenant();
    await store.putVersionFile(tenant, 'm', '1', 'a.bin', Readable.from([Buffer.from('x')]), { size: 1 });
    await expect(store.removeBucket(tenant)).rejects.toMatchObject({ code: 'Conflict' });
  });

  it('stores and serves a zero-byte file, with the SHA-256 of nothing', async () => {
    const tenant = await freshTenant();
    const manifest = await store.putVersionFile(tenant, 'empty', '1', 'empty.bin', Readable.from([]), {
      size: 0,
      sha256: sha256(),
    });
    expect(manifest.files).toEqual([{ name: 'empty.bin', size: 0, sha256: sha256() }]);
    const download = await store.download(tenant, 'empty', '1', 'empty.bin');
    expect(download.size).toBe(0);
    expect((await readAll(download.stream)).length).toBe(0);
  });

  it('stores a body of unknown length (chunked) with a computed checksum', async () => {
    const tenant = await freshTenant();
    const parts = [randomBytes(MIB), randomBytes(3 * MIB)];
    const manifest = await store.putVersionFile(tenant, 'chunked', '1', 'w.bin', Readable.from(parts));
    expect(manifest.files[0]).toEqual({ name: 'w.bin', size: 4 * MIB, sha256: sha256(...parts) });
    expect(await readAll((await store.download(tenant, 'chunked', '1', 'w.bin')).stream)).toEqual(
      Buffer.concat(parts),
    );
  });

  it('cuts a body of unknown length into parts where the chunks do not line up with them', async () => {
    const tenant = await freshTenant();
    const small = createModelStore({ ...endpoint, bufferedPartBytes: 5 * MIB });
    // Parts of 5, 5 and 3 MiB + 1 byte, every boundary inside a chunk.
    const chunks = [
      randomBytes(3 * MIB),
      randomBytes(3 * MIB),
      randomBytes(3 * MIB),
      randomBytes(4 * MIB + 1),
    ];
    const manifest = await small.putVersionFile(tenant, 'chunked', '1', 'w.bin', Readable.from(chunks));
    expect(manifest.files[0]).toEqual({ name: 'w.bin', size: 13 * MIB + 1, sha256: sha256(...chunks) });
    expect(await readAll((await store.download(tenant, 'chunked', '1', 'w.bin')).stream)).toEqual(
      Buffer.concat(chunks),
    );
  });

  it('lists models and versions and serves byte ranges of a published file', async () => {
    const tenant = await freshTenant();
    const data = Buffer.from('0123456789');
    await store.putVersionFile(tenant, 'resnet', '1', 'model.onnx', Readable.from([data]), {
      size: data.length,
    });
    await store.putVersionFile(tenant, 'resnet', '2', 'model.onnx', Readable.from([data]), {
      size: data.length,
    });
    await store.putVersionFile(tenant, 'bert', 'v1', 'model.pt', Readable.from([data]), {
      size: data.length,
    });

    expect((await store.listModels(tenant)).map((m) => [m.name, m.versions])).toEqual([
      ['bert', 1],
      ['resnet', 2],
    ]);
    expect((await store.listVersions(tenant, 'resnet')).map((v) => v.version)).toEqual(['1', '2']);
    await expect(store.listVersions(tenant, 'nothing')).rejects.toBeInstanceOf(NotFoundError);

    const ranged = await store.download(tenant, 'resnet', '2', 'model.onnx', { range: 'bytes=2-5' });
    expect((await readAll(ranged.stream)).toString()).toBe('2345');
    expect(ranged.range?.contentRange).toBe('bytes 2-5/10');
    await expect(
      store.download(tenant, 'resnet', '2', 'model.onnx', { range: 'bytes=10-' }),
    ).rejects.toMatchObject({
      name: 'RangeNotSatisfiable',
      size: 10,
    });
    await expect(store.download(tenant, 'resnet', '2', 'other.bin')).rejects.toMatchObject({
      code: 'NotFound',
    });
    await expect(store.download(tenant, 'resnet', '9', 'model.onnx')).rejects.toMatchObject({
      code: 'NotFound',
    });
  });

  it('rejects a checksum mismatch and stores nothing', async () => {
    const tenant = await freshTenant();
    const data = randomBytes(2 * MIB);
    await expect(
      store.putVersionFile(tenant, 'm', '1', 'a.bin', Readable.from([data]), {
        size: data.length,
        sha256: sha256(Buffer.from('other')),
      }),
    ).rejects.toMatchObject({ code: 'Invalid', message: expect.stringContaining('checksum mismatch') });
    await expect(store.getManifest(tenant, 'm', '1')).rejects.toBeInstanceOf(NotFoundError);
    expect(await allObjects(tenant)).toEqual([]);
  });

  it('publishes no version and keeps no bytes when the upload is interrupted', async () => {
    const tenant = await freshTenant();
    await expect(
      store.putVersionFile(tenant, 'm', '1', 'a.bin', interruptedBody(MIB), { size: 8 * MIB }),
    ).rejects.toThrow();
    await expect(store.putVersionFile(tenant, 'm', '1', 'a.bin', interruptedBody(MIB))).rejects.toThrow();
    expect(await store.listModels(tenant)).toEqual([]);
    expect(await allObjects(tenant)).toEqual([]);
    expect(await incompleteUploads(tenant)).toBe(0);
  });

  it('rejects a body shorter than its declared size and stores nothing', async () => {
    const tenant = await freshTenant();
    await expect(
      store.putVersionFile(tenant, 'm', '1', 'a.bin', Readable.from([Buffer.alloc(100)]), { size: 200 }),
    ).rejects.toMatchObject({ code: 'Invalid' });
    expect(await allObjects(tenant)).toEqual([]);
  });

  it('resumes a multipart upload: lists the parts received, takes the rest and publishes', async () => {
    const tenant = await freshTenant();
    const parts = [randomBytes(5 * MIB), randomBytes(5 * MIB), randomBytes(123)];
    const whole = Buffer.concat(parts);
    const session = await store.startUpload(tenant, 'llm', '7', 'weights.bin', {
      size: whole.length,
      sha256: sha256(whole),
    });
    const [first, second, last] = parts as [Buffer, Buffer, Buffer];
    await store.uploadPart(tenant, 'llm', '7', session.uploadId, 1, Readable.from([first]), first.length);

    // The client restarts: it asks what the store already has and sends only the rest.
    const status = await store.getUpload(tenant, 'llm', '7', session.uploadId);
    expect(status.parts.map((p) => [p.partNumber, p.size])).toEqual([[1, 5 * MIB]]);
    expect(status.receivedBytes).toBe(5 * MIB);
    await expect(store.getManifest(tenant, 'llm', '7')).rejects.toBeInstanceOf(NotFoundError);

    await store.uploadPart(tenant, 'llm', '7', session.uploadId, 3, Readable.from([last]), last.length);
    await expect(store.completeUpload(tenant, 'llm', '7', session.uploadId)).rejects.toMatchObject({
      code: 'Invalid',
      message: expect.stringContaining('part 2 is missing'),
    });
    await store.uploadPart(tenant, 'llm', '7', session.uploadId, 2, Readable.from([second]), second.length);
    const manifest = await store.completeUpload(tenant, 'llm', '7', session.uploadId);

    expect(manifest.files).toEqual([{ name: 'weights.bin', size: whole.length, sha256: sha256(whole) }]);
    expect(await readAll((await store.download(tenant, 'llm', '7', 'weights.bin')).stream)).toEqual(whole);
    expect((await allObjects(tenant)).filter((name) => !name.startsWith('models/'))).toEqual([]);
    expect(await incompleteUploads(tenant)).toBe(0);
    await expect(store.getUpload(tenant, 'llm', '7', session.uploadId)).rejects.toMatchObject({
      code: 'NotFound',
    });
  });

  it('refuses to complete with a middle part under 5 MiB, naming the part', async () => {
    const tenant = await freshTenant();
    const session = await store.startUpload(tenant, 'm', '1', 'a.bin');
    await store.uploadPart(tenant, 'm', '1', session.uploadId, 1, Readable.from([Buffer.alloc(1024)]), 1024);
    await store.uploadPart(tenant, 'm', '1', session.uploadId, 2, Readable.from([Buffer.alloc(1024)]), 1024);
    await expect(store.completeUpload(tenant, 'm', '1', session.uploadId)).rejects.toMatchObject({
      code: 'Invalid',
      message: expect.stringContaining('part 1'),
    });
    await store.abortUpload(tenant, 'm', '1', session.uploadId);
    expect(await allObjects(tenant)).toEqual([]);
    expect(await incompleteUploads(tenant)).toBe(0);
  });

  it('rejects a multipart upload whose assembled bytes do not match the declared checksum, keeping nothing', async () => {
    const tenant = await freshTenant();
    const session = await store.startUpload(tenant, 'm', '1', 'a.bin', {
      sha256: sha256(Buffer.from('expected')),
    });
    await store.uploadPart(tenant, 'm', '1', session.uploadId, 1, Readable.from([Buffer.from('actual')]), 6);
    await expect(store.completeUpload(tenant, 'm', '1', session.uploadId)).rejects.toMatchObject({
      code: 'Invalid',
    });
    await expect(store.getManifest(tenant, 'm', '1')).rejects.toBeInstanceOf(NotFoundError);
    expect(await allObjects(tenant)).toEqual([]);
  });

  it('publishes an empty file through a session that received no parts', async () => {
    const tenant = await freshTenant();
    const session = await store.startUpload(tenant, 'm', '1', 'empty.bin', { size: 0 });
    const manifest = await store.completeUpload(tenant, 'm', '1', session.uploadId, { sha256: sha256() });
    expect(manifest.files).toEqual([{ name: 'empty.bin', size: 0, sha256: sha256() }]);
  });

  it('lets exactly one of two concurrent uploads of a version win; the other gets Conflict', async () => {
    const tenant = await freshTenant();
    const bodies = [randomBytes(6 * MIB), randomBytes(6 * MIB)];
    const sessions = await Promise.all(bodies.map(() => store.startUpload(tenant, 'race', '1', 'w.bin')));
    await Promise.all(
      sessions.map((s, i) =>
        store.uploadPart(tenant, 'race', '1', s.uploadId, 1, Readable.from([bodies[i]!]), 6 * MIB),
      ),
    );
    const results = await Promise.allSettled(
      sessions.map((s) => store.completeUpload(tenant, 'race', '1', s.uploadId)),
    );

    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'Conflict' });
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<ModelStore['completeUpload']>>>)
      .value;
    const served = await readAll((await store.download(tenant, 'race', '1', 'w.bin')).stream);
    expect(sha256(served)).toBe(winner.files[0]?.sha256);
    expect((await allObjects(tenant)).filter((name) => !name.startsWith('models/'))).toEqual([]);
  });

  it('lets exactly one of two concurrent single-request uploads of a version win', async () => {
    const tenant = await freshTenant();
    const bodies = [randomBytes(2 * MIB), randomBytes(2 * MIB)];
    const results = await Promise.allSettled(
      bodies.map((body) =>
        store.putVersionFile(tenant, 'race', '2', 'w.bin', Readable.from([body]), { size: body.length }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'Conflict' } });
  });

  it('waits out a claim left by a crashed writer, then takes it over', async () => {
    const tenant = await freshTenant();
    await root.putObject(`tenantmesh-${tenant}`, '.claims/m/1.json', Buffer.from('{"holder":"crashed"}'));
    const body = (): Readable => Readable.from([Buffer.from('x')]);
    await expect(store.putVersionFile(tenant, 'm', '1', 'a.bin', body(), { size: 1 })).rejects.toMatchObject({
      code: 'Conflict',
      message: expect.stringContaining('being written'),
    });
    const later = createModelStore({ ...endpoint, now: () => new Date(Date.now() + 60 * 60_000) });
    await expect(later.putVersionFile(tenant, 'm', '1', 'a.bin', body(), { size: 1 })).resolves.toMatchObject(
      { version: '1' },
    );
  });

  it('deletes a version manifest-first so it disappears at once, and frees the name for a new upload', async () => {
    const tenant = await freshTenant();
    await store.putVersionFile(tenant, 'm', '1', 'a.bin', Readable.from([Buffer.from('one')]), { size: 3 });
    await store.deleteVersion(tenant, 'm', '1');
    await expect(store.getManifest(tenant, 'm', '1')).rejects.toBeInstanceOf(NotFoundError);
    expect(await allObjects(tenant)).toEqual([]);
    await expect(store.deleteVersion(tenant, 'm', '1')).rejects.toBeInstanceOf(NotFoundError);
    await store.putVersionFile(tenant, 'm', '1', 'a.bin', Readable.from([Buffer.from('two')]), { size: 3 });
    expect((await readAll((await store.download(tenant, 'm', '1', 'a.bin')).stream)).toString()).toBe('two');
  });

  it('sweeps abandoned upload sessions and their parts', async () => {
    const tenant = await freshTenant();
    const session = await store.startUpload(tenant, 'm', '1', 'a.bin');
    await store.uploadPart(tenant, 'm', '1', session.uploadId, 1, Readable.from([Buffer.alloc(10)]), 10);
    expect(await store.cleanupStaleUploads(tenant, 60 * 60_000)).toEqual({
      removedObjects: 0,
      abortedUploads: 0,
    });
    const later = createModelStore({ ...endpoint, now: () => new Date(Date.now() + 2 * 60 * 60_000) });
    expect(await later.cleanupStaleUploads(tenant, 60 * 60_000)).toEqual({
      removedObjects: 1,
      abortedUploads: 1,
    });
    await expect(store.getUpload(tenant, 'm', '1', session.uploadId)).rejects.toMatchObject({
      code: 'NotFound',
    });
    expect(await allObjects(tenant)).toEqual([]);
    expect(await incompleteUploads(tenant)).toBe(0);
  });

  it('treats an unknown or foreign upload id as not found', async () => {
    const tenant = await freshTenant();
    const session = await store.startUpload(tenant, 'm', '1', 'a.bin');
    await expect(store.getUpload(tenant, 'm', '2', session.uploadId)).rejects.toMatchObject({
      code: 'NotFound',
    });
    await expect(store.getUpload(tenant, 'm', '1', '../../models/m/1/manifest')).rejects.toMatchObject({
      code: 'NotFound',
    });
    await expect(store.getUpload(tenant, 'm', '1', 'f'.repeat(32))).rejects.toMatchObject({
      code: 'NotFound',
    });
    await store.abortUpload(tenant, 'm', '1', session.uploadId);
  });

  it('refuses to start an upload of a version that already exists', async () => {
    const tenant = await freshTenant();
    await store.putVersionFile(tenant, 'm', '1', 'a.bin', Readable.from([Buffer.from('x')]), { size: 1 });
    await expect(store.startUpload(tenant, 'm', '1', 'b.bin')).rejects.toMatchObject({ code: 'Conflict' });
    await expect(
      store.putVersionFile(tenant, 'm', '1', 'b.bin', Readable.from([Buffer.from('x')]), { size: 1 }),
    ).rejects.toMatchObject({ code: 'Conflict' });
  });

  it('reports an unreachable object store as Unavailable', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const unreachable = createModelStore({ ...endpoint, port: closedPort });
    await expect(unreachable.listModels('acme')).rejects.toMatchObject({ code: 'Unavailable' });
    await expect(
      unreachable.putVersionFile('acme', 'm', '1', 'a.bin', Readable.from([Buffer.from('x')]), { size: 1 }),
    ).rejects.toMatchObject({ code: 'Unavailable' });
  });

  it('issues read credentials that read the tenant’s published models and nothing else', async () => {
    const own = await freshTenant();
    const other = await freshTenant();
    for (const tenant of [own, other]) {
      await store.putVersionFile(tenant, 'm', '1', 'a.bin', Readable.from([Buffer.from(tenant)]), {
        size: tenant.length,
      });
    }
    const session = await store.startUpload(own, 'm', '2', 'b.bin');
    const credentials = await store.issueReadCredentials(own, 900);
    expect(credentials).toMatchObject({ bucket: `tenantmesh-${own}`, prefix: 'models/' });
    expect(credentials.sessionToken).not.toBe('');
    const scoped = new Client({
      endPoint: credentials.endPoint,
      port: credentials.port,
      useSSL: credentials.useSSL,
      accessKey: credentials.accessKey,
      secretKey: credentials.secretKey,
      sessionToken: credentials.sessionToken,
      region: credentials.region,
    });

    expect((await readAll(await scoped.getObject(`tenantmesh-${own}`, 'models/m/1/a.bin'))).toString()).toBe(
      own,
    );
    const listed: string[] = [];
    for await (const item of scoped.listObjects(`tenantmesh-${own}`, 'models/', true))
      listed.push((item as { name: string }).name);
    expect(listed).toContain('models/m/1/manifest.json');

    await expect(scoped.getObject(`tenantmesh-${other}`, 'models/m/1/a.bin')).rejects.toMatchObject({
      code: 'AccessDenied',
    });
    await expect(scoped.statObject(`tenantmesh-${other}`, 'models/m/1/manifest.json')).rejects.toMatchObject({
      code: expect.stringMatching(/AccessDenied|Forbidden|NotFound/),
    });
    await expect(
      (async () => {
        for await (const _item of scoped.listObjects(`tenantmesh-${other}`, 'models/', true)) break;
      })(),
    ).rejects.toMatchObject({ code: 'AccessDenied' });
    await expect(
      scoped.getObject(`tenantmesh-${own}`, `.staging/${session.uploadId}/session.json`),
    ).rejects.toMatchObject({
      code: 'AccessDenied',
    });
    await expect(
      scoped.putObject(`tenantmesh-${own}`, 'models/m/9/a.bin', Buffer.from('evil')),
    ).rejects.toMatchObject({
      code: 'AccessDenied',
    });
    await expect(scoped.removeObject(`tenantmesh-${own}`, 'models/m/1/a.bin')).rejects.toMatchObject({
      code: 'AccessDenied',
    });
    await store.abortUpload(own, 'm', '2', session.uploadId);
  });

  it('rejects a credential lifetime outside the STS limits', async () => {
    await expect(store.issueReadCredentials('acme', 60)).rejects.toMatchObject({ code: 'Invalid' });
  });

  describe('a single request of known size streamed into parts of the file itself', () => {
    // Parts of 5 MiB (S3's floor), so bodies of a few parts exercise the path.
    const partStore = () => createModelStore({ ...endpoint, streamPartBytes: 5 * MIB });
    // MinIO lists incomplete uploads of an exact key only.
    const uploadsOf = async (tenant: string, model: string) => {
      let count = 0;
      for await (const _upload of root.listIncompleteUploads(
        `tenantmesh-${tenant}`,
        `models/${model}/1/w.bin`,
        true,
      ))
        count += 1;
      return count;
    };

    it('publishes a body of several parts with the SHA-256 it computed, and leaves nothing staged', async () => {
      const tenant = await freshTenant();
      const body = randomBytes(12 * MIB + 77);
      const chunks = [
        body.subarray(0, 3 * MIB + 5),
        body.subarray(3 * MIB + 5, 9 * MIB),
        body.subarray(9 * MIB),
      ];
      const manifest = await partStore().putVersionFile(tenant, 'big', '1', 'w.bin', Readable.from(chunks), {
        size: body.length,
        sha256: sha256(body),
      });
      expect(manifest.files).toEqual([{ name: 'w.bin', size: body.length, sha256: sha256(body) }]);
      const served = await readAll((await store.download(tenant, 'big', '1', 'w.bin')).stream);
      expect(served.equals(body)).toBe(true);
      expect(await allObjects(tenant)).toEqual(['models/big/1/manifest.json', 'models/big/1/w.bin']);
      expect(await uploadsOf(tenant, 'big')).toBe(0);
    });

    it('publishes nothing and leaves no upload behind on a checksum mismatch or a short body', async () => {
      const tenant = await freshTenant();
      const body = randomBytes(11 * MIB);
      await expect(
        partStore().putVersionFile(tenant, 'big', '1', 'w.bin', Readable.from([body]), {
          size: body.length,
          sha256: 'a'.repeat(64),
        }),
      ).rejects.toMatchObject({ code: 'Invalid' });
      await expect(
        partStore().putVersionFile(tenant, 'big', '1', 'w.bin', interruptedBody(7 * MIB), {
          size: body.length,
        }),
      ).rejects.toThrow();
      expect(await allObjects(tenant)).toEqual([]);
      expect(await uploadsOf(tenant, 'big')).toBe(0);
    });

    it('lets exactly one of two concurrent uploads win and serves the winner’s bytes', async () => {
      const tenant = await freshTenant();
      const bodies = [randomBytes(11 * MIB), randomBytes(11 * MIB)];
      const results = await Promise.allSettled(
        bodies.map((body) =>
          partStore().putVersionFile(tenant, 'race', '1', 'w.bin', Readable.from([body]), {
            size: body.length,
          }),
        ),
      );
      const won = results.find((r) => r.status === 'fulfilled');
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'Conflict' } });
      const served = await readAll((await store.download(tenant, 'race', '1', 'w.bin')).stream);
      expect(sha256(served)).toBe(
        (won as PromiseFulfilledResult<{ files: { sha256: string }[] }>).value.files[0]!.sha256,
      );
      expect(await uploadsOf(tenant, 'race')).toBe(0);
    });

    it('never touches a published file: a later upload of the same version gets Conflict', async () => {
      const tenant = await freshTenant();
      const first = randomBytes(11 * MIB);
      await partStore().putVersionFile(tenant, 'v', '1', 'w.bin', Readable.from([first]), {
        size: first.length,
      });
      const second = randomBytes(11 * MIB);
      await expect(
        partStore().putVersionFile(tenant, 'v', '1', 'w.bin', Readable.from([second]), {
          size: second.length,
        }),
      ).rejects.toMatchObject({ code: 'Conflict' });
      const served = await readAll((await store.download(tenant, 'v', '1', 'w.bin')).stream);
      expect(served.equals(first)).toBe(true);
      expect(await uploadsOf(tenant, 'v')).toBe(0);
    });
  });
});
