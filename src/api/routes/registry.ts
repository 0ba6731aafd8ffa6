import { z } from 'zod';
import type { Decision } from '../../auth/authorize.ts';
import type { Identity } from '../../auth/identity.ts';
import { ForbiddenError, InvalidError, NotFoundError, REGISTRY_API_PREFIXES } from '../../domain/index.ts';
import {
  ARTIFACT_KINDS,
  artifactKind,
  bodySchema,
  idSchema,
  KINDS,
  present,
  type EntityInput,
  type EntityKind,
  type EntityRow,
} from '../../registry/kinds.ts';
import type { ListQuery, RegistryRepository } from '../../registry/repository.ts';
import { defineRoute, identityOf, type ApiContext, type ApiRoute } from '../route.ts';

/** What the registry routes need from the rest of the API. */
export interface RegistryRoutesDeps {
  repository: RegistryRepository;
  /** The tenant whose registry a request's host names, or undefined (404). */
  tenantForHost(hostname: string): Promise<string | undefined>;
  /** Whether the caller may use the tenant's registry (RBAC: get on the registry Service). */
  access(identity: Identity, tenant: string): Promise<Decision>;
  /** Called after every successful state change (the audit log). */
  audit?(ctx: ApiContext, event: { tenant: string; action: string; target: string }): void;
}

const pageQuery = {
  filterQuery: z
    .string()
    .max(4096)
    .regex(/^[\x20-\x7E]*$/, 'must be printable ASCII')
    .optional(),
  pageSize: z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive whole number')
    .transform(Number)
    .optional(),
  orderBy: z.enum(['CREATE_TIME', 'LAST_UPDATE_TIME', 'ID']).optional(),
  sortOrder: z.enum(['ASC', 'DESC']).optional(),
  nextPageToken: z.string().max(1024).optional(),
};
const byNameQuery = {
  name: z.string().min(1).max(255).optional(),
  externalId: z.string().min(1).max(255).optional(),
};
const artifactTypeQuery = {
  artifactType: z
    .enum(['model-artifact', 'doc-artifact', 'dataset-artifact', 'metric', 'parameter'])
    .optional(),
};

const listQuerySchema = z.object(pageQuery);
const nestedListQuerySchema = z.object({ ...pageQuery, ...byNameQuery });
const artifactListQuerySchema = z.object({ ...pageQuery, ...artifactTypeQuery });
const nestedArtifactListQuerySchema = z.object({ ...pageQuery, ...byNameQuery, ...artifactTypeQuery });
const findQuerySchema = z.object({ ...byNameQuery, parentResourceId: idSchema.optional() });
const idParams = z.object({ id: idSchema });

/** A generic artifact body: its `artifactType` picks the schema (model-artifact when absent, as upstream). */
const artifactBody = (mode: 'create' | 'update') =>
  z
    .looseObject({
      artifactType: z.enum(['model-artifact', 'doc-artifact']).optional(),
    })
    .transform((body, ctx): { kind: EntityKind; input: EntityInput; id?: string } => {
      const kind = artifactKind(body.artifactType ?? 'model-artifact')!;
      const parsed = bodySchema(KINDS[kind], mode).safeParse(body);
      if (!parsed.success) {
        for (const issue of parsed.error.issues)
          ctx.addIssue({ ...issue, code: 'custom', message: issue.message });
        return z.NEVER;
      }
      const id = (body as { id?: unknown }).id;
      if (id !== undefined && (typeof id !== 'string' || !/^[1-9][0-9]{0,17}$/.test(id))) {
        ctx.addIssue({ code: 'custom', path: ['id'], message: 'must be an id (a string of digits)' });
        return z.NEVER;
      }
      return { kind, input: parsed.data, ...(typeof id === 'string' ? { id } : {}) };
    });

const listResponse = {
  description: 'One page: items, size, pageSize, nextPageToken (empty on the last page)',
};
const errorResponses = {
  400: { description: 'Bad request: invalid parameters, body, filterQuery or nextPageToken' },
  401: { description: 'Missing or invalid bearer token' },
  403: { description: "Not allowed to use this tenant's registry" },
  404: { description: 'No registry at this host, or no such entity' },
};

/**
 * The Kubeflow Model Registry REST API of every tenant, under both path prefixes (`v1`, `v1alpha3`), from one
 * implementation. The tenant is the one the request's host names (`registry.<tenant hostname>`,
 * `<t>.<serving namespace>.svc`); the caller must be allowed to `get` that tenant's registry Service. No
 * DELETE, as upstream: hard deletion stays on the management API with its in-use check.
 */
export function registryRoutes(deps: RegistryRoutesDeps): ApiRoute[] {
  const { repository } = deps;

  /** Resolves the tenant from the host and checks access; every registry handler starts here. */
  const tenantOf = async (ctx: ApiContext): Promise<string> => {
    const tenant = await deps.tenantForHost(ctx.hostname);
    if (!tenant)
      throw new NotFoundError(
        'model registry',
        ctx.hostname,
        `no model registry is served at host "${ctx.hostname}"`,
      );
    const decision = await deps.access(identityOf(ctx), tenant);
    if (!decision.allowed)
      throw new ForbiddenError(`not allowed to use the model registry of tenant "${tenant}"`);
    return tenant;
  };
  const changed = (ctx: ApiContext, tenant: string, action: string, row: EntityRow) =>
    deps.audit?.(ctx, {
      tenant,
      action: `registry.${action}`,
      target: `tenants/${tenant}/registry/${row.kind}/${row.id}`,
    });
  const page = (result: Awaited<ReturnType<RegistryRepository['list']>>) => ({
    items: result.items.map(present),
    nextPageToken: result.nextPageToken,
    pageSize: result.pageSize,
    size: result.size,
  });
  const listQuery = (
    kinds: readonly EntityKind[],
    query: {
      filterQuery?: string | undefined;
      pageSize?: number | undefined;
      orderBy?: ListQuery['orderBy'];
      sortOrder?: ListQuery['sortOrder'];
      nextPageToken?: string | undefined;
      name?: string | undefined;
      externalId?: string | undefined;
    },
    parentId?: string,
  ): ListQuery => ({
    kinds,
    ...(parentId ? { parentId } : {}),
    ...(query.filterQuery ? { filterQuery: query.filterQuery } : {}),
    ...(query.pageSize ? { pageSize: query.pageSize } : {}),
    ...(query.orderBy ? { orderBy: query.orderBy } : {}),
    ...(query.sortOrder ? { sortOrder: query.sortOrder } : {}),
    ...(query.nextPageToken ? { nextPageToken: query.nextPageToken } : {}),
    ...(query.name ? { name: query.name } : {}),
    ...(query.externalId ? { externalId: query.externalId } : {}),
  });
  /** Artifact kinds a list covers: the `artifactType` asked for, or all we serve (none for types we do not). */
  const artifactKinds = (type: string | undefined): EntityKind[] =>
    type === undefined ? [...ARTIFACT_KINDS] : ((k) => (k ? [k] : []))(artifactKind(type));

  const routes: ApiRoute[] = [];
  for (const prefix of REGISTRY_API_PREFIXES) {
    const version = prefix.slice(prefix.lastIndexOf('/') + 1);
    const suffix = version === 'v1' ? '' : `_${version}`;
    const resource = `model-registry-${version}`;
    const authorization = 'get services/<registry Service of the tenant> in the serving namespace';

    /** list / create / get / patch / find of one top-level collection. */
    const collection = (spec: {
      kind: EntityKind;
      plural: string;
      singular: string;
      /** Operation id stem, e.g. `RegisteredModel`. */
      name: string;
    }) => {
      const kindSpec = KINDS[spec.kind];
      routes.push(
        defineRoute({
          operationId: `get${spec.name}s${suffix}`,
          method: 'get',
          path: `${prefix}/${spec.plural}`,
          resource,
          summary: `List ${kindSpec.title}s`,
          authorization,
          query: listQuerySchema,
          responses: { 200: listResponse, ...errorResponses },
          async handle(ctx, { query }) {
            const tenant = await tenantOf(ctx);
            return { status: 200, body: page(await repository.list(tenant, listQuery([spec.kind], query))) };
          },
        }),
        defineRoute({
          operationId: `create${spec.name}${suffix}`,
          method: 'post',
          path: `${prefix}/${spec.plural}`,
          resource,
          summary: `Create a ${kindSpec.title}`,
          authorization,
          body: bodySchema(kindSpec, 'create'),
          responses: {
            201: { description: `The new ${kindSpec.title}` },
            409: { description: 'Name or externalId taken' },
            ...errorResponses,
          },
          async handle(ctx, { body }) {
            const tenant = await tenantOf(ctx);
            const row = await repository.create(tenant, spec.kind, body);
            changed(ctx, tenant, 'create', row);
            return { status: 201, body: present(row) };
          },
        }),
        defineRoute({
          operationId: `get${spec.name}${suffix}`,
          method: 'get',
          path: `${prefix}/${spec.plural}/:id`,
          resource,
          summary: `Read a ${kindSpec.title}`,
          authorization,
          params: idParams,
          responses: { 200: { description: `The ${kindSpec.title}` }, ...errorResponses },
          async handle(ctx, { params }) {
            const tenant = await tenantOf(ctx);
            return { status: 200, body: present(await repository.get(tenant, [spec.kind], params.id)) };
          },
        }),
        defineRoute({
          operationId: `update${spec.name}${suffix}`,
          method: 'patch',
          path: `${prefix}/${spec.plural}/:id`,
          resource,
          summary: `Update a ${kindSpec.title} (given fields replace stored ones; customProperties as a whole)`,
          authorization,
          params: idParams,
          body: bodySchema(kindSpec, 'update'),
          responses: { 200: { description: `The updated ${kindSpec.title}` }, ...errorResponses },
          async handle(ctx, { params, body }) {
            const tenant = await tenantOf(ctx);
            const row = await repository.update(tenant, [spec.kind], params.id, body);
            changed(ctx, tenant, 'update', row);
            return { status: 200, body: present(row) };
          },
        }),
        defineRoute({
          operationId: `find${spec.name}${suffix}`,
          method: 'get',
          path: `${prefix}/${spec.singular}`,
          resource,
          summary: `Find a ${kindSpec.title} by name${kindSpec.parent ? ' (and parentResourceId)' : ''} or externalId`,
          authorization,
          query: findQuerySchema,
          responses: { 200: { description: `The ${kindSpec.title}` }, ...errorResponses },
          async handle(ctx, { query }) {
            const tenant = await tenantOf(ctx);
            const row = await repository.find(tenant, [spec.kind], findBy(query));
            return { status: 200, body: present(row) };
          },
        }),
      );
    };

    /** The nested list and create of `childKind` under a parent. */
    const nested = (spec: {
      parentKind: EntityKind;
      parentPlural: string;
      childKind: EntityKind;
      childPath: string;
      listOperation: string;
      createOperation: string;
    }) => {
      const child = KINDS[spec.childKind];
      const parentField = child.parent?.field;
      routes.push(
        defineRoute({
          operationId: `${spec.listOperation}${suffix}`,
          method: 'get',
          path: `${prefix}/${spec.parentPlural}/:id/${spec.childPath}`,
          resource,
          summary: `List the ${child.title}s of a ${KINDS[spec.parentKind].title}`,
          authorization,
          params: idParams,
          query: nestedListQuerySchema,
          responses: { 200: listResponse, ...errorResponses },
          async handle(ctx, { params, query }) {
            const tenant = await tenantOf(ctx);
            await repository.get(tenant, [spec.parentKind], params.id);
            return {
              status: 200,
              body: page(await repository.list(tenant, listQuery([spec.childKind], query, params.id))),
            };
          },
        }),
        defineRoute({
          operationId: `${spec.createOperation}${suffix}`,
          method: 'post',
          path: `${prefix}/${spec.parentPlural}/:id/${spec.childPath}`,
          resource,
          summary: `Create a ${child.title} under a ${KINDS[spec.parentKind].title}`,
          authorization,
          params: idParams,
          body: bodySchema(child, 'create', { parentInPath: true }),
          responses: {
            201: { description: `The new ${child.title}` },
            409: { description: 'Name taken' },
            ...errorResponses,
          },
          async handle(ctx, { params, body }) {
            const tenant = await tenantOf(ctx);
            if (body.parentId && body.parentId !== params.id) {
              throw new InvalidError([
                {
                  pointer: `/${parentField}`,
                  message: `must be ${params.id} (the id in the path) or absent`,
                },
              ]);
            }
            const row = await repository.create(tenant, spec.childKind, { ...body, parentId: params.id });
            changed(ctx, tenant, 'create', row);
            return { status: 201, body: present(row) };
          },
        }),
      );
    };

    collection({
      kind: 'registered-model',
      plural: 'registered_models',
      singular: 'registered_model',
      name: 'RegisteredModel',
    });
    nested({
      parentKind: 'registered-model',
      parentPlural: 'registered_models',
      childKind: 'model-version',
      childPath: 'versions',
      listOperation: 'getRegisteredModelVersions',
      createOperation: 'createRegisteredModelVersion',
    });
    collection({
      kind: 'model-version',
      plural: 'model_versions',
      singular: 'model_version',
      name: 'ModelVersion',
    });
    collection({
      kind: 'model-artifact',
      plural: 'model_artifacts',
      singular: 'model_artifact',
      name: 'ModelArtifact',
    });
    collection({
      kind: 'serving-environment',
      plural: 'serving_environments',
      singular: 'serving_environment',
      name: 'ServingEnvironment',
    });
    nested({
      parentKind: 'serving-environment',
      parentPlural: 'serving_environments',
      childKind: 'inference-service',
      childPath: 'inference_services',
      listOperation: 'getEnvironmentInferenceServices',
      createOperation: 'createEnvironmentInferenceService',
    });
    collection({
      kind: 'inference-service',
      plural: 'inference_services',
      singular: 'inference_service',
      name: 'InferenceService',
    });
    nested({
      parentKind: 'inference-service',
      parentPlural: 'inference_services',
      childKind: 'serve-model',
      childPath: 'serves',
      listOperation: 'getInferenceServiceServes',
      createOperation: 'createInferenceServiceServe',
    });

    routes.push(
      defineRoute({
        operationId: `getInferenceServiceModel${suffix}`,
        method: 'get',
        path: `${prefix}/inference_services/:id/model`,
        resource,
        summary: 'The RegisteredModel an InferenceService serves',
        authorization,
        params: idParams,
        responses: { 200: { description: 'The RegisteredModel' }, ...errorResponses },
        async handle(ctx, { params }) {
          const tenant = await tenantOf(ctx);
          const service = await repository.get(tenant, ['inference-service'], params.id);
          const id = service.properties['registeredModelId'] as string;
          return { status: 200, body: present(await repository.get(tenant, ['registered-model'], id)) };
        },
      }),
      defineRoute({
        operationId: `getInferenceServiceVersion${suffix}`,
        method: 'get',
        path: `${prefix}/inference_services/:id/version`,
        resource,
        summary:
          'The ModelVersion an InferenceService serves (its modelVersionId, else the newest LIVE version)',
        authorization,
        params: idParams,
        responses: { 200: { description: 'The ModelVersion' }, ...errorResponses },
        async handle(ctx, { params }) {
          const tenant = await tenantOf(ctx);
          const service = await repository.get(tenant, ['inference-service'], params.id);
          const versionId = service.properties['modelVersionId'] as string | undefined;
          if (versionId)
            return { status: 200, body: present(await repository.get(tenant, ['model-version'], versionId)) };
          const latest = await repository.list(tenant, {
            kinds: ['model-version'],
            parentId: service.properties['registeredModelId'] as string,
            filterQuery: 'state = "LIVE"',
            orderBy: 'CREATE_TIME',
            sortOrder: 'DESC',
            pageSize: 1,
          });
          if (!latest.items[0]) throw new NotFoundError('ModelVersion', `of inference service ${params.id}`);
          return { status: 200, body: present(latest.items[0]) };
        },
      }),
      // Versions' artifacts (model and doc): list, and the upsert the Python client registers artifacts with.
      defineRoute({
        operationId: `getModelVersionArtifacts${suffix}`,
        method: 'get',
        path: `${prefix}/model_versions/:id/artifacts`,
        resource,
        summary: 'List the artifacts of a ModelVersion',
        authorization,
        params: idParams,
        query: nestedArtifactListQuerySchema,
        responses: { 200: listResponse, ...errorResponses },
        async handle(ctx, { params, query }) {
          const tenant = await tenantOf(ctx);
          await repository.get(tenant, ['model-version'], params.id);
          const kinds = artifactKinds(query.artifactType);
          if (kinds.length === 0)
            return {
              status: 200,
              body: { items: [], nextPageToken: '', pageSize: query.pageSize ?? 0, size: 0 },
            };
          return {
            status: 200,
            body: page(await repository.list(tenant, listQuery(kinds, query, params.id))),
          };
        },
      }),
      defineRoute({
        operationId: `upsertModelVersionArtifact${suffix}`,
        method: 'post',
        path: `${prefix}/model_versions/:id/artifacts`,
        resource,
        summary:
          'Create an artifact under a ModelVersion, or attach and update an existing one (body with id)',
        authorization,
        params: idParams,
        body: artifactBody('create'),
        responses: {
          200: { description: 'The existing artifact, attached and updated' },
          201: { description: 'The new artifact' },
          409: { description: 'Name taken, or the artifact belongs to another version' },
          ...errorResponses,
        },
        async handle(ctx, { params, body }) {
          const tenant = await tenantOf(ctx);
          if (body.id) {
            const row = await repository.attach(tenant, body.id, params.id, body.input);
            changed(ctx, tenant, 'update', row);
            return { status: 200, body: present(row) };
          }
          await repository.get(tenant, ['model-version'], params.id);
          const row = await repository.create(tenant, body.kind, { ...body.input, parentId: params.id });
          changed(ctx, tenant, 'create', row);
          return { status: 201, body: present(row) };
        },
      }),
      // The generic artifacts endpoint (model and doc artifacts).
      defineRoute({
        operationId: `getArtifacts${suffix}`,
        method: 'get',
        path: `${prefix}/artifacts`,
        resource,
        summary: 'List artifacts (model and doc artifacts; artifactType narrows)',
        authorization,
        query: artifactListQuerySchema,
        responses: { 200: listResponse, ...errorResponses },
        async handle(ctx, { query }) {
          const tenant = await tenantOf(ctx);
          const kinds = artifactKinds(query.artifactType);
          if (kinds.length === 0)
            return {
              status: 200,
              body: { items: [], nextPageToken: '', pageSize: query.pageSize ?? 0, size: 0 },
            };
          return { status: 200, body: page(await repository.list(tenant, listQuery(kinds, query))) };
        },
      }),
      defineRoute({
        operationId: `createArtifact${suffix}`,
        method: 'post',
        path: `${prefix}/artifacts`,
        resource,
        summary: 'Create a standalone artifact (model or doc)',
        authorization,
        body: artifactBody('create'),
        responses: {
          201: { description: 'The new artifact' },
          409: { description: 'Name taken' },
          ...errorResponses,
        },
        async handle(ctx, { body }) {
          const tenant = await tenantOf(ctx);
          if (body.id) throw new InvalidError([{ pointer: '/id', message: 'is set by the server' }]);
          const row = await repository.create(tenant, body.kind, body.input);
          changed(ctx, tenant, 'create', row);
          return { status: 201, body: present(row) };
        },
      }),
      defineRoute({
        operationId: `getArtifact${suffix}`,
        method: 'get',
        path: `${prefix}/artifacts/:id`,
        resource,
        summary: 'Read an artifact',
        authorization,
        params: idParams,
        responses: { 200: { description: 'The artifact' }, ...errorResponses },
        async handle(ctx, { params }) {
          const tenant = await tenantOf(ctx);
          return { status: 200, body: present(await repository.get(tenant, ARTIFACT_KINDS, params.id)) };
        },
      }),
      defineRoute({
        operationId: `updateArtifact${suffix}`,
        method: 'patch',
        path: `${prefix}/artifacts/:id`,
        resource,
        summary: 'Update an artifact',
        authorization,
        params: idParams,
        body: artifactBody('update'),
        responses: { 200: { description: 'The updated artifact' }, ...errorResponses },
        async handle(ctx, { params, body }) {
          const tenant = await tenantOf(ctx);
          const current = await repository.get(tenant, ARTIFACT_KINDS, params.id);
          if (current.kind !== body.kind) {
            throw new InvalidError([
              {
                pointer: '/artifactType',
                message: `is ${KINDS[current.kind].artifactType}, it cannot change`,
              },
            ]);
          }
          const row = await repository.update(tenant, [current.kind], params.id, body.input);
          changed(ctx, tenant, 'update', row);
          return { status: 200, body: present(row) };
        },
      }),
      defineRoute({
        operationId: `findArtifact${suffix}`,
        method: 'get',
        path: `${prefix}/artifact`,
        resource,
        summary: 'Find an artifact by name (and parentResourceId) or externalId',
        authorization,
        query: findQuerySchema,
        responses: { 200: { description: 'The artifact' }, ...errorResponses },
        async handle(ctx, { query }) {
          const tenant = await tenantOf(ctx);
          return { status: 200, body: present(await repository.find(tenant, ARTIFACT_KINDS, findBy(query))) };
        },
      }),
    );
  }
  return routes;
}

/**
 * Runs before the registry routes (after authentication): resolves the tenant from the host (404 when no
 * registry is served there) and checks access (403), before any parameter or body is even parsed, so a
 * caller without access learns nothing from validation errors.
 */
export function registryGate(deps: Pick<RegistryRoutesDeps, 'tenantForHost' | 'access'>) {
  return async function registryGateMiddleware(ctx: ApiContext, next: () => Promise<unknown>): Promise<void> {
    if (!REGISTRY_PATH.test(ctx.path)) return void (await next());
    const tenant = await deps.tenantForHost(ctx.hostname);
    if (!tenant) {
      throw new NotFoundError(
        'model registry',
        ctx.hostname,
        `no model registry is served at host "${ctx.hostname}"`,
      );
    }
    const decision = await deps.access(identityOf(ctx), tenant);
    if (!decision.allowed)
      throw new ForbiddenError(`not allowed to use the model registry of tenant "${tenant}"`);
    (ctx.state as { registryTenant?: string }).registryTenant = tenant;
    await next();
  };
}

const REGISTRY_PATH = /^\/api\/model_registry\//;

function findBy(query: {
  name?: string | undefined;
  externalId?: string | undefined;
  parentResourceId?: string | undefined;
}) {
  return {
    ...(query.name !== undefined ? { name: query.name } : {}),
    ...(query.externalId !== undefined ? { externalId: query.externalId } : {}),
    ...(query.parentResourceId !== undefined ? { parentId: query.parentResourceId } : {}),
  };
}
