import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HashingCounter } from '../../../src/storage/streams.ts';
import { createModelStore, type ModelStore, type ModelStoreConfig } from '../../../src/storage/store.ts';
import { drain } from '../../../src/storage/transfer.ts';

type S3Endpoint = Pick<ModelStoreConfig, 'endPoint' | 'port' | 'useSSL' | 'accessKey' | 'secretKey'>;

/** The real MinIO the global setup started. */
const s3Endpoint = (): S3Endpoint => inject('env').s3;

const MIB = 1024 * 1024;
// Tunable. RSS also counts dead chunks the GC has not collected yet; the store collects the young generation
// every 8 MiB streamed (src/storage/gc-pacer.ts), which keeps the observed growth at 25-32 MiB for 1 GiB in
// this process (the generator's chunks included; 15-140 MiB before the pacing). The bound is the issue's
// 64 MiB: whole-file buffering, minio-js's 528 MiB parts, two parts held at once or unpaced garbage fail it.
const TOTAL_BYTES = Number(process.env['TENANTMESH_LARGE_UPLOAD_MIB'] ?? 1024) * MIB;
const RSS_GROWTH_LIMIT = Number(process.env['TENANTMESH_LARGE_UPLOAD_RSS_LIMIT_MIB'] ?? 64) * MIB;
const TIMEOUT_MS = 600_000;

/** Generates `total` bytes in 1 MiB chunks (each different), hashing them as they are produced. */
function generated(total: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let produced = 0;
  const stream = new Readable({
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const chunk = Buffer.alloc(Math.min(MIB, total - produced), (produced / MIB) & 0xff);
      produced += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

/** Runs `action` while sampling RSS; returns the largest growth over the starting RSS. */
async function peakRssGrowth(action: () => Promise<void>): Promise<number> {
  globalThis.gc?.();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 25);
  try {
    await action();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage.rss()) - baseline;
}

describe('large model uploads keep memory flat', () => {
  let store: ModelStore;
  const tenant = `big-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    store = createModelStore(s3Endpoint());
    await store.ensureBucket(tenant);
  });

  afterAll(async () => {
    await store.removeBucket(tenant, { purge: true });
  });

  it(
    `streams a ${TOTAL_BYTES / MIB} MiB upload of known size to the store without holding it in memory`,
    async () => {
      const source = generated(TOTAL_BYTES);
      let manifestSha = '';
      const growth = await peakRssGrowth(async () => {
        const manifest = await store.putVersionFile(tenant, 'huge', '1', 'weights.bin', source.stream, {
          size: TOTAL_BYTES,
        });
        manifestSha = manifest.files[0]?.sha256 ?? '';
      });
      expect(manifestSha).toBe(source.digest());
      expect(growth).toBeLessThan(RSS_GROWTH_LIMIT);
    },
    TIMEOUT_MS,
  );

  it(
    'streams the same file back out with flat memory and the published checksum',
    async () => {
      const counter = new HashingCounter();
      let expected = '';
      const growth = await peakRssGrowth(async () => {
        const download = await store.download(tenant, 'huge', '1', 'weights.bin');
        expected = download.sha256;
        await drain(download.stream.pipe(counter));
      });
      expect(counter.bytes).toBe(TOTAL_BYTES);
      expect(counter.sha256).toBe(expected);
      expect(growth).toBeLessThan(RSS_GROWTH_LIMIT);
    },
    TIMEOUT_MS,
  );

  it(
    'buffers a body of unknown size only one bounded part at a time',
    async () => {
      const source = generated(TOTAL_BYTES);
      let manifestSha = '';
      const growth = await peakRssGrowth(async () => {
        const manifest = await store.putVersionFile(tenant, 'huge', '2', 'weights.bin', source.stream);
        manifestSha = manifest.files[0]?.sha256 ?? '';
      });
      expect(manifestSha).toBe(source.digest());
      expect(growth).toBeLessThan(RSS_GROWTH_LIMIT);
    },
    TIMEOUT_MS,
  );
});
