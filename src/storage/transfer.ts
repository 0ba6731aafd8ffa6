import http from 'node:http';
import https from 'node:https';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'minio';
import { parseS3ErrorBody } from './s3-errors.ts';

/**
 * Streams `body` (exactly `size` bytes) into one S3 PUT (a whole object, or one part of a multipart upload when
 * `query` names `partNumber` and `uploadId`) and returns the ETag.
 *
 * Why not minio-js's putObject/uploadPart: over plain HTTP minio-js signs the payload's SHA-256, so it reads
 * every part into memory first (the IMM flaw this project must not repeat). A presigned URL is signed with
 * UNSIGNED-PAYLOAD, so the bytes can flow straight from the client's request to the store with one chunk in
 * memory. The PUT is atomic on the server: if the body fails half-way nothing is stored.
 */
export async function streamPut(
  client: Client,
  target: { bucket: string; key: string; query?: Record<string, string> },
  body: Readable,
  size: number,
): Promise<string> {
  const url = new URL(await client.presignedUrl('PUT', target.bucket, target.key, 3600, target.query ?? {}));
  const transport = url.protocol === 'https:' ? https : http;
  const request = transport.request(url, { method: 'PUT', headers: { 'content-length': String(size) } });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  const [sent, answered] = await Promise.allSettled([pipeline(body, request), response]);
  if (answered.status === 'fulfilled') {
    const text = await readText(answered.value);
    const status = answered.value.statusCode ?? 0;
    if (status < 200 || status >= 300) throw parseS3ErrorBody(status, text);
    if (sent.status === 'rejected') throw sent.reason;
    const etag = answered.value.headers.etag ?? '';
    return etag.replace(/^"|"$/g, '');
  }
  // The body failed first (our checks or the client went away): that is the error worth reporting.
  throw sent.status === 'rejected' ? sent.reason : answered.reason;
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Consumes a stream to its end without keeping it: used to run data through a hashing transform. */
export async function drain(stream: Readable): Promise<void> {
  await pipeline(
    stream,
    new Writable({
      write(_chunk, _encoding, callback) {
        callback();
      },
    }),
  );
}
