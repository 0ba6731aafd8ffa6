import { CRD_DEFAULTS, QuotaExceededError } from '../domain/index.ts';
import type { InferenceEndpointSpec, IntOrString, ServingRuntime, TenantQuota } from '../domain/index.ts';

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^(\d+(?:\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;

/** The numeric value of a Kubernetes quantity (`500m` → 0.5, `1Gi` → 1073741824); undefined when absent or malformed. */
export function quantityValue(quantity: IntOrString | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  if (typeof quantity === 'number') return quantity;
  const match = QUANTITY.exec(quantity.trim());
  if (!match) return undefined;
  const suffix = match[2] ?? '';
  return Number(match[1]) * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

/**
 * The most one replica may use of `resource`: its limit (the endpoint's own, else the runtime's), else its
 * request, which the rendered Deployment then also sets as the limit (src/render/deployment.ts); with neither
 * it is unbounded. Counting requests alone would let limits, and so real use, grow without end.
 */
function perReplicaBound(
  spec: InferenceEndpointSpec,
  runtime: ServingRuntime | undefined,
  resource: 'cpu' | 'memory',
): number {
  const fallback = runtime?.spec.container.resources ?? {};
  const request = quantityValue(spec.resources?.requests?.[resource] ?? fallback.requests?.[resource]);
  const limit = quantityValue(spec.resources?.limits?.[resource] ?? fallback.limits?.[resource]);
  if (limit === undefined && request === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(limit ?? 0, request ?? 0);
}

/** CPU and memory an endpoint's pods may use in total: each replica's limit (else request) × replicas. */
export function endpointDemand(
  spec: InferenceEndpointSpec,
  runtime: ServingRuntime | undefined,
): { cpu: number; memory: number } {
  const replicas = spec.replicas ?? CRD_DEFAULTS.InferenceEndpoint['spec.replicas'];
  if (replicas === 0) return { cpu: 0, memory: 0 };
  return {
    cpu: perReplicaBound(spec, runtime, 'cpu') * replicas,
    memory: perReplicaBound(spec, runtime, 'memory') * replicas,
  };
}

/**
 * Throws QuotaExceeded naming the first limit (`maxEndpoints`, `cpu`, `memory`) that `candidate` would break
 * next to the tenant's `others` endpoints. Checked before anything is written, so an endpoint over quota is
 * never created (the operator applies the same rules to endpoints written around the API).
 */
export function assertWithinQuota(
  quota: TenantQuota | undefined,
  candidate: InferenceEndpointSpec,
  others: InferenceEndpointSpec[],
  runtimes: Map<string, ServingRuntime>,
): void {
  if (!quota) return;
  if (quota.maxEndpoints !== undefined && others.length + 1 > quota.maxEndpoints) {
    throw new QuotaExceededError('maxEndpoints', String(quota.maxEndpoints), String(others.length + 1));
  }
  const total = [...others, candidate]
    .map((spec) => endpointDemand(spec, runtimes.get(spec.runtime)))
    .reduce((sum, d) => ({ cpu: sum.cpu + d.cpu, memory: sum.memory + d.memory }), { cpu: 0, memory: 0 });
  const maxCpu = quantityValue(quota.cpu);
  if (maxCpu !== undefined && total.cpu > maxCpu + 1e-9) {
    throw new QuotaExceededError('cpu', String(quota.cpu), describe(round(total.cpu)));
  }
  const maxMemory = quantityValue(quota.memory);
  if (maxMemory !== undefined && total.memory > maxMemory) {
    throw new QuotaExceededError('memory', String(quota.memory), describe(total.memory));
  }
}

/** A total for a message; an endpoint without requests or limits has no bound. */
function describe(value: number): string {
  return Number.isFinite(value)
    ? String(value)
    : 'unbounded (an endpoint declares neither requests nor limits)';
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
