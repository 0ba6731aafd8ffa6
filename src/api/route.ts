import Router from '@koa/router';
import type { Context, ParameterizedContext } from 'koa';
import type { z } from 'zod';
import type { Identity } from '../auth/identity.ts';
import { UnauthenticatedError } from '../domain/errors.ts';
import { DEFAULT_JSON_LIMIT_BYTES, readJsonBody } from './body.ts';
import { HttpProblem } from './problem.ts';
import type { InvalidParam } from './problem.ts';

/** What the middleware chain leaves on `ctx.state` for handlers. */
export interface ApiState {
  requestId: string;
  /** Set by the authentication middleware on every non-public route. */
  identity?: Identity;
}

/** The Koa context handlers receive. */
export type ApiContext = ParameterizedContext<ApiState>;

/** HTTP methods the route table uses. */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** What a handler answers; a handler that streams sets `ctx.body` itself and returns nothing. */
export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A documented response of an operation. */
export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Content type when not JSON (e.g. `application/octet-stream` for downloads). */
  contentType?: string;
}

/**
 * One operation of the API: the single source for router registration and the OpenAPI document.
 * `params`, `query` and `body` are zod schemas; the handler receives their parsed output.
 */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  operationId: string;
  method: HttpMethod;
  /** Koa path template (`/tenants/:tenant`); path-to-regexp v8 syntax. */
  path: string;
  /** Resource the operation belongs to: one router per resource, and the OpenAPI tag. */
  resource: string;
  summary: string;
  /** The RBAC check made, for the document (e.g. `update tenants/<tenant>`). */
  authorization: string;
  /** Served without authentication (health, metrics, the OpenAPI document). */
  public?: boolean;
  params?: P;
  query?: Q;
  /** JSON body schema; omit for operations without a body or that stream it (`rawBody`). */
  body?: B;
  /** Documents a non-JSON request body the handler reads itself from `ctx.req`. */
  rawBody?: { contentType: string; description: string };
  /** JSON body size limit in bytes (default {@link DEFAULT_JSON_LIMIT_BYTES}). */
  bodyLimitBytes?: number;
  responses: Record<number, ResponseSpec>;
  handle(
    ctx: ApiContext,
    input: { params: z.output<P>; query: z.output<Q>; body: z.output<B> },
  ): Promise<RouteResult | void>;
}

/** A route with its types erased, as stored in the route table. */
export type ApiRoute = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

/** Declares a route with its handler typed from its schemas. */
export function defineRoute<
  P extends z.ZodType = z.ZodObject<Record<string, never>>,
  Q extends z.ZodType = z.ZodObject<Record<string, never>>,
  B extends z.ZodType = z.ZodUndefined,
>(spec: RouteSpec<P, Q, B>): ApiRoute {
  return spec as unknown as ApiRoute;
}

/** The identity the authentication middleware established; throws if the route was left public. */
export function identityOf(ctx: ApiContext | Context): Identity {
  const identity = (ctx.state as Partial<ApiState>).identity;
  if (!identity) throw new UnauthenticatedError('missing bearer token');
  return identity;
}

/** Builds one router per resource from the route table, in table order. */
export function buildRouters(routes: ApiRoute[]): Router[] {
  const byResource = new Map<string, Router>();
  for (const route of routes) {
    let router = byResource.get(route.resource);
    if (!router) {
      router = new Router();
      byResource.set(route.resource, router);
    }
    router[route.method](route.operationId, route.path, async (ctx) => {
      await runRoute(route, ctx as unknown as ApiContext);
    });
  }
  return [...byResource.values()];
}

async function runRoute(route: ApiRoute, ctx: ApiContext): Promise<void> {
  const params = parseInput(route.params, ctx.params ?? {}, 'parameter');
  const query = parseInput(
    route.query,
    Object.fromEntries(new URLSearchParams(ctx.querystring)),
    'parameter',
  );
  const body = route.body
    ? parseInput(
        route.body,
        await readJsonBody(ctx, route.bodyLimitBytes ?? DEFAULT_JSON_LIMIT_BYTES),
        'pointer',
      )
    : undefined;
  const result = await route.handle(ctx, { params, query, body });
  if (!result) return;
  ctx.status = result.status;
  for (const [name, value] of Object.entries(result.headers ?? {})) ctx.set(name, value);
  if (result.body !== undefined) ctx.body = result.body;
  // Without a body Koa would send its status text ("Accepted" for 202) as text/plain, which a client reading the
  // documented empty answer as JSON chokes on.
  else if (result.status !== 204 && result.status !== 304) ctx.body = '';
}

function parseInput(
  schema: z.ZodType | undefined,
  value: unknown,
  addressing: 'pointer' | 'parameter',
): unknown {
  if (!schema) return value;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const invalidParams = parsed.error.issues.map((issue) => describeIssue(issue, addressing));
  const where = addressing === 'pointer' ? 'request body' : 'request parameters';
  throw new HttpProblem(400, 'bad-request', 'Bad request', `the ${where} failed validation`, invalidParams);
}

function describeIssue(issue: z.core.$ZodIssue, addressing: 'pointer' | 'parameter'): InvalidParam {
  if (addressing === 'parameter') return { parameter: String(issue.path[0] ?? ''), reason: issue.message };
  return { pointer: toJsonPointer(issue.path), reason: issue.message };
}

/** RFC 6901 pointer for a zod issue path (`['spec', 'quota', 0]` → `/spec/quota/0`). */
export function toJsonPointer(path: readonly PropertyKey[]): string {
  return path.map((segment) => '/' + String(segment).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}
