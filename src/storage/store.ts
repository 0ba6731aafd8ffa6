import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Client, CopyDestinationOptions, CopySourceOptions } from 'minio';
import { AssumeRoleProvider } from 'minio/dist/esm/AssumeRoleProvider.mjs';
import { Conflict, Invalid, NotFound, RangeNotSatisfiable } from './errors.ts';
import {
  bucketName,
  claimKey,
  fileKey,
  isUploadId,
  MANIFEST_FILE,
  manifestKey,
  normaliseSha256,
  sessionKey,
  stagingDataKey,
  validateFile,
  validateModel,
  validateTenant,
  validateVersion,
  versionPrefix,
} from './layout.ts';
import { errorCode, toDomainError } from './s3-errors.ts';
import { assertChecksum, HashingCounter, parseRange, StreamSlicer } from './streams.ts';
import { drain, streamPut } from './transfer.ts';

/** Where the object store is and the (root or admin) credentials the store acts with. */
export interface ModelStoreConfig {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  /** Defaults to `us-east-1`; giving it saves minio-js a GetBucketLocation round trip per bucket. */
  region?: string;
  /** Largest part a multipart-session client may send (S3 allows 5 GiB; default 512 MiB). */
  maxPartBytes?: number;
  /** Largest single-request upload without a declared size (S3 allows 5 GiB in one PUT; default 5 GiB). */
  maxSinglePutBytes?: number;
  /**
   * A single-request upload of declared size above this is streamed straight into a multipart upload of
   * the version's file in parts of this size (default 64 MiB), up to S3's largest object (5 TiB).
   */
  streamPartBytes?: number;
  /** Part size used when a single-request upload arrives without a size (default 16 MiB; bounds memory). */
  bufferedPartBytes?: number;
  /** A claim older than this is considered abandoned by a crashed writer and may be taken over (default 15 min). */
  claimTtlMs?: number;
  /** Injected clock, for tests of stale-claim and stale-upload handling. */
  now?: () => Date;
}

/** One published file of a version, as listed in its manifest. */
export interface ManifestFile {
  name: string;
  size: number;
  /** Hex SHA-256 computed by the store from the bytes it received (never taken on trust from the client). */
  sha256: string;
}

/** Content of `models/<model>/<version>/manifest.json`; its presence is what makes a version visible. */
export interface VersionManifest {
  schemaVersion: 1;
  model: string;
  version: string;
  publishedAt: string;
  uploadId: string;
  files: ManifestFile[];
}

export interface ModelSummary {
  name: string;
  versions: number;
  lastPublishedAt: string;
}

export interface VersionSummary {
  version: string;
  publishedAt: string;
}

/** A multipart upload session as the API exposes it (the S3 upload id stays private to the store). */
export interface UploadSession {
  uploadId: string;
  model: string;
  version: string;
  file: string;
  createdAt: string;
  /** Size and checksum the client declared at start, checked at completion. */
  size?: number;
  sha256?: string;
}

export interface UploadedPart {
  partNumber: number;
  size: number;
  etag: string;
  lastModified?: string;
}

export interface UploadStatus extends UploadSession {
  parts: UploadedPart[];
  /** Sum of the sizes of the parts received so far. */
  receivedBytes: number;
}

/** A tenant's use of its storage quota (see {@link ModelStore.usage}). */
export interface StorageUsage {
  publishedBytes: number;
  openUploads: { uploadId: string; createdAt: string; size?: number }[];
}

export interface Download {
  stream: Readable;
  /** Size of the whole file. */
  size: number;
  sha256: string;
  /** Bytes in `stream`: the whole file, or the requested range. */
  contentLength: number;
  /** Present for a range request: the resolved range and its `Content-Range` header value. */
  range?: { start: number; end: number; contentRange: string };
}

/** Temporary credentials that can only list and read the published models of one tenant's bucket. */
export interface ReadCredentials {
  accessKey: string;
  secretKey: string;
  sessionToken: string;
  expiresAt: string;
  bucket: string;
  /** Object prefix the credentials may read (`models/`). */
  prefix: string;
  endPoint: string;
  port: number;
  useSSL: boolean;
  region: string;
}

export interface PutFileOptions {
  /** Exact byte count (Content-Length). Without it the body is sent in bounded buffered parts. */
  size?: number;
  /** Hex SHA-256 the client declares; a mismatch stores nothing and throws Invalid. */
  sha256?: string;
}

/** The object-store layer for model versions (docs/storage.md). Every method maps store errors to domain errors. */
export interface ModelStore {
  /** Creates the tenant's bucket if missing (idempotent). */
  ensureBucket(tenant: string): Promise<void>;
  /** Removes the tenant's bucket; with `purge` everything in it first. A missing bucket is not an error. */
  removeBucket(tenant: string, options?: { purge?: boolean }): Promise<void>;
  listModels(tenant: string): Promise<ModelSummary[]>;
  /** Published versions of one model; NotFound when it has none. */
  listVersions(tenant: string, model: string): Promise<VersionSummary[]>;
  getManifest(tenant: string, model: string, version: string): Promise<VersionManifest>;
  /** One-request upload of a whole version holding `file`; the version is visible only when this resolves. */
  putVersionFile(
    tenant: string,
    model: string,
    version: string,
    file: string,
    body: Readable,
    options?: PutFileOptions,
  ): Promise<VersionManifest>;
  /** Opens a resumable multipart session that will publish `file` as the version's content. */
  startUpload(
    tenant: string,
    model: string,
    version: string,
    file: string,
    options?: PutFileOptions,
  ): Promise<UploadSession>;
  /** The session and the parts received so far, so a client can resume where it stopped. */
  getUpload(tenant: string, model: string, version: string, uploadId: string): Promise<UploadStatus>;
  /** Streams one part (1–10000) of exactly `size` bytes; sending a part number again replaces that part. */
  uploadPart(
    tenant: string,
    model: string,
    version: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    size: number,
  ): Promise<UploadedPart>;
  /** Assembles the parts, verifies size and SHA-256, and publishes the version. */
  completeUpload(
    tenant: string,
    model: string,
    version: string,
    uploadId: string,
    options?: { sha256?: string },
  ): Promise<VersionManifest>;
  abortUpload(tenant: string, model: string, version: string, uploadId: string): Promise<void>;
  /**
   * What the tenant's bucket holds against its storage quota: the bytes of published versions, and the open
   * upload sessions with the size each declared (the bytes they reserve).
   */
  usage(tenant: string): Promise<StorageUsage>;
  /** Aborts sessions and removes staged data and claims older than `olderThanMs`. */
  cleanupStaleUploads(
    tenant: string,
    olderThanMs: number,
  ): Promise<{ removedObjects: number; abortedUploads: number }>;
  /** Streams a published file, or the byte range named by an HTTP `Range` header value. */
  download(
    tenant: string,
    model: string,
    version: string,
    file: string,
    options?: { range?: string },
  ): Promise<Download>;
  /** Deletes a version: its manifest first (readers stop seeing it at once), then its files. */
  deleteVersion(tenant: string, model: string, version: string): Promise<void>;
  /** STS credentials (AssumeRole with a session policy) that can read `models/` of this tenant's bucket only. */
  issueReadCredentials(tenant: string, ttlSeconds: number): Promise<ReadCredentials>;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** S3's floor for every part but the last. */
export const MIN_PART_BYTES = 5 * MIB;
export const MAX_PART_NUMBER = 10_000;
const S3_MAX_SINGLE_PUT = 5 * GIB;
/** S3's largest object. */
export const S3_MAX_OBJECT_BYTES = 5 * 1024 * GIB;

interface StoredSession extends UploadSession {
  s3UploadId: string;
}

interface Claim {
  holder: string;
  acquiredAt: string;
}

/** Builds the model store over a minio-js client. Nothing is contacted until the first call. */
export function createModelStore(config: ModelStoreConfig): ModelStore {
  const region = config.region ?? 'us-east-1';
  const client = new Client({
    endPoint: config.endPoint,
    port: config.port,
    useSSL: config.useSSL,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    region,
    // Only used by minio-js helpers we call with known sizes; never the 528 MiB default (LIBRARIES.md).
    partSize: 16 * MIB,
    // One quick retry; callers get Unavailable fast instead of a minute of exponential backoff.
    retryOptions: { maximumRetryCount: 1, baseDelayMs: 100, maximumDelayMs: 1000 },
  });
  const maxPartBytes = config.maxPartBytes ?? 512 * MIB;
  const maxSinglePutBytes = Math.min(config.maxSinglePutBytes ?? S3_MAX_SINGLE_PUT, S3_MAX_SINGLE_PUT);
  const bufferedPartBytes = config.bufferedPartBytes ?? 16 * MIB;
  const streamPartBytes = Math.max(config.streamPartBytes ?? 64 * MIB, MIN_PART_BYTES);
  const claimTtlMs = config.claimTtlMs ?? 15 * 60_000;
  const now = config.now ?? (() => new Date());

  function newUploadId(): string {
    return randomBytes(16).toString('hex');
  }

  async function guarded<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw toDomainError(error, what);
    }
  }

  async function removeQuietly(bucket: string, key: string): Promise<void> {
    try {
      await client.removeObject(bucket, key);
    } catch {
      // Best effort: leftovers under .staging/ are swept by cleanupStaleUploads.
    }
  }

  async function readJson<T>(bucket: string, key: string): Promise<T> {
    const stream = await client.getObject(bucket, key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
  }

  async function exists(bucket: string, key: string): Promise<boolean> {
    try {
      await client.statObject(bucket, key);
      return true;
    } catch (error) {
      if (errorCode(error) === 'NotFound' || errorCode(error) === 'NoSuchKey') return false;
      throw error;
    }
  }

  /** PUT with a precondition header: `If-None-Match: *` (create only) or `If-Match: <etag>` (replace that one). */
  async function putConditional(
    bucket: string,
    key: string,
    body: unknown,
    condition: { ifNoneMatch: '*' } | { ifMatch: string },
  ): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if ('ifNoneMatch' in condition) headers['if-none-match'] = '*';
    else headers['if-match'] = `"${condition.ifMatch}"`;
    const response = await client.makeRequestAsync(
      { method: 'PUT', bucketName: bucket, objectName: key, headers },
      Buffer.from(JSON.stringify(body, null, 2)),
      [200],
    );
    response.resume();
  }

  async function listObjectNames(
    bucket: string,
    prefix: string,
  ): Promise<{ name: string; lastModified: Date; size: number }[]> {
    const found: { name: string; lastModified: Date; size: number }[] = [];
    for await (const item of client.listObjects(bucket, prefix, true)) {
      const entry = item as { name?: string; lastModified?: Date; size?: number };
      if (entry.name) {
        found.push({
          name: entry.name,
          lastModified: entry.lastModified ?? new Date(0),
          size: entry.size ?? 0,
        });
      }
    }
    return found;
  }

  async function removeAll(bucket: string, names: string[]): Promise<void> {
    for (let i = 0; i < names.length; i += 1000) await client.removeObjects(bucket, names.slice(i, i + 1000));
  }

  /**
   * Takes the version's claim object, created with `If-None-Match: *` so exactly one writer (publisher or
   * deleter) holds it. A claim older than the TTL belongs to a crashed writer and is taken over with
   * `If-Match` on its ETag, so two rescuers cannot both win. Returns the release function.
   */
  async function acquireClaim(
    bucket: string,
    model: string,
    version: string,
    holder: string,
  ): Promise<() => Promise<void>> {
    const key = claimKey(model, version);
    const claim: Claim = { holder, acquiredAt: now().toISOString() };
    try {
      await putConditional(bucket, key, claim, { ifNoneMatch: '*' });
    } catch (error) {
      if (errorCode(error) !== 'PreconditionFailed') throw error;
      const held = await client.statObject(bucket, key).catch(() => undefined);
      const stale = held !== undefined && now().getTime() - held.lastModified.getTime() > claimTtlMs;
      if (!stale)
        throw new Conflict(`version ${model}/${version} is being written or deleted by another request`);
      try {
        await putConditional(bucket, key, claim, { ifMatch: held.etag });
      } catch (takeoverError) {
        if (errorCode(takeoverError) === 'PreconditionFailed') {
          throw new Conflict(`version ${model}/${version} is being written or deleted by another request`);
        }
        throw takeoverError;
      }
    }
    return () => removeQuietly(bucket, key);
  }

  /**
   * Makes staged bytes a version: claim → refuse if a manifest exists → server-side copy of the staged object
   * to `models/<m>/<v>/<file>` → manifest with `If-None-Match: *`. Readers see nothing until the manifest.
   */
  /**
   * Publishes under the version's claim: refuses an existing version, puts the file in place (by default a
   * server-side copy of the staged object; `place` for an upload that completes into the file's key itself)
   * and writes the manifest.
   */
  async function publish(
    bucket: string,
    session: { uploadId: string; model: string; version: string; file: string },
    file: ManifestFile,
    place?: () => Promise<void>,
  ): Promise<VersionManifest> {
    const { model, version, uploadId } = session;
    const release = await acquireClaim(bucket, model, version, uploadId);
    try {
      if (await exists(bucket, manifestKey(model, version))) {
        throw new Conflict(`version ${model}/${version} already exists`);
      }
      const target = fileKey(model, version, file.name);
      const manifest: VersionManifest = {
        schemaVersion: 1,
        model,
        version,
        publishedAt: now().toISOString(),
        uploadId,
        files: [file],
      };
      try {
        if (place) await place();
        // composeObject copies server-side, and splits sources over 5 GiB into UploadPartCopy calls.
        else
          await client.composeObject(new CopyDestinationOptions({ Bucket: bucket, Object: target }), [
            new CopySourceOptions({ Bucket: bucket, Object: stagingDataKey(uploadId) }),
          ]);
        await putConditional(bucket, manifestKey(model, version), manifest, { ifNoneMatch: '*' });
      } catch (error) {
        // We hold the claim and no manifest existed, so the copied file is ours to take back.
        if (errorCode(error) !== 'PreconditionFailed') await removeQuietly(bucket, target);
        throw error;
      }
      return manifest;
    } finally {
      await release();
    }
  }

  async function removeStaging(bucket: string, uploadId: string): Promise<void> {
    await removeQuietly(bucket, stagingDataKey(uploadId));
    await removeQuietly(bucket, sessionKey(uploadId));
  }

  async function refuseExistingVersion(bucket: string, model: string, version: string): Promise<void> {
    if (await exists(bucket, manifestKey(model, version)))
      throw new Conflict(`version ${model}/${version} already exists`);
  }

  function checkDeclaredSize(size: number | undefined, limit: number, pointer: string): void {
    if (size === undefined) return;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new Invalid(`${pointer} must be a non-negative integer`, [
        { pointer, reason: 'not a byte count' },
      ]);
    }
    if (size > limit)
      throw new Invalid(`${pointer} ${size} exceeds the limit of ${limit} bytes`, [
        { pointer, reason: 'too large' },
      ]);
  }

  /**
   * Upload of a body whose size is unknown (chunked transfer): copied into one `bufferedPartBytes` buffer that
   * is sent as a part whenever it is full and then reused, so one part is in memory however large the body;
   * our own multipart calls on a unique key, never minio-js's putObject resumption logic.
   */
  async function putUnknownSize(bucket: string, key: string, body: Readable): Promise<void> {
    const part = Buffer.allocUnsafe(bufferedPartBytes);
    let filled = 0;
    let s3UploadId: string | undefined;
    const parts: { part: number; etag: string }[] = [];
    const flushPart = async (): Promise<void> => {
      s3UploadId ??= await client.initiateNewMultipartUpload(bucket, key, {});
      const number = parts.length + 1;
      // minio-js is done with the buffer once the part is stored, so it can be refilled afterwards.
      const { etag } = await client.uploadPart(
        { bucketName: bucket, objectName: key, uploadID: s3UploadId, partNumber: number, headers: {} },
        part.subarray(0, filled),
      );
      parts.push({ part: number, etag });
      filled = 0;
    };
    try {
      for await (const chunk of body) {
        for (let offset = 0; offset < (chunk as Buffer).length;) {
          const copied = (chunk as Buffer).copy(part, filled, offset);
          filled += copied;
          offset += copied;
          if (filled === bufferedPartBytes) await flushPart();
        }
      }
      if (s3UploadId === undefined) {
        // Small or empty body: one plain PUT (minio-js 8.0.7 mishandles empty unknown-size streams).
        await streamPut(client, { bucket, key }, Readable.from([part.subarray(0, filled)]), filled);
        return;
      }
      if (filled > 0) await flushPart();
      await client.completeMultipartUpload(bucket, key, s3UploadId, parts);
    } catch (error) {
      if (s3UploadId !== undefined)
        await client.abortMultipartUpload(bucket, key, s3UploadId).catch(() => undefined);
      throw error;
    }
  }

  /**
   * A single-request upload of known size, streamed straight into a multipart upload of the version's file:
   * part after part cut from the request body as it arrives (one chunk in memory), hashed on the way, so
   * neither a read-back for the checksum nor a copy is needed. Only completing the upload makes the bytes
   * land on the file's key, and that happens under the version's claim after the manifest was found absent,
   * so a losing or failing writer never touches a published file (its upload is aborted).
   */
  async function putInStreamedParts(
    bucket: string,
    session: { uploadId: string; model: string; version: string; file: string },
    hashed: Readable,
    counter: HashingCounter,
    size: number,
    expected: string | undefined,
  ): Promise<VersionManifest> {
    const target = fileKey(session.model, session.version, session.file);
    const s3UploadId = await client.initiateNewMultipartUpload(bucket, target, {});
    let completed = false;
    try {
      const partBytes = Math.max(streamPartBytes, Math.ceil(size / MAX_PART_NUMBER));
      const slicer = new StreamSlicer(hashed);
      const parts: { part: number; etag: string }[] = [];
      for (let offset = 0; offset < size; offset += partBytes) {
        const length = Math.min(partBytes, size - offset);
        const part = parts.length + 1;
        const query = { partNumber: String(part), uploadId: s3UploadId };
        const etag = await streamPut(client, { bucket, key: target, query }, slicer.next(length), length);
        parts.push({ part, etag });
      }
      await slicer.end();
      assertChecksum(expected, counter.sha256);
      return await publish(
        bucket,
        session,
        { name: session.file, size: counter.bytes, sha256: counter.sha256 },
        async () => {
          await client.completeMultipartUpload(bucket, target, s3UploadId, parts);
          completed = true;
        },
      );
    } finally {
      if (!completed) await client.abortMultipartUpload(bucket, target, s3UploadId).catch(() => undefined);
    }
  }

  async function readSession(
    bucket: string,
    model: string,
    version: string,
    uploadId: string,
  ): Promise<StoredSession> {
    const missing = new NotFound(`upload ${uploadId} of version ${model}/${version} not found`);
    if (!isUploadId(uploadId)) throw missing;
    let session: StoredSession;
    try {
      session = await readJson<StoredSession>(bucket, sessionKey(uploadId));
    } catch (error) {
      if (errorCode(error) === 'NoSuchKey') throw missing;
      throw error;
    }
    if (session.model !== model || session.version !== version) throw missing;
    return session;
  }

  async function listSessionParts(bucket: string, session: StoredSession): Promise<UploadedPart[]> {
    // listParts is `protected` in minio-js's typings but is the documented ListParts call; we need it to resume.
    const lister = client as unknown as {
      listParts(
        b: string,
        k: string,
        id: string,
      ): Promise<{ part: number; size: number; etag: string; lastModified?: Date }[]>;
    };
    const parts = await lister.listParts(bucket, stagingDataKey(session.uploadId), session.s3UploadId);
    return parts
      .map((p) => ({
        partNumber: p.part,
        size: p.size,
        etag: p.etag.replace(/^"|"$/g, ''),
        ...(p.lastModified ? { lastModified: new Date(p.lastModified).toISOString() } : {}),
      }))
      .sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * Aborts the S3 multipart uploads of the sessions `selected` picks (by the session object's age). Sessions are
   * found through their session.json because MinIO lists multipart uploads only for an exact object name.
   */
  async function abortSessions(bucket: string, selected: (createdAt: Date) => boolean): Promise<number> {
    let aborted = 0;
    for (const object of await listObjectNames(bucket, '.staging/')) {
      if (!object.name.endsWith('/session.json') || !selected(object.lastModified)) continue;
      const session = await readJson<StoredSession>(bucket, object.name).catch(() => undefined);
      if (!session) continue;
      try {
        await client.abortMultipartUpload(bucket, stagingDataKey(session.uploadId), session.s3UploadId);
        aborted += 1;
      } catch (error) {
        if (errorCode(error) !== 'NoSuchUpload') throw error;
      }
    }
    return aborted;
  }

  function publicSession(session: StoredSession): UploadSession {
    const { s3UploadId: _hidden, ...visible } = session;
    return visible;
  }

  /** Rejects part lists S3 would reject (or silently accept with a hole) with a message a user can act on. */
  function checkPartsComplete(parts: UploadedPart[], declaredSize: number | undefined): number {
    parts.forEach((part, index) => {
      if (part.partNumber !== index + 1) {
        throw new Invalid(`part ${index + 1} is missing; upload it before completing`, [
          { pointer: `parts/${index + 1}`, reason: 'missing' },
        ]);
      }
      if (index < parts.length - 1 && part.size < MIN_PART_BYTES) {
        throw new Invalid(
          `part ${part.partNumber} has ${part.size} bytes; every part but the last needs at least ${MIN_PART_BYTES}`,
          [{ pointer: `parts/${part.partNumber}`, reason: 'too small' }],
        );
      }
    });
    const total = parts.reduce((sum, part) => sum + part.size, 0);
    if (declaredSize !== undefined && total !== declaredSize) {
      throw new Invalid(`received ${total} bytes but the session declared ${declaredSize}`, [
        { pointer: 'size', reason: 'does not match the parts' },
      ]);
    }
    return total;
  }

  function validateVersionPath(tenant: string, model: string, version: string): string {
    validateTenant(tenant);
    validateModel(model);
    validateVersion(version);
    return bucketName(tenant);
  }

  const store: ModelStore = {
    async ensureBucket(tenant) {
      validateTenant(tenant);
      const bucket = bucketName(tenant);
      await guarded(`bucket ${bucket}`, async () => {
        // Creating first is one round trip for a new tenant (the operator ensures each bucket once per run);
        // an existing bucket answers BucketAlreadyOwnedByYou. Any other refusal (e.g. credentials that may
        // read but not create buckets) is judged as before: a bucket we can see is fine, else the error stands.
        try {
          await client.makeBucket(bucket, region);
        } catch (error) {
          if (errorCode(error) === 'BucketAlreadyOwnedByYou') return;
          if (await client.bucketExists(bucket)) return;
          throw error;
        }
      });
    },

    async removeBucket(tenant, options = {}) {
      validateTenant(tenant);
      const bucket = bucketName(tenant);
      await guarded(`bucket ${bucket}`, async () => {
        if (!(await client.bucketExists(bucket))) return;
        if (options.purge) {
          await abortSessions(bucket, () => true);
          await removeAll(
            bucket,
            (await listObjectNames(bucket, '')).map((o) => o.name),
          );
        }
        try {
          await client.removeBucket(bucket);
        } catch (error) {
          if (errorCode(error) === 'BucketNotEmpty')
            throw new Conflict(`bucket ${bucket} still holds objects`);
          if (errorCode(error) !== 'NoSuchBucket') throw error;
        }
      });
    },

    async listModels(tenant) {
      validateTenant(tenant);
      const bucket = bucketName(tenant);
      return guarded(`bucket of tenant ${tenant}`, async () => {
        const models = new Map<string, ModelSummary>();
        for (const object of await listObjectNames(bucket, 'models/')) {
          const [, model, version, file] = object.name.split('/');
          if (!model || !version || file !== MANIFEST_FILE) continue;
          const publishedAt = object.lastModified.toISOString();
          const summary = models.get(model) ?? { name: model, versions: 0, lastPublishedAt: publishedAt };
          summary.versions += 1;
          if (publishedAt > summary.lastPublishedAt) summary.lastPublishedAt = publishedAt;
          models.set(model, summary);
        }
        return [...models.values()].sort((a, b) => a.name.localeCompare(b.name));
      });
    },

    async listVersions(tenant, model) {
      validateTenant(tenant);
      validateModel(model);
      const bucket = bucketName(tenant);
      return guarded(`model ${model}`, async () => {
        const versions: VersionSummary[] = [];
        for (const object of await listObjectNames(bucket, `models/${model}/`)) {
          const [, , version, file] = object.name.split('/');
          if (version && file === MANIFEST_FILE)
            versions.push({ version, publishedAt: object.lastModified.toISOString() });
        }
        if (versions.length === 0) throw new NotFound(`model ${model} not found`);
        return versions.sort(
          (a, b) => a.publishedAt.localeCompare(b.publishedAt) || a.version.localeCompare(b.version),
        );
      });
    },

    async getManifest(tenant, model, version) {
      const bucket = validateVersionPath(tenant, model, version);
      return guarded(`version ${model}/${version}`, () =>
        readJson<VersionManifest>(bucket, manifestKey(model, version)),
      );
    },

    async putVersionFile(tenant, model, version, file, body, options = {}) {
      const bucket = validateVersionPath(tenant, model, version);
      validateFile(file);
      const expected = options.sha256 === undefined ? undefined : normaliseSha256(options.sha256);
      checkDeclaredSize(options.size, S3_MAX_OBJECT_BYTES, 'size');
      const what = `version ${model}/${version}`;
      const uploadId = newUploadId();
      const staged = stagingDataKey(uploadId);
      try {
        return await guarded(what, async () => {
          await refuseExistingVersion(bucket, model, version);
          const counter =
            options.size === undefined
              ? new HashingCounter({ maxBytes: maxSinglePutBytes })
              : new HashingCounter({ expectedBytes: options.size });
          const hashed = body.pipe(counter);
          // pipe() does not forward errors: a client that disconnects must fail the upload. The failure
          // reaches the caller through whoever reads `hashed`; these listeners only keep a second emission
          // (or one after the reader let go) from becoming an uncaught exception.
          body.on('error', (error) => counter.destroy(error));
          counter.on('error', () => undefined);
          body.once('aborted', () => counter.destroy(new Invalid(`${what}: the upload was interrupted`)));
          if (options.size !== undefined && options.size > streamPartBytes) {
            const session = { uploadId, model, version, file };
            return putInStreamedParts(bucket, session, hashed, counter, options.size, expected);
          }
          if (options.size === undefined) await putUnknownSize(bucket, staged, hashed);
          else await streamPut(client, { bucket, key: staged }, hashed, options.size);
          assertChecksum(expected, counter.sha256);
          return publish(
            bucket,
            { uploadId, model, version, file },
            { name: file, size: counter.bytes, sha256: counter.sha256 },
          );
        });
      } finally {
        await removeQuietly(bucket, staged);
      }
    },

    async startUpload(tenant, model, version, file, options = {}) {
      const bucket = validateVersionPath(tenant, model, version);
      validateFile(file);
      const sha256 = options.sha256 === undefined ? undefined : normaliseSha256(options.sha256);
      checkDeclaredSize(options.size, maxPartBytes * MAX_PART_NUMBER, 'size');
      return guarded(`version ${model}/${version}`, async () => {
        await refuseExistingVersion(bucket, model, version);
        const uploadId = newUploadId();
        const s3UploadId = await client.initiateNewMultipartUpload(bucket, stagingDataKey(uploadId), {});
        const session: StoredSession = {
          uploadId,
          model,
          version,
          file,
          createdAt: now().toISOString(),
          s3UploadId,
          ...(options.size === undefined ? {} : { size: options.size }),
          ...(sha256 === undefined ? {} : { sha256 }),
        };
        await putConditional(bucket, sessionKey(uploadId), session, { ifNoneMatch: '*' });
        return publicSession(session);
      });
    },

    async getUpload(tenant, model, version, uploadId) {
      const bucket = validateVersionPath(tenant, model, version);
      return guarded(`upload ${uploadId}`, async () => {
        const session = await readSession(bucket, model, version, uploadId);
        const parts = await listSessionParts(bucket, session);
        return { ...publicSession(session), parts, receivedBytes: parts.reduce((sum, p) => sum + p.size, 0) };
      });
    },

    async uploadPart(tenant, model, version, uploadId, partNumber, body, size) {
      const bucket = validateVersionPath(tenant, model, version);
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
        throw new Invalid(`part number must be an integer from 1 to ${MAX_PART_NUMBER}`, [
          { pointer: 'partNumber', reason: 'out of range' },
        ]);
      }
      checkDeclaredSize(size, maxPartBytes, 'part size');
      return guarded(`upload ${uploadId}`, async () => {
        const session = await readSession(bucket, model, version, uploadId);
        const counter = new HashingCounter({ expectedBytes: size });
        const hashed = body.pipe(counter);
        body.once('error', (error) => counter.destroy(error));
        body.once('aborted', () => counter.destroy(new Invalid(`part ${partNumber} was interrupted`)));
        const etag = await streamPut(
          client,
          {
            bucket,
            key: stagingDataKey(uploadId),
            query: { partNumber: String(partNumber), uploadId: session.s3UploadId },
          },
          hashed,
          size,
        );
        return { partNumber, size, etag };
      });
    },

    async completeUpload(tenant, model, version, uploadId, options = {}) {
      const bucket = validateVersionPath(tenant, model, version);
      const declared = options.sha256 === undefined ? undefined : normaliseSha256(options.sha256);
      return guarded(`upload ${uploadId}`, async () => {
        const session = await readSession(bucket, model, version, uploadId);
        const expected = declared ?? session.sha256;
        const staged = stagingDataKey(uploadId);
        const parts = await listSessionParts(bucket, session);
        checkPartsComplete(parts, session.size);
        if (parts.length === 0) {
          // S3 cannot complete a multipart upload without parts: an empty file is one empty PUT.
          await client.abortMultipartUpload(bucket, staged, session.s3UploadId).catch(() => undefined);
          await streamPut(client, { bucket, key: staged }, Readable.from([]), 0);
        } else {
          await client.completeMultipartUpload(
            bucket,
            staged,
            session.s3UploadId,
            parts.map((p) => ({ part: p.partNumber, etag: p.etag })),
          );
        }
        try {
          // SHA-256 cannot be combined from per-part hashes, so the assembled object is read back once.
          const counter = new HashingCounter();
          await drain((await client.getObject(bucket, staged)).pipe(counter));
          assertChecksum(expected, counter.sha256);
          return await publish(bucket, session, {
            name: session.file,
            size: counter.bytes,
            sha256: counter.sha256,
          });
        } finally {
          // Whatever happened, the assembled bytes are no longer a resumable session.
          await removeStaging(bucket, uploadId);
        }
      });
    },

    async abortUpload(tenant, model, version, uploadId) {
      const bucket = validateVersionPath(tenant, model, version);
      await guarded(`upload ${uploadId}`, async () => {
        const session = await readSession(bucket, model, version, uploadId);
        try {
          await client.abortMultipartUpload(bucket, stagingDataKey(uploadId), session.s3UploadId);
        } catch (error) {
          if (errorCode(error) !== 'NoSuchUpload') throw error;
        }
        await removeStaging(bucket, uploadId);
      });
    },

    async usage(tenant) {
      validateTenant(tenant);
      const bucket = bucketName(tenant);
      return guarded(`bucket of tenant ${tenant}`, async () => {
        const published = await listObjectNames(bucket, 'models/');
        const sessionObjects = (await listObjectNames(bucket, '.staging/')).filter((o) =>
          o.name.endsWith('/session.json'),
        );
        const sessions = await Promise.all(
          sessionObjects.map((o) => readJson<StoredSession>(bucket, o.name).catch(() => undefined)),
        );
        return {
          publishedBytes: published.reduce((sum, o) => sum + o.size, 0),
          openUploads: sessions
            .filter((session) => session !== undefined)
            .map((session) => ({
              uploadId: session.uploadId,
              createdAt: session.createdAt,
              ...(session.size === undefined ? {} : { size: session.size }),
            })),
        };
      });
    },

    async cleanupStaleUploads(tenant, olderThanMs) {
      validateTenant(tenant);
      const bucket = bucketName(tenant);
      const cutoff = now().getTime() - olderThanMs;
      return guarded(`bucket of tenant ${tenant}`, async () => {
        const abortedUploads = await abortSessions(bucket, (createdAt) => createdAt.getTime() < cutoff);
        const stale = [
          ...(await listObjectNames(bucket, '.staging/')),
          ...(await listObjectNames(bucket, '.claims/')),
        ]
          .filter((o) => o.lastModified.getTime() < cutoff)
          .map((o) => o.name);
        await removeAll(bucket, stale);
        return { removedObjects: stale.length, abortedUploads };
      });
    },

    async download(tenant, model, version, file, options = {}) {
      const bucket = validateVersionPath(tenant, model, version);
      validateFile(file);
      const manifest = await store.getManifest(tenant, model, version);
      const entry = manifest.files.find((f) => f.name === file);
      if (!entry) throw new NotFound(`file ${file} of version ${model}/${version} not found`);
      const range = parseRange(options.range, entry.size);
      if (range === 'unsatisfiable') throw new RangeNotSatisfiable(entry.size);
      return guarded(`file ${file} of version ${model}/${version}`, async () => {
        const key = fileKey(model, version, file);
        if (range === undefined) {
          const stream = entry.size === 0 ? Readable.from([]) : await client.getObject(bucket, key);
          return { stream, size: entry.size, sha256: entry.sha256, contentLength: entry.size };
        }
        const length = range.end - range.start + 1;
        const stream = await client.getPartialObject(bucket, key, range.start, length);
        return {
          stream,
          size: entry.size,
          sha256: entry.sha256,
          contentLength: length,
          range: { ...range, contentRange: `bytes ${range.start}-${range.end}/${entry.size}` },
        };
      });
    },

    async deleteVersion(tenant, model, version) {
      const bucket = validateVersionPath(tenant, model, version);
      await guarded(`version ${model}/${version}`, async () => {
        const release = await acquireClaim(bucket, model, version, `delete-${newUploadId()}`);
        try {
          if (!(await exists(bucket, manifestKey(model, version))))
            throw new NotFound(`version ${model}/${version} not found`);
          await client.removeObject(bucket, manifestKey(model, version));
          const rest = (await listObjectNames(bucket, versionPrefix(model, version))).map((o) => o.name);
          await removeAll(bucket, rest);
        } finally {
          await release();
        }
      });
    },

    async issueReadCredentials(tenant, ttlSeconds) {
      validateTenant(tenant);
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 900 || ttlSeconds > 43_200) {
        throw new Invalid('ttlSeconds must be an integer from 900 to 43200 (STS limits)', [
          { pointer: 'ttlSeconds', reason: 'out of range' },
        ]);
      }
      const bucket = bucketName(tenant);
      const provider = new AssumeRoleProvider({
        stsEndpoint: `${config.useSSL ? 'https' : 'http'}://${config.endPoint}:${config.port}`,
        accessKey: config.accessKey,
        secretKey: config.secretKey,
        durationSeconds: ttlSeconds,
        region,
        policy: JSON.stringify(readOnlyPolicy(bucket)),
      });
      const issuedAt = now().getTime();
      const credentials = await guarded('STS AssumeRole', () => provider.getCredentials());
      return {
        accessKey: credentials.accessKey,
        secretKey: credentials.secretKey,
        sessionToken: credentials.sessionToken ?? '',
        expiresAt: new Date(issuedAt + ttlSeconds * 1000).toISOString(),
        bucket,
        prefix: 'models/',
        endPoint: config.endPoint,
        port: config.port,
        useSSL: config.useSSL,
        region,
      };
    },
  };
  return store;
}

/**
 * Session policy for read credentials: an STS session can never exceed its parent's rights, and this policy
 * narrows them to listing and reading `models/` of one bucket (no staging, no claims, no other tenant).
 */
export function readOnlyPolicy(bucket: string): object {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/models/*`] },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [`arn:aws:s3:::${bucket}`],
        Condition: { StringLike: { 's3:prefix': ['models/', 'models/*'] } },
      },
      { Effect: 'Allow', Action: ['s3:GetBucketLocation'], Resource: [`arn:aws:s3:::${bucket}`] },
    ],
  };
}
