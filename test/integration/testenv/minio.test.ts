import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, inject, it } from 'vitest';
import { s3Client } from '../../../src/testenv/identities.ts';

const env = inject('env');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('the run has a real MinIO with credentials of its own', () => {
  it('stores and returns a multi-part object byte for byte', async () => {
    const client = s3Client(env);
    await client.makeBucket('testenv-multipart');
    const body = randomBytes(40 * 1024 * 1024);
    // A stream of unknown size is uploaded in the client's 16 MiB parts: 16 + 16 + 8 MiB.
    const chunks = Array.from({ length: 40 }, (_, i) =>
      body.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024),
    );
    await client.putObject('testenv-multipart', 'blob.bin', Readable.from(chunks));

    const stat = await client.statObject('testenv-multipart', 'blob.bin');
    expect(stat.etag).toMatch(/-3$/); // S3 marks multipart objects with the part count
    const back = await readAll(await client.getObject('testenv-multipart', 'blob.bin'));
    expect(createHash('sha256').update(back).digest('hex')).toBe(
      createHash('sha256').update(body).digest('hex'),
    );
  });

  it('refuses credentials that are not this run’s', async () => {
    const stranger = s3Client(env, {
      accessKey: 'tm-0123456789ab',
      secretKey: randomBytes(24).toString('base64url'),
    });
    await expect(stranger.listBuckets()).rejects.toMatchObject({ code: 'InvalidAccessKeyId' });
  });
});
