import type Router from '@koa/router';
import { z } from 'zod';
import { Conflict, RangeNotSatisfiable } from '../../storage/errors.ts';
import type { ModelStore, VersionManifest } from '../../storage/store.ts';
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
  /** Path prefix of the API version (default `/v1`). */
  prefix?: string;
  /** Largest single-request upload accepted (default 5 GiB, the S3 limit); larger files use upload sessions. */
  maxSinglePutBytes?: number;
  /** Largest part accepted in an upload session (default 512 MiB). */
  maxPartBytes?: number;
}

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

const completeUploadBody = z.object({ sha256: sha256Schema.optional() }).optional();

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

/**
 * The model and version routes (docs/storage.md). Uploads stream from the client's request to the object
 * store without buffering; a client that disconnects leaves nothing published and no staged data.
 */
export function modelRoutes(deps: ModelsRouterDeps): ApiRoute[] {
  const { store } = deps;
  const prefix = deps.prefix ?? '/v1';
  const maxSinglePutBytes = deps.maxSinglePutBytes ?? 5 * 1024 * MIB;
  const maxPartBytes = deps.maxPartBytes ?? 512 * MIB;
  const base = `${prefix}/tenants/:tenant/models`;
  const audit = (ctx: ApiContext, event: ModelAuditEvent): void => deps.audit?.(ctx, event);
  const versionTarget = (p: { tenant: string; model: string; version: string }): string =>
    `tenants/${p.tenant}/models/${p.model}/versions/${p.version}`;
  /** A version just became visible (single PUT or completed session): audit it and point at it. */
  const published = (
    ctx: ApiContext,
    params: { tenant: string; model: string; version: string },
    manifest: VersionManifest,
  ) => {
    audit(ctx, { tenant: params.tenant, action: 'models.upload', target: versionTarget(params) });
    return {
      status: 201,
      body: manifest,
      headers: { Location: `${prefix}/${versionTarget(params)}` },
    };
  };

  return [
    defineRoute({
      operationId: 'listModels',
      method: 'get',
      path: base,
      resource: 'models',
      summary: 'List the models of a tenant that have at least one published version',
      authorization: 'list tenants/<tenant>/models',
      params: tenantParams,
      responses: { 200: { description: 'The models' } },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'list', 'models');
        return { status: 200, body: { items: await store.listModels(params.tenant) } };
      },
    }),
    defineRoute({
      operationId: 'listModelVersions',
      method: 'get',
      path: `${base}/:model/versions`,
      resource: 'models',
      summary: 'List the published versions of a model',
      authorization: 'list tenants/<tenant>/models',
      params: modelParams,
      responses: { 200: { description: 'The versions' }, 404: { description: 'No such model' } },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'list', 'models');
        return { status: 200, body: { items: await store.listVersions(params.tenant, params.model) } };
      },
    }),
    defineRoute({
      operationId: 'getModelVersion',
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
      rawBody: {
        contentType: 'application/octet-stream',
        description: `The file. Content-Length (or chunked, up to the limit); optional ${CHECKSUM_HEADER}.`,
      },
      responses: {
        201: { description: 'Published; the manifest', schema: manifestSchema },
        409: { description: 'The version already exists or is being written' },
        413: { description: 'Larger than the single-request limit: use an upload session' },
        422: { description: 'Checksum mismatch, truncated body or invalid name' },
      },
      async handle(ctx, { params }) {
        await deps.authorize(ctx, params.tenant, 'create', 'models');
        allowLongUpload(ctx.req);
        const size = declaredLength(ctx);
        if (size !== undefined && size > maxSinglePutBytes)
          throw tooLarge(maxSinglePutBytes, 'use an upload session');
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
        return published(ctx, params, manifest);
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
        409: { description: 'The version already exists' },
      },
      async handle(ctx, { params, body }) {
        await deps.authorize(ctx, params.tenant, 'create', 'models');
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
        return published(ctx, params, manifest);
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
