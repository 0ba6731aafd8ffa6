import type Router from '@koa/router';
import { z } from 'zod';
import { Conflict, RangeNotSatisfiable } from '../../storage/errors.ts';
import {
  S3_MAX_OBJECT_BYTES,
  type ModelStore,
  type StorageUsage,
  type VersionManifest,
} from '../../storage/store.ts';
import { InvalidError, QuotaExceededError } from '../../domain/errors.ts';
import type { RegistryRecord } from '../../registry/repository.ts';
import { buildRouters, defineRoute, type ApiContext, type ApiRoute } from '../route.ts';
import { HttpProblem } from '../problem.ts';
import { allowLongUpload } from '../slow-clients.ts';

/** Management-plane verbs the model routes check (docs/storage.md lists which route needs which). */
export type ModelVerb = 'list' | 'get' | 'create' | 'delete';

/** A state change worth an audit line; the API core turns it into its audit format. */
export interface ModelAuditEvent {
  tenant: string;
  /** e.g. `models.upload`, `models.delete`. */
  action: string;
  /** e.g. `tenants/acme/models/resnet/versions/3`. */
  target: string;
}

/** What the models router needs from the rest of the API; everything is injected so it stays decoupled. */
export interface ModelsRouterDeps {
  store: ModelStore;
  /**
   * Throws (Forbidden, NotFound, Unauthenticated) unless the caller of `ctx` may perform `verb` on the
   * `subresource` of tenant `tenant`. Called before any byte of an upload is read.
   */
  authorize(ctx: ApiContext, tenant: string, verb: ModelVerb, subresource: 'models'): Promise<void>;
  /** Names of the endpoints serving this version (empty when none); a non-empty answer blocks deletion. */
  isVersionInUse(tenant: string, model: string, version: string): Promise<string[] | boolean>;
  /** Called after every successful state change. */
  audit?(ctx: ApiContext, event: ModelAuditEvent): void;
  /**
   * The model registry's metadata (PostgreSQL): a published version becomes a registered model, model version
   * and model artifact there; a deleted one leaves it. Absent when the API runs without a registry.
   */
  metadata?: ModelMetadataSink;
  /** What the registry records of the listed models and versions (state, description); absent without one. */
  records?: ModelRegistryRecords;
  /** Path prefix of the API version (default `/v1`). */
  prefix?: string;
  /**
   * Largest single-request upload of declared size (default 5 TiB, S3's largest object: the store streams it
   * in parts); a chunked body is limited by the store (5 GiB).
   */
  maxSinglePutBytes?: number;
  /** Largest part accepted in an upload session (default 512 MiB). */
  maxPartBytes?: number;
  /** The tenant's storage quota in bytes (`spec.quota.storageBytes`); undefined when it has none. */
  storageQuota?(tenant: string): Promise<number | undefined>;
  /** Upload sessions a tenant may have open at once (default 16); stale ones are swept on a schedule. */
  maxOpenUploads?: number;
}

/** Where published and deleted versions are recorded besides the object store (the model registry). */
export interface ModelMetadataSink {
  published(
    ctx: ApiContext,
    tenant: string,
    version: { model: string; version: string; format: ModelFormat },
  ): Promise<void>;
  deleted(tenant: string, model: string, version: string): Promise<void>;
}

/** Reads of the model registry, so the lists show its state and description beside the stored files. */
export interface ModelRegistryRecords {
  models(tenant: string, names: readonly string[]): Promise<Map<string, RegistryRecord>>;
  versions(tenant: string, model: string, versions: readonly string[]): Promise<Map<string, RegistryRecord>>;
}

/** `items` with each one's registry record as `registry`, where the registry has one. */
function withRecords<T extends object>(
  items: T[],
  nameOf: (item: T) => string,
  records: Map<string, RegistryRecord>,
): (T & { registry?: RegistryRecord })[] {
  return items.map((item) => {
    const record = records.get(nameOf(item));
    return record ? { ...item, registry: record } : item;
  });
}

/** The model's format, as the registry's model artifact records it (e.g. `onnx` `1`). */
export interface ModelFormat {
  modelFormatName?: string;
  modelFormatVersion?: string;
}

const formatField = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._+-]+$/, 'letters, digits and ._+- only');
const formatQuery = z.object({
  modelFormatName: formatField.optional(),
  modelFormatVersion: formatField.optional(),
});

const MIB = 1024 * 1024;
const CHECKSUM_HEADER = 'X-Checksum-Sha256';

const tenantParams = z.object({ tenant: z.string() });
const modelParams = tenantParams.extend({ model: z.string() });
const versionParams = modelParams.extend({ version: z.string() });
const fileParams = versionParams.extend({ file: z.string() });
const uploadParams = versionParams.extend({ uploadId: z.string() });
const partParams = uploadParams.extend({
  partNumber: z.coerce.number().int().min(1).max(10_000),
});

const sha256Schema = z
  .string()
  .regex(/^[A-Fa-f0-9]{64}$/, 'must be 64 hexadecimal digits (SHA-256)')
  .transform((s) => s.toLowerCase());

const startUploadBody = z.object({
  file: z.string().min(1),
  size: z.number().int().nonnegative().optional(),
  sha256: sha256Schema.optional(),
});

const completeUploadBody = z
  .object({
    sha256: sha256Schema.optional(),
    modelFormatName: formatField.optional(),
    modelFormatVersion: formatField.optional(),
  })
  .optional();

const manifestFileSchema = z.object({ name: z.string(), size: z.number(), sha256: z.string() });
const manifestSchema = z.object({
  schemaVersion: z.literal(1),
  model: z.string(),
  version: z.string(),
  publishedAt: z.string(),
  uploadId: z.string(),
  files: z.array(manifestFileSchema),
});
const sessionSchema = z.object({
  uploadId: z.string(),
  model: z.string(),
  version: z.string(),
  file: z.string(),
  createdAt: z.string(),
  size: z.number().optional(),
  sha256: z.string().optional(),
});
const partSchema = z.object({
  partNumber: z.number(),
  size: z.number(),
  etag: z.string(),
  lastModified: z.string().optional(),
});

/** The Content-Length of the request, `undefined` for a chunked body; 400 when it is not a number. */
function declaredLength(ctx: ApiContext): number | undefined {
  const header = ctx.get('Content-Length');
  if (header === '') return undefined;
  const length = Number(header);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new HttpProblem(400, 'bad-request', 'Bad request', 'Content-Length is not a byte count', [
      { parameter: 'Content-Length', reason: 'not a byte count' },
    ]);
  }
  return length;
}

function tooLarge(limit: number, hint: string): HttpProblem {
  return new HttpProblem(
    413,
    'payload-too-large',
    'Payload too large',
    `request body exceeds ${limit} bytes; ${hint}`,
    [],
    {
      Connection: 'close',
    },
  );
}

/** The optional X-Checksum-Sha256 header, validated. */
function declaredChecksum(ctx: ApiContext): string | undefined {
  const header = ctx.get(CHECKSUM_HEADER);
  if (header === '') return undefined;
  const parsed = sha256Schema.safeParse(header);
  if (!parsed.success) {
    throw new HttpProblem(
      400,
      'bad-request',
      'Bad request',
      `${CHECKSUM_HEADER} must be 64 hexadecimal digits`,
      [{ parameter: CHECKSUM_HEADER, reason: 'not a SHA-256 hex digest' }],
    );
  }
  return parsed.data;
}

function lengthRequired(why: string): HttpProblem {
  return new HttpProblem(411, 'length-required', 'Length required', why);
}

/**
 * Bytes the tenant has committed: its published versions, plus what every open upload session declared (a
 * session reserves its size when it starts, and its parts may never exceed it).
 */
function committedBytes(usage: StorageUsage, except?: string): number {
  return (
    usage.publishedBytes +
    usage.openUploads.filter((u) => u.uploadId !== except).reduce((sum, u) => sum + (u.size ?? 0), 0)
  );
}

/** What `GET …/storage` answers: the bytes the storage quota counts, and the quota. */
const storageUsageSchema = z.object({
  /** Bytes of published versions. */
  publishedBytes: z.number().int(),
  /** Bytes reserved by open upload sessions (their declared sizes). */
  reservedBytes: z.number().int(),
  /** What the quota counts: published plus reserved. */
  usedBytes: z.number().int(),
  openUploads: z.number().int(),
  quotaBytes: z.number().int().optional(),
});

/** Refuses `bytes` more when they would take the tenant past its storage quota. */
function assertStorageFits(quota: number | undefined, committed: number, bytes: number): void {
  if (quota !== undefined && committed + bytes > quota) {
    throw new QuotaExceededError('storageBytes', String(quota), String(committed + bytes));
  }
}

/**
 * The model and version routes (docs/storage.md). Uploads stream from the client's request to the object
 * store without buffering; a client that disconnects leaves nothing published and no staged data.
 */
export function modelRoutes(deps: ModelsRouterDeps): ApiRoute[] {
  const { store } = deps;
  const prefix = deps.prefix ?? '/v1';
  const maxSinglePutBytes = deps.maxSinglePutBytes ?? S3_MAX_OBJECT_BYTES;
  const maxPartBytes = deps.maxPartBytes ?? 512 * MIB;
  const maxOpenUploads = deps.maxOpenUploads ?? 16;
  const storageQuota = (tenant: string) => deps.storageQuota?.(tenant) ?? Promise.resolve(undefined);
  const base = `${prefix}/tenants/:tenant/models`;
  const audit = (ctx: ApiContext, event: ModelAuditEvent): void => deps.audit?.(ctx, event);
  const versionTarget = (p: { tenant: string; model: string; version: string }): string =>
    `tenants/${p.tenant}/models/${p.model}/versions/${p.version}`;
  /** A version just became visible (single PUT or completed session): audit it and point at it. */
  const published = async (
    ctx: ApiContext,
    params: { tenant: string; model: string; version: string },
    manifest: VersionManifest,
    format: ModelFormat,
  ) => {
    await deps.metadata?.published(ctx, params.tenant, {
      model: params.model,
      version: params.version,
      format: {
        ...(format.modelFormatName ? { modelFormatName: format.modelFormatName } : {}),
        ...(format.modelFormatVersion ? { modelFormatVersion: format.modelFormatVersion } : {}),
      },
    });
    audit(ctx, { tenant: params.tenant, action: 'models.upload', target: versionTarget(params) });
    return {
      status: 201,
      body: manifest,
      headers: { Location: `${prefix}/${versionTarget(params)}` },
    };
  };

  /**
   * Per part: a session never receives more than the size it declared (and reserved); one that declared none
   * (opened while the tenant had no quota) is held to what is left of the quota.
   */
  const assertPartFits = async (
    params: { tenant: string; model: string; version: string; uploadId: string; partNumber: number },
    size: number,
  ) => {
    const upload = await store.getUpload(params.tenant, params.model, params.version, params.uploadId);
    const others = upload.parts
      .filter((part) => part.partNumber !== params.partNumber)
      .reduce((sum, part) => sum + part.size, 0);
    if (upload.size !== undefined) {
      if (others + size > upload.size) {
        throw new QuotaExceededError(
          'storageBytes',
          String(upload.size),
          String(others + size),
          `the parts would hold ${others + size} bytes, more than the ${upload.size} this upload declared`,
        );
      }
      return;
    }
    const quota = await storageQuota(params.tenant);
    if (quota !== undefined) {
      assertStorageFits(
        quota,
        committedBytes(await store.usage(params.tenant), params.uploadId),
        others + size,
      );
    }
  };

  return [
    defineRoute({
      operationId: 'getStorageUsage',
      method: 'get',
      path: `${prefix}/tenants/:tenant/storage`,
      resource: 'models',
      summary: "The tenant's stored bytes as its storage quota counts them, beside the quota",
      authorization: 'list tenants/<tenant>/models',
      params: tenantParams,
      responses: { 200: { description: 'Usage', schema: storageUsageSchema } },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'list', 'models');
        const [usage, quota] = await Promise.all([store.usage(params.tenant), storageQuota(params.tenant)]);
        const reservedBytes = committedBytes(usage) - usage.publishedBytes;
        return {
          status: 200,
          body: {
            publishedBytes: usage.publishedBytes,
            reservedBytes,
            usedBytes: usage.publishedBytes + reservedBytes,
            openUploads: usage.openUploads.length,
            ...(quota !== undefined ? { quotaBytes: quota } : {}),
          },
        };
      },
    }),
    defineRoute({
      operationId: 'listModels',
      method: 'get',
      path: base,
      resource: 'models',
      summary:
        'List the models of a tenant that have at least one published version, with their registry state',
      authorization: 'list tenants/<tenant>/models',
      params: tenantParams,
      responses: { 200: { description: 'The models' } },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'list', 'models');
        const items = await store.listModels(params.tenant);
        if (!deps.records) return { status: 200, body: { items } };
        const records = await deps.records.models(
          params.tenant,
          items.map((item) => item.name),
        );
        return { status: 200, body: { items: withRecords(items, (item) => item.name, records) } };
      },
    }),
    defineRoute({
      operationId: 'listModelVersions',
      method: 'get',
      path: `${base}/:model/versions`,
      resource: 'models',
      summary: 'List the published versions of a model, with their registry state',
      authorization: 'list tenants/<tenant>/models',
      params: modelParams,
      responses: { 200: { description: 'The versions' }, 404: { description: 'No such model' } },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'list', 'models');
        const items = await store.listVersions(params.tenant, params.model);
        if (!deps.records) return { status: 200, body: { items } };
        const records = await deps.records.versions(
          params.tenant,
          params.model,
          items.map((item) => item.version),
        );
        return { status: 200, body: { items: withRecords(items, (item) => item.version, records) } };
      },
    }),
    defineRoute({
      operationId: 'getModelVersionManifest',
      method: 'get',
      path: `${base}/:model/versions/:version`,
      resource: 'models',
      summary: 'Read the manifest of a published version (files, sizes, SHA-256)',
      authorization: 'get tenants/<tenant>/models',
      params: versionParams,
      responses: {
        200: { description: 'The manifest', schema: manifestSchema },
        404: { description: 'No such version' },
      },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'get', 'models');
        return { status: 200, body: await store.getManifest(params.tenant, params.model, params.version) };
      },
    }),
    defineRoute({
      operationId: 'putModelVersionFile',
      method: 'put',
      path: `${base}/:model/versions/:version/files/:file`,
      resource: 'models',
      summary: 'Upload a version in one request; the version becomes visible when the upload is complete',
      authorization: 'create tenants/<tenant>/models',
      params: fileParams,
      query: formatQuery,
      rawBody: {
        contentType: 'application/octet-stream',
        description: `The file. Content-Length (or chunked, up to the limit); optional ${CHECKSUM_HEADER}.`,
      },
      responses: {
        201: { description: 'Published; the manifest', schema: manifestSchema },
        409: { description: 'The version already exists or is being written, or the storage quota is spent' },
        411: { description: 'No Content-Length while the tenant has a storage quota' },
        413: { description: 'Larger than the single-request limit: use an upload session' },
        422: { description: 'Checksum mismatch, truncated body or invalid name' },
      },
      async handle(ctx, { params, query }) {
        await deps.authorize(ctx, params.tenant, 'create', 'models');
        allowLongUpload(ctx.req);
        const size = declaredLength(ctx);
        if (size !== undefined && size > maxSinglePutBytes)
          throw tooLarge(maxSinglePutBytes, 'use an upload session');
        const quota = await storageQuota(params.tenant);
        if (quota !== undefined) {
          if (size === undefined) {
            throw lengthRequired('the tenant has a storage quota: send Content-Length so it can be checked');
          }
          assertStorageFits(quota, committedBytes(await store.usage(params.tenant)), size);
        }
        const sha256 = declaredChecksum(ctx);
        const manifest = await store.putVersionFile(
          params.tenant,
          params.model,
          params.version,
          params.file,
          ctx.req,
          {
            ...(size === undefined ? {} : { size }),
            ...(sha256 === undefined ? {} : { sha256 }),
          },
        );
        return published(ctx, params, manifest, query);
      },
    }),
    defineRoute({
      operationId: 'downloadModelVersionFile',
      method: 'get',
      path: `${base}/:model/versions/:version/files/:file`,
      resource: 'models',
      summary: 'Download a file of a published version; a single byte Range gives 206',
      authorization: 'get tenants/<tenant>/models',
      params: fileParams,
      responses: {
        200: { description: 'The file', contentType: 'application/octet-stream' },
        206: { description: 'The requested range', contentType: 'application/octet-stream' },
        404: { description: 'No such version or file' },
        416: { description: 'The range lies outside the file' },
      },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'get', 'models');
        const range = ctx.get('Range');
        let download;
        try {
          download = await store.download(params.tenant, params.model, params.version, params.file, {
            ...(range === '' ? {} : { range }),
          });
        } catch (error) {
          if (error instanceof RangeNotSatisfiable) {
            const size = error.size;
            throw new HttpProblem(416, 'range-not-satisfiable', 'Range not satisfiable', error.message, [], {
              'Content-Range': `bytes */${size}`,
            });
          }
          throw error;
        }
        ctx.set('Accept-Ranges', 'bytes');
        ctx.set(CHECKSUM_HEADER, download.sha256);
        ctx.set('ETag', `"${download.sha256}"`);
        ctx.type = 'application/octet-stream';
        if (download.range) {
          ctx.status = 206;
          ctx.set('Content-Range', download.range.contentRange);
        } else {
          ctx.status = 200;
        }
        ctx.body = download.stream;
        ctx.length = download.contentLength;
      },
    }),
    defineRoute({
      operationId: 'deleteModelVersion',
      method: 'delete',
      path: `${base}/:model/versions/:version`,
      resource: 'models',
      summary: 'Delete a version unless an endpoint still serves it',
      authorization: 'delete tenants/<tenant>/models',
      params: versionParams,
      responses: {
        204: { description: 'Deleted' },
        404: { description: 'No such version' },
        409: { description: 'An endpoint serves this version, or it is being written' },
      },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'delete', 'models');
        const inUse = await deps.isVersionInUse(params.tenant, params.model, params.version);
        if (inUse === true || (Array.isArray(inUse) && inUse.length > 0)) {
          const by = Array.isArray(inUse) ? ` by endpoint(s) ${inUse.join(', ')}` : '';
          throw new Conflict(`version ${params.model}/${params.version} is in use${by}`);
        }
        await store.deleteVersion(params.tenant, params.model, params.version);
        await deps.metadata?.deleted(params.tenant, params.model, params.version);
        audit(ctx, { tenant: params.tenant, action: 'models.delete', target: versionTarget(params) });
        return { status: 204 };
      },
    }),
    defineRoute({
      operationId: 'startModelUpload',
      method: 'post',
      path: `${base}/:model/versions/:version/uploads`,
      resource: 'models',
      summary: 'Open a resumable multipart upload session for one file of a new version',
      authorization: 'create tenants/<tenant>/models',
      params: versionParams,
      body: startUploadBody,
      responses: {
        201: { description: 'The session', schema: sessionSchema },
        409: {
          description:
            'The version already exists, too many sessions are open, or the storage quota is spent',
        },
        422: { description: 'No size declared while the tenant has a storage quota' },
      },
      async handle(ctx, { params, body }) {
        await deps.authorize(ctx, params.tenant, 'create', 'models');
        const usage = await store.usage(params.tenant);
        if (usage.openUploads.length >= maxOpenUploads) {
          throw new QuotaExceededError(
            'openUploads',
            String(maxOpenUploads),
            String(usage.openUploads.length + 1),
            `the tenant already has ${usage.openUploads.length} open upload sessions (at most ${maxOpenUploads}); complete or abort one first`,
          );
        }
        const quota = await storageQuota(params.tenant);
        if (quota !== undefined) {
          if (body.size === undefined) {
            throw new InvalidError([
              {
                pointer: '/size',
                message: 'required: the tenant has a storage quota, and a session reserves its size',
              },
            ]);
          }
          assertStorageFits(quota, committedBytes(usage), body.size);
        }
        const session = await store.startUpload(params.tenant, params.model, params.version, body.file, {
          ...(body.size === undefined ? {} : { size: body.size }),
          ...(body.sha256 === undefined ? {} : { sha256: body.sha256 }),
        });
        audit(ctx, { tenant: params.tenant, action: 'models.upload.start', target: versionTarget(params) });
        return {
          status: 201,
          body: session,
          headers: {
            Location: `${prefix}/tenants/${params.tenant}/models/${params.model}/versions/${params.version}/uploads/${session.uploadId}`,
          },
        };
      },
    }),
    defineRoute({
      operationId: 'uploadModelPart',
      method: 'put',
      path: `${base}/:model/versions/:version/uploads/:uploadId/parts/:partNumber`,
      resource: 'models',
      summary: `Upload one part (1-10000; 5 MiB minimum except the last); sending a part again replaces it`,
      authorization: 'create tenants/<tenant>/models',
      params: partParams,
      rawBody: {
        contentType: 'application/octet-stream',
        description: 'The part; Content-Length is required.',
      },
      responses: {
        200: { description: 'The stored part', schema: partSchema },
        404: { description: 'No such upload session' },
        409: { description: 'The parts would exceed the declared size or the storage quota' },
        411: { description: 'Content-Length missing' },
        413: { description: 'Part larger than the limit' },
      },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'create', 'models');
        const size = declaredLength(ctx);
        if (size === undefined) {
          throw new HttpProblem(
            411,
            'length-required',
            'Length required',
            'a part needs a Content-Length header',
          );
        }
        if (size > maxPartBytes) throw tooLarge(maxPartBytes, 'split it into smaller parts');
        await assertPartFits(params, size);
        allowLongUpload(ctx.req);
        const part = await store.uploadPart(
          params.tenant,
          params.model,
          params.version,
          params.uploadId,
          params.partNumber,
          ctx.req,
          size,
        );
        return { status: 200, body: part };
      },
    }),
    defineRoute({
      operationId: 'getModelUpload',
      method: 'get',
      path: `${base}/:model/versions/:version/uploads/:uploadId`,
      resource: 'models',
      summary: 'Read an upload session and the parts received so far, to resume it',
      authorization: 'create tenants/<tenant>/models',
      params: uploadParams,
      responses: {
        200: { description: 'The session and its parts' },
        404: { description: 'No such upload session' },
      },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'create', 'models');
        return {
          status: 200,
          body: await store.getUpload(params.tenant, params.model, params.version, params.uploadId),
        };
      },
    }),
    defineRoute({
      operationId: 'completeModelUpload',
      method: 'post',
      path: `${base}/:model/versions/:version/uploads/:uploadId/complete`,
      resource: 'models',
      summary: 'Assemble the parts, verify size and SHA-256, and publish the version',
      authorization: 'create tenants/<tenant>/models',
      params: uploadParams,
      body: completeUploadBody,
      responses: {
        201: { description: 'Published; the manifest', schema: manifestSchema },
        404: { description: 'No such upload session' },
        409: { description: 'The version was published by another upload' },
        422: { description: 'Missing or too small parts, size or checksum mismatch' },
      },
      async handle(ctx, { params, body }) {
        await deps.authorize(ctx, params.tenant, 'create', 'models');
        const sha256 = body?.sha256;
        const manifest = await store.completeUpload(
          params.tenant,
          params.model,
          params.version,
          params.uploadId,
          {
            ...(sha256 === undefined ? {} : { sha256 }),
          },
        );
        return published(ctx, params, manifest, body ?? {});
      },
    }),
    defineRoute({
      operationId: 'abortModelUpload',
      method: 'delete',
      path: `${base}/:model/versions/:version/uploads/:uploadId`,
      resource: 'models',
      summary: 'Abort an upload session and remove its parts',
      authorization: 'delete tenants/<tenant>/models',
      params: uploadParams,
      responses: { 204: { description: 'Aborted' }, 404: { description: 'No such upload session' } },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'delete', 'models');
        await store.abortUpload(params.tenant, params.model, params.version, params.uploadId);
        audit(ctx, { tenant: params.tenant, action: 'models.upload.abort', target: versionTarget(params) });
        return { status: 204 };
      },
    }),
  ];
}

/** The models router: {@link modelRoutes} registered on one @koa/router. */
export function modelsRouter(deps: ModelsRouterDeps): Router {
  const [router] = buildRouters(modelRoutes(deps));
  if (!router) throw new Error('models routes are empty');
  return router;
}
