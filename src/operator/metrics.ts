import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkQueueMetrics } from './workqueue.ts';

/** What a write to the apiserver did, for the writes metric. */
export type WriteOperation = 'apply' | 'delete' | 'status' | 'create' | 'finalizer';

/** The operator's Prometheus metrics (names follow controller-runtime's where it has one). */
export interface OperatorMetrics {
  registry: Registry;
  reconcileTotal: Counter<'result'>;
  reconcileErrors: Counter;
  reconcileDuration: Histogram;
  queueDepth: Gauge;
  retries: Counter;
  writes: Counter<'operation' | 'kind'>;
  /** Watch events by kind and what they did: queued a tenant, or were dropped as an echo or status-only. */
  events: Counter<'kind' | 'outcome'>;
  leader: Gauge;
  /** Hooks for the work queue. */
  queue: WorkQueueMetrics;
  /** Writes counted so far (all operations and kinds); tests and the benchmark read it. */
  writeCount(): Promise<number>;
}

/** Registers the operator's metrics on `registry` (a fresh one by default). */
export function createOperatorMetrics(registry: Registry = new Registry()): OperatorMetrics {
  const reconcileTotal = new Counter({
    name: 'tenantmesh_operator_reconcile_total',
    help: 'Tenant reconciles by result (success, error, requeue).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const reconcileErrors = new Counter({
    name: 'tenantmesh_operator_reconcile_errors_total',
    help: 'Tenant reconciles that failed and were retried with backoff.',
    registers: [registry],
  });
  const reconcileDuration = new Histogram({
    name: 'tenantmesh_operator_reconcile_duration_seconds',
    help: 'Time one tenant reconcile took.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'tenantmesh_operator_workqueue_depth',
    help: 'Tenant keys waiting for a worker.',
    registers: [registry],
  });
  const retries = new Counter({
    name: 'tenantmesh_operator_workqueue_retries_total',
    help: 'Keys re-queued with backoff after a failure.',
    registers: [registry],
  });
  const writes = new Counter({
    name: 'tenantmesh_operator_writes_total',
    help: 'Writes to the apiserver by operation and kind; a no-op resync adds none.',
    labelNames: ['operation', 'kind'] as const,
    registers: [registry],
  });
  const events = new Counter({
    name: 'tenantmesh_operator_events_total',
    help: 'Watch events by kind and outcome (queued, echo of our own write, status-only, unchanged).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const leader = new Gauge({
    name: 'tenantmesh_operator_leader',
    help: '1 while this replica holds the leader lease.',
    registers: [registry],
  });
  return {
    registry,
    reconcileTotal,
    reconcileErrors,
    reconcileDuration,
    queueDepth,
    retries,
    writes,
    events,
    leader,
    queue: {
      onDepth: (depth) => queueDepth.set(depth),
      onRetry: () => retries.inc(),
    },
    async writeCount() {
      const metric = await writes.get();
      return metric.values.reduce((sum, value) => sum + value.value, 0);
    },
  };
}
