import { ForbiddenError, NotFoundError } from '../domain/errors.ts';
import { effectiveGroups } from '../domain/identity.ts';
import type { Identity } from './identity.ts';

/** The API group whose `tenants` resource carries every management-plane permission. */
export const TENANT_API_GROUP = 'tenantmesh.io';

/** Subresources of `tenants` that the API checks (see docs/rbac.md). */
export type TenantSubresource = 'endpoints' | 'models' | 'access' | 'certificates';

/** What is being attempted, in SubjectAccessReview resource-attribute terms (group is always tenantmesh.io). */
export interface TenantAction {
  verb: 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete';
  resource: 'tenants';
  subresource?: TenantSubresource;
  /** The tenant name; absent for collection-wide checks (list all, create). */
  name?: string;
}

/** A SubjectAccessReview request (`authorization.k8s.io/v1`, cluster-scoped resource attributes). */
export interface SubjectAccessReviewRequest {
  user: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
  resourceAttributes: {
    group: string;
    /** For namespaced resources (the registry's Service); absent for cluster-scoped ones. */
    namespace?: string;
    resource: string;
    subresource?: string;
    name?: string;
    verb: string;
  };
}

/** The outcome of a SubjectAccessReview. */
export interface SubjectAccessReviewResult {
  allowed: boolean;
  /** The apiserver's explanation, when it gives one. */
  reason?: string;
}

/**
 * Port to the apiserver's SubjectAccessReview; the implementation over src/kube lives there. It should
 * throw Unavailable when the apiserver cannot be reached (errors are never cached).
 */
export interface SubjectAccessReviewPort {
  review(request: SubjectAccessReviewRequest): Promise<SubjectAccessReviewResult>;
}

/** A decision for one identity and action. */
export interface Decision {
  allowed: boolean;
  reason: string;
}

/** Decides whether an identity may perform an action on tenants, as Kubernetes RBAC says. */
export interface Authorizer {
  can(identity: Identity, action: TenantAction): Promise<Decision>;
}

/** Cache bounds: decisions live `ttlMs` and at most `maxEntries` are kept (least recently used evicted). */
export interface AuthorizerOptions {
  ttlMs?: number;
  maxEntries?: number;
  /** Clock in milliseconds, injectable for tests. */
  now?: () => number;
}

/** Default bound of the decision cache (about 5 MB when full). */
export const DEFAULT_DECISION_CACHE_ENTRIES = 10_000;

interface CacheEntry {
  expiresAt: number;
  decision: Promise<Decision>;
  /** Set once the review answered; only an answered decision is refreshed ahead of its expiry. */
  answered?: boolean;
  refreshing?: boolean;
}

/**
 * A decision in the last fifth of its TTL is still served, and asked again in the background, so a key in
 * steady use never makes a request wait for a review: otherwise every request that arrives while the
 * expired decision is being reviewed again waits for that round trip (at 1,000 rps on one key, a 100 ms
 * review under load is the route's p99).
 */
const REFRESH_AHEAD_FRACTION = 0.2;

/**
 * Builds an authorizer that asks the apiserver through SubjectAccessReviews and caches each decision
 * briefly, so a burst of requests costs one review while a revoked grant stops working within the TTL.
 * Concurrent identical questions share one review; failed reviews are not cached. A decision in use is
 * reviewed again shortly before it expires, while it is still served, and is never served past its TTL
 * (counted from when its review was asked).
 */
export function createAuthorizer(port: SubjectAccessReviewPort, options: AuthorizerOptions = {}): Authorizer {
  const ttlMs = options.ttlMs ?? 10_000;
  // Large enough that a burst over a thousand tenants does not evict itself; an entry is a few hundred bytes.
  const maxEntries = options.maxEntries ?? DEFAULT_DECISION_CACHE_ENTRIES;
  const now = options.now ?? (() => Date.now());
  const cache = new Map<string, CacheEntry>();

  const review = (identity: Identity, action: TenantAction): Promise<Decision> =>
    port.review(toReviewRequest(identity, action)).then((result) => ({
      allowed: result.allowed,
      reason: result.reason || (result.allowed ? 'allowed by RBAC' : 'no RBAC rule allows it'),
    }));

  const remember = (key: string, entry: CacheEntry): void => {
    cache.delete(key);
    cache.set(key, entry);
    while (cache.size > maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
  };

  /** Reviews again in the background; the answer replaces the entry only if it is still the one cached. */
  const refresh = (key: string, current: CacheEntry, identity: Identity, action: TenantAction): void => {
    current.refreshing = true;
    const expiresAt = now() + ttlMs;
    review(identity, action).then(
      (decision) => {
        if (cache.get(key) === current)
          remember(key, { expiresAt, decision: Promise.resolve(decision), answered: true });
      },
      // A failed refresh leaves the entry to expire; the next request then asks (and sees the failure).
      () => undefined,
    );
  };

  return {
    can(identity, action) {
      const key = cacheKey(identity, action);
      const cached = cache.get(key);
      const at = now();
      if (cached && cached.expiresAt > at) {
        // Re-insert so Map order tracks recency and eviction drops the least recently used entry.
        cache.delete(key);
        cache.set(key, cached);
        if (cached.answered && !cached.refreshing && cached.expiresAt - at <= ttlMs * REFRESH_AHEAD_FRACTION)
          refresh(key, cached, identity, action);
        return cached.decision;
      }
      cache.delete(key);
      const decision = review(identity, action);
      const entry: CacheEntry = { expiresAt: at + ttlMs, decision };
      remember(key, entry);
      decision.then(
        () => (entry.answered = true),
        () => {
          if (cache.get(key) === entry) cache.delete(key);
        },
      );
      return decision;
    },
  };
}

/**
 * Builds the SubjectAccessReview for an identity and action, with the groups the kube-apiserver would give the
 * same identity (`system:authenticated`, a ServiceAccount's groups), so bindings to them decide here as in kubectl.
 */
export function toReviewRequest(identity: Identity, action: TenantAction): SubjectAccessReviewRequest {
  return {
    user: identity.username,
    uid: identity.uid,
    groups: effectiveGroups(identity),
    extra: identity.extra,
    resourceAttributes: {
      group: TENANT_API_GROUP,
      resource: action.resource,
      subresource: action.subresource,
      name: action.name,
      verb: action.verb,
    },
  };
}

/**
 * The identity's part of a decision's cache key, built once per identity object: the authenticator hands out the
 * same (never mutated) object for as long as it caches the caller's token, so a read does not sort and serialise
 * the caller's groups again for every decision.
 */
const identityKeys = new WeakMap<Identity, string>();

function identityKey(identity: Identity): string {
  let key = identityKeys.get(identity);
  if (key === undefined) {
    const extra = Object.entries(identity.extra)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, values]) => [name, [...values].sort()]);
    key = JSON.stringify([identity.username, identity.uid ?? '', [...identity.groups].sort(), extra]);
    identityKeys.set(identity, key);
  }
  return key;
}

function cacheKey(identity: Identity, action: TenantAction): string {
  // JSON escapes control characters, so the NUL between the two parts cannot occur inside either.
  return `${identityKey(identity)}\u0000${JSON.stringify([action.verb, action.resource, action.subresource ?? '', action.name ?? ''])}`;
}

/** How a tenant-scoped request was judged. */
export type TenantVerdict =
  | { outcome: 'allowed'; reason: string }
  /** The caller may not even see the tenant: answer as if it did not exist. */
  | { outcome: 'hidden'; reason: string }
  /** The caller may see the tenant but not do this. */
  | { outcome: 'forbidden'; reason: string };

/**
 * Judges an action on tenant `tenant`: first whether the caller may `get` the tenant at all (if not, the
 * tenant is hidden), then whether the action itself is allowed.
 */
export async function judgeTenantAction(
  authorizer: Authorizer,
  identity: Identity,
  tenant: string,
  action: Omit<TenantAction, 'resource' | 'name'>,
): Promise<TenantVerdict> {
  const visible = await authorizer.can(identity, { verb: 'get', resource: 'tenants', name: tenant });
  if (!visible.allowed) return { outcome: 'hidden', reason: visible.reason };
  if (action.verb === 'get' && !action.subresource) return { outcome: 'allowed', reason: visible.reason };
  const decision = await authorizer.can(identity, { ...action, resource: 'tenants', name: tenant });
  return decision.allowed
    ? { outcome: 'allowed', reason: decision.reason }
    : { outcome: 'forbidden', reason: decision.reason };
}

/** Throws NotFound for a hidden tenant and Forbidden for a forbidden action; returns when allowed. */
export function enforceTenantVerdict(verdict: TenantVerdict, tenant: string): void {
  if (verdict.outcome === 'hidden') throw new NotFoundError('tenant', tenant);
  if (verdict.outcome === 'forbidden') throw new ForbiddenError(`not allowed on tenant "${tenant}"`);
}
