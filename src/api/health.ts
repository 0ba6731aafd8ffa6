import { z } from 'zod';
import { UnavailableError } from '../domain/errors.ts';
import type { ApiMetrics } from './metrics.ts';
import type { ReadinessProbe } from './ports.ts';
import { defineRoute } from './route.ts';
import type { ApiRoute } from './route.ts';

/** Readiness checks by name, e.g. `{ apiserver, storage }`. */
export type ReadinessProbes = Record<string, ReadinessProbe>;

/** How long one readiness check may take before it counts as failed. */
export const PROBE_TIMEOUT_MS = 2000;

/** Runs every probe; resolves to the names and reasons of those that failed or timed out. */
export async function failingProbes(
  probes: ReadinessProbes,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<string[]> {
  const results = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([probe(), timeout]);
        return undefined;
      } catch (error) {
        return `${name}: ${error instanceof Error ? error.message : String(error)}`;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return results.filter((r) => r !== undefined);
}

/** How long a readiness answer is reused: probes cost backend calls and /readyz is unauthenticated. */
export const READINESS_TTL_MS = 2000;

/** Options of {@link healthRoutes}. */
export interface HealthOptions {
  /** Told the failing probes and their reasons, which never reach the response. */
  onNotReady?(failures: string[]): void;
  readinessTtlMs?: number;
  now?: () => number;
}

/**
 * Runs the probes at most once per `ttlMs`, however many callers ask, sharing the run in flight. Resolves
 * to the names of the failing probes.
 */
export function cachedReadiness(
  probes: ReadinessProbes,
  options: HealthOptions = {},
): () => Promise<string[]> {
  const ttlMs = options.readinessTtlMs ?? READINESS_TTL_MS;
  const now = options.now ?? Date.now;
  let last: { at: number; failing: Promise<string[]> } | undefined;
  return () => {
    if (last && now() - last.at < ttlMs) return last.failing;
    const failing = failingProbes(probes).then((failures) => {
      if (failures.length > 0) options.onNotReady?.(failures);
      return failures.map((failure) => failure.slice(0, failure.indexOf(':')));
    });
    last = { at: now(), failing };
    return failing;
  };
}

/** /healthz (the process answers), /readyz (its dependencies answer) and /metrics, all unauthenticated. */
export function healthRoutes(
  probes: ReadinessProbes,
  metrics: ApiMetrics,
  options: HealthOptions = {},
): ApiRoute[] {
  const readiness = cachedReadiness(probes, options);
  return [
    defineRoute({
      operationId: 'healthz',
      method: 'get',
      path: '/healthz',
      resource: 'health',
      public: true,
      summary: 'Liveness: the process is serving',
      authorization: 'none',
      responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
      async handle() {
        return { status: 200, body: { status: 'ok' } };
      },
    }),
    defineRoute({
      operationId: 'readyz',
      method: 'get',
      path: '/readyz',
      resource: 'health',
      public: true,
      summary: 'Readiness: the apiserver and the object store answer',
      authorization: 'none',
      responses: {
        200: {
          description: 'Ready',
          schema: z.object({ status: z.literal('ok'), checks: z.array(z.string()) }),
        },
        503: { description: 'A dependency is not answering (problem+json naming it, without its error)' },
      },
      async handle() {
        const failed = await readiness();
        if (failed.length > 0) throw new UnavailableError(`not ready: ${failed.join(', ')}`);
        return { status: 200, body: { status: 'ok', checks: Object.keys(probes).sort() } };
      },
    }),
    defineRoute({
      operationId: 'metrics',
      method: 'get',
      path: '/metrics',
      resource: 'health',
      public: true,
      summary: 'Prometheus metrics',
      authorization: 'none',
      responses: { 200: { description: 'Prometheus text exposition', contentType: 'text/plain' } },
      async handle(ctx) {
        ctx.body = await metrics.registry.metrics();
        ctx.type = metrics.registry.contentType;
      },
    }),
  ];
}
