import { createHash } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyPlatformRbac,
  callersOf,
  createTenant,
  removeTenant,
  startApiUnderTest,
  suffix,
  type ApiUnderTest,
  type Callers,
} from './fixture.ts';

const MIB = 1024 * 1024;
const TOTAL_BYTES = Number(process.env['TENANTMESH_LARGE_UPLOAD_MIB'] ?? 1024) * MIB;
// RSS also counts garbage not yet collected; buffering the body (1 GiB) or minio-js's 528 MiB parts would fail it.
const RSS_GROWTH_LIMIT = Number(process.env['TENANTMESH_LARGE_UPLOAD_RSS_LIMIT_MIB'] ?? 256) * MIB;
const T = `big-api-${suffix()}`;

/** `total` bytes in 1 MiB chunks, hashed as they are produced. */
function generated(total: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let produced = 0;
  const stream = new Readable({
    read() {
      if (produced >= total) return void this.push(null);
      const chunk = Buffer.alloc(Math.min(MIB, total - produced), (produced / MIB) & 0xff);
      produced += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

describe('a large model through the management API', () => {
  let harness: ApiUnderTest;
  let callers: Callers;

  beforeAll(async () => {
    harness = await startApiUnderTest();
    await applyPlatformRbac(harness.kube);
    callers = await callersOf(T);
    await createTenant(harness, callers, T);
  });

  afterAll(async () => {
    await removeTenant(harness, T);
    await harness?.api.close();
  });

  it('streams a 1 GiB PUT into the store with flat memory and publishes it with the right checksum', async () => {
    const body = generated(TOTAL_BYTES);
    const url = new URL(`${harness.api.url}/v1/tenants/${T}/models/huge/versions/1/files/model.bin`);
    // The API runs in this process, so this process's RSS is the API's (plus the generator's 1 MiB chunks).
    globalThis.gc?.();
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 25);
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        url,
        {
          method: 'PUT',
          headers: {
            authorization: `Bearer ${callers.tenantAdmin}`,
            'content-type': 'application/octet-stream',
            'content-length': String(TOTAL_BYTES),
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      request.on('error', reject);
      body.stream.pipe(request);
    }).finally(() => clearInterval(sampler));

    expect(status).toBe(201);
    expect(peak - baseline).toBeLessThan(RSS_GROWTH_LIMIT);
    const manifest = await harness.call('get', `/v1/tenants/${T}/models/huge/versions/1`, {
      token: callers.tenantAdmin,
    });
    expect(manifest.status, manifest.text).toBe(200);
    expect(manifest.json().files).toEqual([{ name: 'model.bin', size: TOTAL_BYTES, sha256: body.digest() }]);
  }, 600_000);
});
