import type { Context, Next } from 'koa';
import type { Logger } from 'pino';

/** One rejected input: a JSON pointer into the body, or a named path/query parameter. */
export interface InvalidParam {
  pointer?: string;
  parameter?: string;
  reason: string;
}

/** The `application/problem+json` body (RFC 9457) every error response carries. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  invalidParams?: InvalidParam[];
  /** Model Registry routes only: the contract's `Error` fields (`code` is the status as a string). */
  code?: string;
  message?: string;
}

/** Paths of the Model Registry REST API, whose clients read `{code, message}` and expect 400 for bad input. */
const REGISTRY_PATH = /^\/api\/model_registry\//;

/**
 * The Model Registry contract's error shape on top of the problem: `code` and `message`, and 400 where the
 * management API says 422 (the contract has no 422 for invalid input).
 */
function asRegistryError(problem: Problem): Problem {
  const status = problem.status === 422 ? 400 : problem.status;
  return { ...problem, status, code: String(status), message: problem.detail };
}

/** Where problem type URIs live; docs/api.md lists each one. */
export const PROBLEM_TYPE_BASE = 'https://tenantmesh.io/problems/';

/**
 * An error raised by the HTTP layer itself (malformed JSON, unsupported media type, request too large,
 * schema validation failures), already knowing its status. Domain errors know nothing of HTTP.
 */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly invalidParams: InvalidParam[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

interface Mapping {
  status: number;
  slug: string;
  title: string;
}

/**
 * Domain error codes and the status each one means. Matched by the domain's `code` discriminator
 * (src/domain/errors.ts), or by `name` (`NotFound` / `NotFoundError`) for the storage layer's errors, so
 * the edge does not depend on the identity of the error classes.
 */
const DOMAIN_ERRORS: Record<string, Mapping> = {
  Invalid: { status: 422, slug: 'invalid', title: 'Invalid request' },
  Unauthenticated: { status: 401, slug: 'unauthenticated', title: 'Authentication required' },
  Forbidden: { status: 403, slug: 'forbidden', title: 'Forbidden' },
  NotFound: { status: 404, slug: 'not-found', title: 'Not found' },
  Conflict: { status: 409, slug: 'conflict', title: 'Conflict' },
  QuotaExceeded: { status: 409, slug: 'quota-exceeded', title: 'Quota exceeded' },
  PayloadTooLarge: { status: 413, slug: 'payload-too-large', title: 'Payload too large' },
  Unavailable: { status: 503, slug: 'unavailable', title: 'Service unavailable' },
};

const INTERNAL: Mapping = { status: 500, slug: 'internal', title: 'Internal server error' };

/** The challenge sent with every 401, per RFC 6750. */
export const BEARER_CHALLENGE = 'Bearer error="invalid_token"';

/** Status, headers and body for any thrown value; unknown errors become a detail-free 500. */
export function toProblem(
  error: unknown,
  requestId: string,
  instance: string,
): { problem: Problem; headers: Record<string, string> } {
  const base = { instance, requestId };
  if (error instanceof HttpProblem) {
    return {
      problem: {
        type: PROBLEM_TYPE_BASE + error.slug,
        title: error.title,
        status: error.status,
        detail: error.message,
        ...base,
        ...(error.invalidParams.length > 0 ? { invalidParams: error.invalidParams } : {}),
      },
      headers: {
        ...error.headers,
        ...(error.status === 401 ? { 'WWW-Authenticate': BEARER_CHALLENGE } : {}),
      },
    };
  }
  const mapping = domainMapping(error);
  if (!mapping) {
    return {
      problem: {
        type: PROBLEM_TYPE_BASE + INTERNAL.slug,
        title: INTERNAL.title,
        status: 500,
        detail: 'The server could not complete the request; quote the request id when reporting it.',
        ...base,
      },
      headers: {},
    };
  }
  const invalidParams = mapping.slug === 'invalid' ? invalidFields(error) : [];
  return {
    problem: {
      type: PROBLEM_TYPE_BASE + mapping.slug,
      title: mapping.title,
      status: mapping.status,
      detail: (error as Error).message || mapping.title,
      ...base,
      ...(invalidParams.length > 0 ? { invalidParams } : {}),
    },
    headers: {
      ...(mapping.status === 401 ? { 'WWW-Authenticate': BEARER_CHALLENGE } : {}),
      ...retryAfter(error),
    },
  };
}

/** The HTTP status a thrown value will be answered with. */
export function statusOf(error: unknown): number {
  if (error instanceof HttpProblem) return error.status;
  return domainMapping(error)?.status ?? 500;
}

function domainMapping(error: unknown): Mapping | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, kind } = error as { code?: unknown; kind?: unknown };
  for (const key of [code, kind, error.name, error.name.replace(/Error$/, '')]) {
    if (typeof key === 'string' && Object.hasOwn(DOMAIN_ERRORS, key)) return DOMAIN_ERRORS[key];
  }
  return undefined;
}

/**
 * Reads the fields of an Invalid error: the domain's `violations: [{pointer, message}]`, or
 * `fields: [{pointer, reason}]` as the storage layer raises them.
 */
function invalidFields(error: unknown): InvalidParam[] {
  const { violations, fields } = error as { violations?: unknown; fields?: unknown };
  const list = Array.isArray(violations) ? violations : Array.isArray(fields) ? fields : [];
  return list
    .filter(
      (f): f is { pointer: string; message?: unknown; reason?: unknown } => typeof f?.pointer === 'string',
    )
    .map((f) => ({ pointer: f.pointer, reason: String(f.message ?? f.reason ?? 'invalid') }));
}

/** Retry-After for an Unavailable that says when to come back. */
function retryAfter(error: unknown): Record<string, string> {
  const seconds = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return typeof seconds === 'number' && seconds > 0 ? { 'Retry-After': String(Math.ceil(seconds)) } : {};
}

/**
 * The outermost error edge: every thrown value becomes `application/problem+json`. Only 5xx are
 * logged (with the error), since 4xx are the caller's business and would drown the log.
 */
export function problemEdge(logger: Logger) {
  return async function problemEdgeMiddleware(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      const requestId = String(ctx.state['requestId'] ?? '');
      const answer = toProblem(error, requestId, ctx.path);
      const problem = REGISTRY_PATH.test(ctx.path) ? asRegistryError(answer.problem) : answer.problem;
      const { headers } = answer;
      if (problem.status >= 500) {
        logger.error({ err: error, requestId, method: ctx.method, path: ctx.path }, 'request failed');
      }
      sendProblem(ctx, problem, headers);
    }
  };
}

/** Writes a problem response, replacing whatever the failed handler had set. */
export function sendProblem(ctx: Context, problem: Problem, headers: Record<string, string> = {}): void {
  ctx.status = problem.status;
  for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
  ctx.body = problem;
  ctx.type = 'application/problem+json';
}
