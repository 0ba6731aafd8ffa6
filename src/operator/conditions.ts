import type { Condition } from '../domain/index.ts';

/** Condition types of Tenant and InferenceEndpoint status (kubebuilder's Available/Progressing/Degraded). */
export const CONDITION_TYPES = { ready: 'Ready', progressing: 'Progressing', degraded: 'Degraded' } as const;

/** Condition reasons the operator writes; clients and alerts may match on them. */
export const REASONS = {
  /** Everything desired exists and every endpoint's Deployment is available. */
  ready: 'Ready',
  /** Objects are written; some Deployments are not available yet. */
  rollingOut: 'RollingOut',
  /** Nothing left to do. */
  reconciled: 'Reconciled',
  /** No problem found. */
  asExpected: 'AsExpected',
  /** The endpoint would exceed the tenant's quota; nothing is created for it. */
  quotaExceeded: 'QuotaExceeded',
  /** Istio or Authorino is not installed: the mesh objects (gateway, mTLS, ext_authz) are not rendered. */
  meshUnavailable: 'MeshUnavailable',
  /** The endpoint names a ServingRuntime that does not exist. */
  runtimeNotFound: 'RuntimeNotFound',
  /** The endpoint's model has no published version (for `latest`). */
  modelNotFound: 'ModelNotFound',
  /** The model puller of a serving pod failed; the message is its termination message. */
  modelPullFailed: 'ModelPullFailed',
  /** The endpoint's Tenant does not exist. */
  tenantNotFound: 'TenantNotFound',
  /** The tenant's bring-your-own CA Secret is missing or unusable. */
  caInvalid: 'CaInvalid',
  /** The tenant's bring-your-own CA is already another tenant's: it is not trusted for this one. */
  caInUse: 'CaInUse',
  /** An object the tenant needs exists labelled for another tenant; it is not overwritten. */
  nameConflict: 'NameConflict',
  /** Some endpoints are degraded (see their own status). */
  endpointsDegraded: 'EndpointsDegraded',
  /** The tenant is being deleted. */
  deleting: 'Deleting',
} as const;

/** A condition without its transition time; {@link mergeConditions} supplies it. */
export type DesiredCondition = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/**
 * The new condition list: each desired condition keeps the previous `lastTransitionTime` when its status
 * did not change (so an unchanged status compares equal and causes no write), else gets `now`.
 */
export function mergeConditions(
  previous: Condition[] | undefined,
  desired: DesiredCondition[],
  observedGeneration: number | undefined,
  now: Date,
): Condition[] {
  return desired.map((condition) => {
    const old = previous?.find((candidate) => candidate.type === condition.type);
    const lastTransitionTime =
      old && old.status === condition.status ? old.lastTransitionTime : rfc3339Seconds(now);
    const merged: Condition = { ...condition, lastTransitionTime };
    if (observedGeneration !== undefined) merged.observedGeneration = observedGeneration;
    return merged;
  });
}

/** metav1.Time has second precision; writing milliseconds would make every read-back differ. */
export function rfc3339Seconds(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A condition by type. */
export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}
