/**
 * Downloads one published model version with the tenant's scoped, expiring read credentials and checks every
 * file against the manifest the store sealed the version with (size and SHA-256 of the exact bytes).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'minio';
import type { ManifestFile, VersionManifest } from '../storage/store.ts';
import { MANIFEST_FILE, fileKey, manifestKey, validateFile } from '../storage/layout.ts';
import { PullError } from './layout.ts';

/** Where the version is and the credentials that may read it (the tenant's storage Secret). */
export interface VersionSource {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
  region?: string;
  bucket: string;
  model: string;
  version: string;
}

function clientFor(source: VersionSource): Client {
  const url = new URL(source.endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: source.accessKey,
    secretKey: source.secretKey,
    ...(source.sessionToken ? { sessionToken: source.sessionToken } : {}),
    region: source.region ?? 'us-east-1',
  });
}

/** What the object store said, in words an endpoint's status can show. */
function storeError(error: unknown, what: string): PullError {
  if (error instanceof PullError) return error;
  const code = (error as { code?: string }).code;
  if (code === 'NoSuchKey' || code === 'NotFound')
    return new PullError(`${what} does not exist in the tenant's bucket`);
  if (code === 'AccessDenied' || code === 'InvalidAccessKeyId' || code === 'ExpiredToken') {
    return new PullError(`the storage credentials may not read ${what} (${code})`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new PullError(`reading ${what} failed: ${code ?? message}`);
}

async function readManifest(client: Client, source: VersionSource): Promise<VersionManifest> {
  const what = `version ${source.model}/${source.version}`;
  let text: string;
  try {
    const stream = await client.getObject(source.bucket, manifestKey(source.model, source.version));
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    throw storeError(error, what);
  }
  let manifest: VersionManifest;
  try {
    manifest = JSON.parse(text) as VersionManifest;
  } catch {
    throw new PullError(`the manifest of ${what} is not JSON`);
  }
  if (!Array.isArray(manifest.files) || manifest.files.length === 0) {
    throw new PullError(`the manifest of ${what} lists no files`);
  }
  for (const file of manifest.files) {
    try {
      validateFile(file.name);
    } catch {
      throw new PullError(`the manifest of ${what} names an invalid file "${String(file.name)}"`);
    }
    if (!Number.isSafeInteger(file.size) || file.size < 0 || !/^[a-f0-9]{64}$/.test(file.sha256)) {
      throw new PullError(`the manifest of ${what} has no valid size and sha256 for ${file.name}`);
    }
  }
  return manifest;
}

/** Streams one file to disk, hashing and counting on the way, and compares with the manifest. */
async function downloadFile(
  client: Client,
  source: VersionSource,
  file: ManifestFile,
  directory: string,
  maxBytes: number,
): Promise<void> {
  if (file.size > maxBytes) {
    throw new PullError(`${file.name} is ${file.size} bytes, over the puller's limit of ${maxBytes}`);
  }
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > file.size) return done(new PullError(`${file.name} is longer than its manifest says`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    const stream = await client.getObject(source.bucket, fileKey(source.model, source.version, file.name));
    await pipeline(stream, meter, createWriteStream(path.join(directory, file.name), { flags: 'wx' }));
  } catch (error) {
    throw storeError(error, `${source.model}/${source.version}/${file.name}`);
  }
  if (size !== file.size) {
    throw new PullError(`${file.name} has ${size} bytes, its manifest says ${file.size}`);
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== file.sha256) {
    throw new PullError(
      `${file.name} does not match its manifest (sha256 ${sha256}, expected ${file.sha256})`,
    );
  }
}

/** Downloads every file of the version into `directory` (empty); returns the manifest. */
export async function downloadVersion(
  source: VersionSource,
  directory: string,
  maxBytes: number,
): Promise<VersionManifest> {
  const client = clientFor(source);
  const manifest = await readManifest(client, source);
  const total = manifest.files.reduce((sum, file) => sum + file.size, 0);
  if (total > maxBytes) {
    throw new PullError(
      `version ${source.model}/${source.version} is ${total} bytes, over the limit of ${maxBytes}`,
    );
  }
  for (const file of manifest.files) {
    if (file.name === MANIFEST_FILE) throw new PullError(`the manifest lists itself as a file`);
    await downloadFile(client, source, file, directory, maxBytes);
  }
  return manifest;
}
