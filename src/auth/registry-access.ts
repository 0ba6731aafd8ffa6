import { effectiveGroups } from '../domain/identity.ts';
import type { Decision, SubjectAccessReviewPort } from './authorize.ts';
import type { Identity } from './identity.ts';

/** Who may use a tenant's model registry: exactly what the data plane's Authorino asks, asked again. */
export interface RegistryAccess {
  check(identity: Identity, tenant: string): Promise<Decision>;
}

export interface RegistryAccessOptions {
  /** Namespace of the registry Services (the serving namespace). */
  namespace: string;
  /** Name of tenant `t`'s registry Service. */
  serviceName: (tenant: string) => string;
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/**
 * The Model Registry tenancy rule: a caller may use tenant t's registry when RBAC lets them `get` the registry
 * Service of t in the serving namespace (Role `registry-user-<t>`, bound to `<t>-users`). Decisions are cached
 * briefly like every other authorization decision; failures are never cached.
 */
export function createRegistryAccess(
  port: SubjectAccessReviewPort,
  options: RegistryAccessOptions,
): RegistryAccess {
  const ttlMs = options.ttlMs ?? 10_000;
  const maxEntries = options.maxEntries ?? 1000;
  const now = options.now ?? (() => Date.now());
  const cache = new Map<string, { expiresAt: number; decision: Promise<Decision> }>();
  return {
    check(identity, tenant) {
      const key = JSON.stringify([
        identity.username,
        identity.uid ?? '',
        [...identity.groups].sort(),
        Object.entries(identity.extra).sort(([a], [b]) => a.localeCompare(b)),
        tenant,
      ]);
      const cached = cache.get(key);
      if (cached && cached.expiresAt > now()) return cached.decision;
      const decision = port
        .review({
          user: identity.username,
          ...(identity.uid ? { uid: identity.uid } : {}),
          // The groups the kube-apiserver would give the caller, as every review of ours carries them.
          groups: effectiveGroups(identity),
          extra: identity.extra,
          resourceAttributes: {
            group: '',
            namespace: options.namespace,
            resource: 'services',
            name: options.serviceName(tenant),
            verb: 'get',
          },
        })
        .then((result) => ({
          allowed: result.allowed,
          reason: result.reason || (result.allowed ? 'allowed by RBAC' : 'no RBAC rule allows it'),
        }));
      const entry = { expiresAt: now() + ttlMs, decision };
      cache.delete(key);
      cache.set(key, entry);
      decision.catch(() => {
        if (cache.get(key) === entry) cache.delete(key);
      });
      while (cache.size > maxEntries) {
        const oldest = cache.keys().next().value;
        if (oldest === undefined) break;
        cache.delete(oldest);
      }
      return decision;
    },
  };
}
