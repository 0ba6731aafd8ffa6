import { z } from 'zod';
import { InvalidError, RESERVED_ENDPOINT_NAMES, isDomainError } from '../../domain/index.ts';
import type { InferenceEndpointSpec, ServingRuntime } from '../../domain/index.ts';
import type { ModelStore } from '../../storage/store.ts';
import type { Guard } from '../guard.ts';
import { newestVersion } from '../kube-ports.ts';
import type { EndpointStore } from '../ports.ts';
import { presentEndpoint } from '../presenters.ts';
import { assertWithinQuota } from '../quota.ts';
import { defineRoute } from '../route.ts';
import type { ApiContext, ApiRoute } from '../route.ts';
import { endpointName, quantity, tenantName } from '../schemas.ts';
import type { RouteDeps } from './context.ts';
import { condition, etag, ifMatch } from './tenants.ts';

/** What the endpoint routes need besides the common route dependencies. */
export interface EndpointRoutesDeps {
  store: EndpointStore;
  /** The model registry, to check that a model version exists before an endpoint refers to it. */
  models: Pick<ModelStore, 'getManifest' | 'listVersions'>;
}

const MAX_REPLICAS = 100;

const resourceNames = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() });
const resources = z.strictObject({ requests: resourceNames.optional(), limits: resourceNames.optional() });
const modelRef = z.strictObject({
  name: z.string().min(1).max(128),
  version: z.string().min(1).max(128).default('latest'),
});
const replicas = z.number().int().min(0).max(MAX_REPLICAS);
const allowedClientSubjects = z.array(z.string().min(1).max(64)).max(100);

/** Wire shape of an endpoint (mirrors presenters.EndpointDto). */
export const endpointDto = z.object({
  name: z.string(),
  tenant: z.string(),
  model: z.object({ name: z.string(), version: z.string() }),
  runtime: z.string(),
  replicas: z.number(),
  resources: resources.optional(),
  allowedClientSubjects: z.array(z.string()).optional(),
  resourceVersion: z.string().optional(),
  createdAt: z.string().optional(),
  deleting: z.boolean(),
  status: z.object({
    ready: z.enum(['True', 'False', 'Unknown']),
    conditions: z.array(condition),
    url: z.string().optional(),
    readyReplicas: z.number(),
    servedModelVersion: z.string().optional(),
    observedGeneration: z.number().optional(),
  }),
});

/** POST /tenants/:tenant/endpoints body. */
export const createEndpointBody = z.strictObject({
  name: endpointName.refine((name) => !RESERVED_ENDPOINT_NAMES.includes(name), {
    message: 'is reserved: registry.<tenant hostname> is the tenant’s model registry',
  }),
  model: modelRef,
  runtime: z.string().min(1).max(253),
  replicas: replicas.default(1),
  resources: resources.optional(),
  allowedClientSubjects: allowedClientSubjects.optional(),
});

/** PATCH /tenants/:tenant/endpoints/:endpoint body: fields present are replaced. */
export const patchEndpointBody = z
  .strictObject({
    model: modelRef.optional(),
    runtime: z.string().min(1).max(253).optional(),
    replicas: replicas.optional(),
    resources: resources.optional(),
    allowedClientSubjects: allowedClientSubjects.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'nothing to change' });

const scaleBody = z.strictObject({ replicas });
const tenantParams = z.object({ tenant: tenantName });
const endpointParams = z.object({ tenant: tenantName, endpoint: endpointName });

/** Endpoint CRUD and scale (docs/rbac.md: verbs on `tenants/endpoints`). */
export function endpointRoutes(deps: RouteDeps & { endpoints: EndpointRoutesDeps }): ApiRoute[] {
  const { guard, prefix, tenants } = deps;
  const store = deps.endpoints.store;
  const base = `${prefix}/tenants/:tenant/endpoints`;
  const check = (
    ctx: ApiContext,
    tenant: string,
    verb: Parameters<Guard['tenant']>[2]['verb'],
    action: string,
    target: string,
  ) => guard.tenant(ctx, tenant, { action: `endpoints.${action}`, target, verb, subresource: 'endpoints' });
  const target = (tenant: string, endpoint?: string) =>
    `tenants/${tenant}/endpoints${endpoint ? `/${endpoint}` : ''}`;

  /** Checks references and quota of a desired spec, then writes it. */
  const validated = async (
    tenant: string,
    spec: InferenceEndpointSpec,
    self: string | undefined,
    changes: { model: boolean; runtime: boolean },
  ): Promise<void> => {
    const catalog = await deps.runtimes.list();
    const runtimes = new Map<string, ServingRuntime>(catalog.map((r) => [r.metadata.name, r]));
    if (changes.runtime && !runtimes.has(spec.runtime)) {
      throw new InvalidError([{ pointer: '/runtime', message: `no serving runtime "${spec.runtime}"` }]);
    }
    if (changes.model) await assertModelVersionExists(deps.endpoints.models, tenant, spec);
    const owner = await tenants.get(tenant);
    const others = (await store.list(tenant)).filter((e) => e.metadata.name !== self).map((e) => e.spec);
    assertWithinQuota(owner.spec.quota, spec, others, runtimes);
  };

  return [
    defineRoute({
      operationId: 'listEndpoints',
      method: 'get',
      path: base,
      resource: 'endpoints',
      summary: 'List the endpoints of a tenant with their status',
      authorization: 'list tenants/<tenant>/endpoints',
      params: tenantParams,
      responses: { 200: { description: 'Endpoints', schema: z.object({ items: z.array(endpointDto) }) } },
      async handle(ctx, { params }) {
        await check(ctx, params.tenant, 'list', 'list', target(params.tenant));
        const items = (await store.list(params.tenant))
          .map((e) => presentEndpoint(params.tenant, e))
          .sort((a, b) => a.name.localeCompare(b.name));
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      operationId: 'createEndpoint',
      method: 'post',
      path: base,
      resource: 'endpoints',
      summary: 'Create an endpoint serving a model version with a runtime (quota checked first)',
      authorization: 'create tenants/<tenant>/endpoints',
      params: tenantParams,
      body: createEndpointBody,
      responses: {
        201: { description: 'Created', schema: endpointDto },
        409: { description: 'An endpoint of that name exists, or the tenant’s quota would be exceeded' },
        422: { description: 'Unknown runtime or model version' },
      },
      async handle(ctx, { params, body }) {
        const what = target(params.tenant, body.name);
        await check(ctx, params.tenant, 'create', 'create', what);
        const spec: InferenceEndpointSpec = {
          tenant: params.tenant,
          model: { name: body.model.name, version: body.model.version },
          runtime: body.runtime,
          replicas: body.replicas,
          ...(body.resources ? { resources: body.resources } : {}),
          ...(body.allowedClientSubjects ? { allowedClientSubjects: body.allowedClientSubjects } : {}),
        };
        await validated(params.tenant, spec, undefined, { model: true, runtime: true });
        const created = await store.create(params.tenant, body.name, spec);
        guard.changed(ctx, params.tenant, 'endpoints.create', what);
        return {
          status: 201,
          body: presentEndpoint(params.tenant, created),
          headers: { Location: `${prefix}/tenants/${params.tenant}/endpoints/${body.name}` },
        };
      },
    }),
    defineRoute({
      operationId: 'getEndpoint',
      method: 'get',
      path: `${base}/:endpoint`,
      resource: 'endpoints',
      summary: 'Get an endpoint and its status',
      authorization: 'get tenants/<tenant>/endpoints',
      params: endpointParams,
      responses: { 200: { description: 'The endpoint', schema: endpointDto } },
      async handle(ctx, { params }) {
        await check(ctx, params.tenant, 'get', 'get', target(params.tenant, params.endpoint));
        const endpoint = await store.get(params.tenant, params.endpoint);
        return {
          status: 200,
          body: presentEndpoint(params.tenant, endpoint),
          headers: etag(endpoint.metadata.resourceVersion),
        };
      },
    }),
    defineRoute({
      operationId: 'updateEndpoint',
      method: 'patch',
      path: `${base}/:endpoint`,
      resource: 'endpoints',
      summary: 'Change an endpoint’s model version, runtime, replicas, resources or allowed subjects',
      authorization: 'patch tenants/<tenant>/endpoints',
      params: endpointParams,
      body: patchEndpointBody,
      responses: {
        200: { description: 'The updated endpoint', schema: endpointDto },
        409: { description: 'Stale If-Match, or the tenant’s quota would be exceeded' },
        422: { description: 'Unknown runtime or model version' },
      },
      async handle(ctx, { params, body }) {
        const what = target(params.tenant, params.endpoint);
        await check(ctx, params.tenant, 'patch', 'update', what);
        const current = await store.get(params.tenant, params.endpoint);
        const spec: InferenceEndpointSpec = {
          ...current.spec,
          ...(body.model ? { model: { name: body.model.name, version: body.model.version } } : {}),
          ...(body.runtime !== undefined ? { runtime: body.runtime } : {}),
          ...(body.replicas !== undefined ? { replicas: body.replicas } : {}),
          ...(body.resources !== undefined ? { resources: body.resources } : {}),
          ...(body.allowedClientSubjects !== undefined
            ? { allowedClientSubjects: body.allowedClientSubjects }
            : {}),
        };
        await validated(params.tenant, spec, current.metadata.name, {
          model: body.model !== undefined,
          runtime: body.runtime !== undefined,
        });
        const updated = await store.update(params.tenant, params.endpoint, spec, {
          resourceVersion: ifMatch(ctx.get('If-Match')) ?? current.metadata.resourceVersion,
        });
        guard.changed(ctx, params.tenant, 'endpoints.update', what);
        return {
          status: 200,
          body: presentEndpoint(params.tenant, updated),
          headers: etag(updated.metadata.resourceVersion),
        };
      },
    }),
    ...(['put', 'patch'] as const).map((method) =>
      defineRoute({
        operationId: method === 'put' ? 'replaceEndpointReplicas' : 'scaleEndpoint',
        method,
        path: `${base}/:endpoint/replicas`,
        resource: 'endpoints',
        summary: 'Scale an endpoint (quota checked first)',
        authorization: `${method === 'put' ? 'update' : 'patch'} tenants/<tenant>/endpoints`,
        params: endpointParams,
        body: scaleBody,
        responses: {
          200: { description: 'The scaled endpoint', schema: endpointDto },
          409: { description: 'The tenant’s quota would be exceeded' },
        },
        async handle(ctx, { params, body }) {
          const what = `${target(params.tenant, params.endpoint)}/replicas`;
          await check(ctx, params.tenant, method === 'put' ? 'update' : 'patch', 'scale', what);
          const current = await store.get(params.tenant, params.endpoint);
          const spec: InferenceEndpointSpec = { ...current.spec, replicas: body.replicas };
          await validated(params.tenant, spec, current.metadata.name, { model: false, runtime: false });
          const updated = await store.update(params.tenant, params.endpoint, spec, {
            resourceVersion: current.metadata.resourceVersion,
          });
          guard.changed(ctx, params.tenant, 'endpoints.scale', what);
          return { status: 200, body: presentEndpoint(params.tenant, updated) };
        },
      }),
    ),
    defineRoute({
      operationId: 'deleteEndpoint',
      method: 'delete',
      path: `${base}/:endpoint`,
      resource: 'endpoints',
      summary: 'Delete an endpoint (its Deployment and Service go with it)',
      authorization: 'delete tenants/<tenant>/endpoints',
      params: endpointParams,
      responses: { 204: { description: 'Deleted' } },
      async handle(ctx, { params }) {
        const what = target(params.tenant, params.endpoint);
        await check(ctx, params.tenant, 'delete', 'delete', what);
        await store.delete(params.tenant, params.endpoint);
        guard.changed(ctx, params.tenant, 'endpoints.delete', what);
        return { status: 204 };
      },
    }),
  ];
}

/** A 422 naming `/model/...` unless the version (or, for `latest`, any version) is published. */
async function assertModelVersionExists(
  models: EndpointRoutesDeps['models'],
  tenant: string,
  spec: InferenceEndpointSpec,
): Promise<void> {
  const version = spec.model.version ?? 'latest';
  if (version === 'latest') {
    if ((await newestVersion(models, tenant, spec.model.name)) === undefined) {
      throw new InvalidError([
        { pointer: '/model/name', message: `model "${spec.model.name}" has no published version` },
      ]);
    }
    return;
  }
  try {
    await models.getManifest(tenant, spec.model.name, version);
  } catch (error) {
    if (isDomainError(error, 'NotFound') || isDomainError(error, 'Invalid')) {
      throw new InvalidError([
        {
          pointer: '/model/version',
          message: `model "${spec.model.name}" has no published version "${version}"`,
        },
      ]);
    }
    throw error;
  }
}
