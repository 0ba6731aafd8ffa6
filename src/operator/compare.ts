import { createHash } from 'node:crypto';
import type { KubeObject } from '../kube/index.ts';
import { parseQuantity } from './quota.ts';

/**
 * True when every field of `desired` is present in `live` with the same value: what the live object has
 * beyond that (server defaults, status, other managers' fields) is ignored. Lists must have the same length
 * and match element by element, so an extra rule added by hand to a Role counts as drift. Quantities that
 * the apiserver canonicalises ("1000m" → "1") compare by value.
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === live) return true;
  // The apiserver omits empty lists and maps (omitempty): a desired `subjects: []` is already satisfied by an
  // object without subjects, and treating it as drift would rewrite it on every resync.
  if ((live === undefined || live === null) && isEmptyCollection(desired)) return true;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) &&
      live.length === desired.length &&
      desired.every((item, index) => isSubset(item, live[index]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    const liveRecord = live as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).every(
      ([key, value]) => value === undefined || isSubset(value, liveRecord[key]),
    );
  }
  return sameScalar(desired, live);
}

function isEmptyCollection(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return value !== null && typeof value === 'object' && Object.keys(value).length === 0;
}

function sameScalar(desired: unknown, live: unknown): boolean {
  if ((typeof desired !== 'string' && typeof desired !== 'number') || desired === '') return false;
  if (typeof live !== 'string' && typeof live !== 'number') return false;
  if (String(desired) === String(live)) return true;
  const a = parseQuantity(desired);
  const b = parseQuantity(live);
  return a !== undefined && b !== undefined && Math.abs(a - b) <= Math.abs(a) * 1e-9;
}

/** Annotation holding a hash of the desired object, so removing a field from desired also causes an apply. */
export const DESIRED_HASH_ANNOTATION = 'tenantmesh.io/desired-hash';

/** A short, stable hash of an object (keys sorted, so equal objects hash equally). */
export function desiredHash(object: unknown): string {
  return createHash('sha256').update(stableJson(object)).digest('base64url').slice(0, 16);
}

/**
 * JSON with every object's keys sorted (code-unit order) and undefined members left out. It runs for every
 * desired object of every reconcile (a large share of a no-op pass), so it appends to one string instead of
 * building entry arrays; its output must stay byte for byte what it was, or every object is re-applied once.
 */
function stableJson(value: unknown): string {
  // JSON.stringify gives undefined (typed as string) for undefined and functions.
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    // An undefined element renders as nothing, as Array.prototype.join renders it.
    for (let i = 0; i < value.length; i++)
      out += (i > 0 ? ',' : '') + ((stableJson(value[i]) as string | undefined) ?? '');
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${stableJson(member)}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * Whether applying `desired` would change `live` in a field the operator owns: the live object is missing,
 * was written from a different desired state (hash), or drifted in a field we set.
 */
export function needsApply(desired: KubeObject, live: KubeObject | undefined): boolean {
  if (!live) return true;
  const liveHash = live.metadata.annotations?.[DESIRED_HASH_ANNOTATION];
  if (liveHash !== desired.metadata.annotations?.[DESIRED_HASH_ANNOTATION]) return true;
  const { metadata, ...body } = desired;
  const metaSubset = {
    labels: metadata.labels,
    annotations: metadata.annotations,
    ownerReferences: metadata.ownerReferences,
  };
  return !isSubset(body, live) || !isSubset(metaSubset, live.metadata);
}

/** `desired` with the hash annotation of its own content added (the hash excludes the annotation itself). */
export function withDesiredHash(desired: KubeObject): KubeObject {
  const hash = desiredHash(desired);
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata.annotations, [DESIRED_HASH_ANNOTATION]: hash },
    },
  };
}
