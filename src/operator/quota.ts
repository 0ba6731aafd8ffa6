import { CRD_DEFAULTS } from '../domain/index.ts';
import type { InferenceEndpoint, IntOrString, ServingRuntime, Tenant } from '../domain/index.ts';

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

/** The value of a Kubernetes quantity ("500m" → 0.5, "1Gi" → 1073741824), or undefined if it is not one. */
export function parseQuantity(quantity: IntOrString | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  if (typeof quantity === 'number') return quantity;
  const match = QUANTITY.exec(quantity.trim());
  if (!match) return undefined;
  const base = Number(match[1]);
  if (match[2] !== undefined) return base * 10 ** Number(match[2].slice(1));
  const suffix = match[3] ?? '';
  return base * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

/** One endpoint's demand on the quota: its pods' requests times its replicas. */
export interface EndpointDemand {
  cpu: number;
  memory: number;
}

/**
 * The most one replica may use of `resource`: its limit (endpoint's own, else the runtime's), else its request,
 * which the rendered Deployment also sets as the limit; unbounded with neither. The API counts the same way.
 */
function perReplicaBound(
  endpoint: InferenceEndpoint,
  runtime: ServingRuntime | undefined,
  resource: 'cpu' | 'memory',
): number {
  const own = endpoint.spec.resources ?? {};
  const fallback = runtime?.spec.container.resources ?? {};
  const request = parseQuantity(own.requests?.[resource] ?? fallback.requests?.[resource]);
  const limit = parseQuantity(own.limits?.[resource] ?? fallback.limits?.[resource]);
  if (limit === undefined && request === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(limit ?? 0, request ?? 0);
}

/** What the runtime containers of all replicas may use: each replica's limit (else request) × replicas. */
export function endpointDemand(
  endpoint: InferenceEndpoint,
  runtime: ServingRuntime | undefined,
): EndpointDemand {
  const replicas = endpoint.spec.replicas ?? CRD_DEFAULTS.InferenceEndpoint['spec.replicas'];
  if (replicas === 0) return { cpu: 0, memory: 0 };
  return {
    cpu: perReplicaBound(endpoint, runtime, 'cpu') * replicas,
    memory: perReplicaBound(endpoint, runtime, 'memory') * replicas,
  };
}

/** Which endpoints fit the tenant's quota, and why the others do not. */
export interface QuotaDecision {
  admitted: InferenceEndpoint[];
  rejected: { endpoint: InferenceEndpoint; message: string }[];
}

/**
 * Admits endpoints oldest first (then by name) while they fit `maxEndpoints` and the cpu/memory sums, so
 * creating a new endpoint can never take capacity away from one already serving.
 */
export function applyQuota(
  tenant: Tenant,
  endpoints: InferenceEndpoint[],
  runtimes: Map<string, ServingRuntime>,
): QuotaDecision {
  const quota = tenant.spec.quota ?? {};
  const maxCpu = parseQuantity(quota.cpu);
  const maxMemory = parseQuantity(quota.memory);
  const ordered = [...endpoints].sort(
    (a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
  const decision: QuotaDecision = { admitted: [], rejected: [] };
  let cpu = 0;
  let memory = 0;
  for (const endpoint of ordered) {
    const demand = endpointDemand(endpoint, runtimes.get(endpoint.spec.runtime));
    let message: string | undefined;
    if (quota.maxEndpoints !== undefined && decision.admitted.length >= quota.maxEndpoints) {
      message = `the tenant may have at most ${quota.maxEndpoints} endpoints`;
    } else if (maxCpu !== undefined && cpu + demand.cpu > maxCpu) {
      message = `cpu limits would total ${round(cpu + demand.cpu)}, over the tenant's quota of ${quota.cpu}`;
    } else if (maxMemory !== undefined && memory + demand.memory > maxMemory) {
      message = `memory limits would total ${round(memory + demand.memory)} bytes, over the tenant's quota of ${quota.memory}`;
    }
    if (message !== undefined) {
      decision.rejected.push({ endpoint, message });
      continue;
    }
    decision.admitted.push(endpoint);
    cpu += demand.cpu;
    memory += demand.memory;
  }
  return decision;
}

function round(value: number): number | string {
  if (!Number.isFinite(value)) return 'unbounded (an endpoint declares neither requests nor limits)';
  return Math.round(value * 1000) / 1000;
}
