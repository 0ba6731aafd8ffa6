import Koa from 'koa';
import type { Context, Middleware, Next } from 'koa';
import Router from '@koa/router';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticate.ts';
import type { Authorizer } from '../auth/authorize.ts';
import { createAuditLog } from './audit.ts';
import type { AuditLog } from './audit.ts';
import { DEFAULT_JSON_LIMIT_BYTES, declaredBodyLimit } from './body.ts';
import { createGuard } from './guard.ts';
import type { Guard } from './guard.ts';
import { healthRoutes } from './health.ts';
import type { ReadinessProbes } from './health.ts';
import { accessMetrics, createApiMetrics } from './metrics.ts';
import type { ApiMetrics } from './metrics.ts';
import { openApiRoute } from './openapi.ts';
import type {
  CaBundleValidator,
  EndpointStore,
  RuntimeCatalog,
  TenantStore,
  TenantVisibility,
} from './ports.ts';
import { isDomainError } from '../domain/errors.ts';
import { HttpProblem, problemEdge } from './problem.ts';
import { requestId } from './request-id.ts';
import { buildRouters } from './route.ts';
import type { ApiRoute } from './route.ts';
import { accessRoutes } from './routes/access.ts';
import { certificateRoutes } from './routes/certificates.ts';
import type { CertificateRoutesDeps } from './routes/certificates.ts';
import { endpointRoutes } from './routes/endpoints.ts';
import type { EndpointRoutesDeps } from './routes/endpoints.ts';
import { modelRoutes } from './routes/models.ts';
import type { ModelsRouterDeps } from './routes/models.ts';
import { permissionRoutes } from './routes/permissions.ts';
import { registryGate, registryRoutes } from './routes/registry.ts';
import type { RegistryRoutesDeps } from './routes/registry.ts';
import { runtimeRoutes } from './routes/runtimes.ts';
import { tenantRoutes } from './routes/tenants.ts';

/** Everything the API needs from the outside; all state lives behind these ports. */
export interface ApiDeps {
  authenticator: Authenticator;
  authorizer: Authorizer;
  tenants: TenantStore;
  /** Which tenants RBAC names a caller for (the tenant list verifies only those). */
  visibility: TenantVisibility;
  runtimes: RuntimeCatalog;
  caValidator: CaBundleValidator;
  /** Readiness checks by name (`apiserver`, `storage`); /readyz answers 503 when any fails. */
  readiness: ReadinessProbes;
  /** How long a readiness answer is reused (default 2 s). */
  readinessTtlMs?: number;
  logger: Logger;
  /** Defaults to JSON lines on stdout. */
  audit?: AuditLog;
  /** Defaults to a fresh registry per app. */
  metrics?: ApiMetrics;
  /** The model registry (store and in-use check); the models routes are served when present. */
  models?: Omit<ModelsRouterDeps, 'authorize' | 'audit' | 'prefix'>;
  /** Endpoints (InferenceEndpoint CRs); the endpoint routes are served when present. */
  endpoints?: EndpointRoutesDeps;
  /** Every tenant's Kubeflow Model Registry API (metadata in PostgreSQL); served when present. */
  registry?: Omit<RegistryRoutesDeps, 'audit'>;
  /** Client certificates (registry and tenant CA); the certificate routes are served when present. */
  certificates?: CertificateRoutesDeps;
  /**
   * Routes of other resources (endpoints, models, certificates), built with the same guard so they
   * authorize and audit alike; they join the route table, so they are served and documented.
   */
  extraRoutes?: (guard: Guard) => ApiRoute[];
  /**
   * The web console (pages, login, and the proxy its scripts call the API through); served under /console when
   * present, ahead of the API's own authentication (it has its own sessions).
   */
  console?: Middleware;
  /** Largest declared request body accepted before authentication, except streaming (rawBody) routes. */
  maxBodyBytes?: number;
  /** Path prefix of the resource routes (default `/v1`); health, metrics and the document stay at the root. */
  prefix?: string;
  /** API version shown in the OpenAPI document. */
  version?: string;
}

/** The app and the route table it serves (the table is what the OpenAPI document describes). */
export interface BuiltApp {
  app: Koa;
  routes: ApiRoute[];
  metrics: ApiMetrics;
}

/** Builds the Koa app; listening is the caller's business (see server.ts). */
export function createApp(deps: ApiDeps): Koa {
  return buildApp(deps).app;
}

/** Like {@link createApp}, also returning the route table and metrics (for tests and the server). */
export function buildApp(deps: ApiDeps): BuiltApp {
  const metrics = deps.metrics ?? createApiMetrics();
  const audit = deps.audit ?? createAuditLog();
  const guard = createGuard(deps.authorizer, audit);
  const prefix = deps.prefix ?? '/v1';
  const store = deps.models?.store;
  const routeDeps = {
    tenants: deps.tenants,
    visibility: deps.visibility,
    runtimes: deps.runtimes,
    caValidator: deps.caValidator,
    guard,
    prefix,
    ...(deps.endpoints ? { endpointExists: endpointExistsIn(deps.endpoints.store) } : {}),
    ...(store
      ? {
          storedModelCount: async (tenant: string) =>
            (await store.listModels(tenant)).reduce((sum, model) => sum + model.versions, 0),
        }
      : {}),
  };
  const routes: ApiRoute[] = [
    ...healthRoutes(deps.readiness, metrics, {
      onNotReady: (failures) => deps.logger.warn({ failures }, 'not ready'),
      ...(deps.readinessTtlMs !== undefined ? { readinessTtlMs: deps.readinessTtlMs } : {}),
    }),
    openApiRoute(() => routes, deps.version ?? '0.1.0'),
    ...tenantRoutes(routeDeps),
    ...accessRoutes(routeDeps),
    ...runtimeRoutes(routeDeps),
    ...permissionRoutes(routeDeps),
    ...(deps.endpoints ? endpointRoutes({ ...routeDeps, endpoints: deps.endpoints }) : []),
    ...(deps.models ? modelRoutes(modelsWiring(deps.models, guard, prefix, deps.tenants)) : []),
    ...(deps.certificates ? certificateRoutes({ ...routeDeps, certificates: deps.certificates }) : []),
    ...(deps.registry
      ? registryRoutes({
          ...deps.registry,
          audit: (ctx, event) => guard.changed(ctx, event.tenant, event.action, event.target),
        })
      : []),
    ...(deps.extraRoutes?.(guard) ?? []),
  ];

  const app = new Koa();
  app.proxy = false;
  // Errors are logged once, by the problem edge; Koa's default handler would print them again.
  app.silent = true;

  const publicRouters = buildRouters(routes.filter((r) => r.public));
  const protectedRouters = buildRouters(routes.filter((r) => !r.public));

  app.use(requestId);
  app.use(problemEdge(deps.logger));
  app.use(accessMetrics(metrics));
  app.use(problemForUnhandled);
  for (const router of publicRouters) app.use(router.routes());
  if (deps.console) app.use(deps.console);
  app.use(declaredBodyLimit(deps.maxBodyBytes ?? DEFAULT_JSON_LIMIT_BYTES, streamingRouteMatcher(routes)));
  app.use(authentication(deps.authenticator, audit));
  if (deps.registry) app.use(registryGate(deps.registry));
  const anyRouter = protectedRouters[0] ?? publicRouters[0];
  // Matches accumulate on ctx.matched across routers, so one allowedMethods answers 405 for all of them.
  if (anyRouter) app.use(anyRouter.allowedMethods());
  for (const router of protectedRouters) app.use(router.routes());

  return { app, routes, metrics };
}

/** Wires the models routes to the same RBAC checks and audit log as every other route. */
/** Whether the tenant owns the endpoint: the store answers NotFound for another tenant's or a missing one. */
function endpointExistsIn(store: EndpointStore) {
  return async (tenant: string, endpoint: string): Promise<boolean> => {
    try {
      await store.get(tenant, endpoint);
      return true;
    } catch (error) {
      if (isDomainError(error, 'NotFound')) return false;
      throw error;
    }
  };
}

function modelsWiring(
  models: NonNullable<ApiDeps['models']>,
  guard: Guard,
  prefix: string,
  tenants: TenantStore,
): ModelsRouterDeps {
  return {
    storageQuota: async (tenant) => (await tenants.get(tenant)).spec.quota?.storageBytes,
    ...models,
    prefix,
    authorize: (ctx, tenant, verb, subresource) =>
      guard.tenant(ctx, tenant, {
        action: `models.${verb}`,
        target: `tenants/${tenant}/${subresource}`,
        verb,
        subresource,
      }),
    audit: (ctx, event) => guard.changed(ctx, event.tenant, event.action, event.target),
  };
}

/**
 * Establishes the caller's identity for every route after the public ones. A refused credential is audited
 * (who it was is unknown, so the line says why and where, never the token): probing shows in the audit log.
 */
function authentication(authenticator: Authenticator, audit: AuditLog) {
  return async function authenticationMiddleware(ctx: Context, next: Next): Promise<void> {
    try {
      ctx.state['identity'] = await authenticator.authenticate(ctx.get('Authorization') || undefined);
    } catch (error) {
      if (isDomainError(error, 'Unauthenticated')) {
        audit.record({
          request_id: String(ctx.state['requestId'] ?? ''),
          subject: ANONYMOUS,
          groups: [],
          tenant: null,
          action: 'authenticate',
          target: `${ctx.method} ${ctx.path}`,
          decision: 'deny',
          reason: error.message,
        });
      }
      throw error;
    }
    await next();
  };
}

/** The audit subject of a request whose credential was refused (the apiserver's name for it). */
const ANONYMOUS = 'system:anonymous';

/** Unknown routes and wrong methods get problem bodies too (the router only sets a status). */
async function problemForUnhandled(ctx: Context, next: Next): Promise<void> {
  await next();
  if (ctx.body !== undefined && ctx.body !== null) return;
  if (ctx.status === 404) {
    throw new HttpProblem(404, 'not-found', 'Not found', `no route for ${ctx.method} ${ctx.path}`);
  }
  // The router answers 501 for methods it knows nowhere (TRACE, CONNECT…); for the caller that is the same
  // fault as any other method the path does not support, and a 4xx: the server did nothing wrong.
  if (ctx.status === 405 || ctx.status === 501) {
    const allow = ctx.response.get('Allow');
    throw new HttpProblem(
      405,
      'method-not-allowed',
      'Method not allowed',
      `${ctx.method} is not supported on ${ctx.path}${allow ? `; allowed: ${allow}` : ''}`,
      [],
      allow ? { Allow: allow } : {},
    );
  }
}

/** Whether a request goes to a route that streams its body (and enforces its own size limit). */
function streamingRouteMatcher(routes: ApiRoute[]): (ctx: Context) => boolean {
  const streaming = new Router();
  for (const route of routes.filter((r) => r.rawBody)) streaming[route.method](route.path, () => undefined);
  return (ctx) => streaming.match(ctx.path, ctx.method).route;
}
