import type { Context, Next } from 'koa';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { statusOf } from './problem.ts';

/** The API's Prometheus metrics, on a Registry of their own (the global one leaks across apps and tests). */
export interface ApiMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
  /** Reviews sent to the apiserver, by kind (`subjectaccessreview`, `tokenreview`): what caching saves. */
  reviews: Counter<'kind'>;
}

/** Route label for requests no route matched, so unknown paths cannot explode label cardinality. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Creates the metrics; `defaultMetrics` adds process metrics (off in tests, where they only add noise). */
export function createApiMetrics(options: { defaultMetrics?: boolean } = {}): ApiMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'tenantmesh_api_requests_total',
      help: 'HTTP requests answered, by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'tenantmesh_api_request_duration_seconds',
      help: 'Time to answer HTTP requests, by method and route template.',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    reviews: new Counter({
      name: 'tenantmesh_api_reviews_total',
      help: 'SubjectAccessReviews and TokenReviews sent to the apiserver, by kind.',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}

/**
 * Counts and times every request, labelled by the matched route template (`/tenants/:tenant`), never by
 * the raw path. Sits inside the problem edge, so a thrown error is counted with the status it will get.
 */
export function accessMetrics(metrics: ApiMetrics) {
  return async function accessMetricsMiddleware(ctx: Context, next: Next): Promise<void> {
    const stopTimer = metrics.duration.startTimer();
    let status = 0;
    try {
      await next();
      status = ctx.status;
    } catch (error) {
      status = statusOf(error);
      throw error;
    } finally {
      const matched = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
      const route = typeof matched === 'string' ? matched : UNMATCHED_ROUTE;
      metrics.requests.inc({ method: ctx.method, route, status: String(status) });
      stopTimer({ method: ctx.method, route });
    }
  };
}
