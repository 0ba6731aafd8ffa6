/**
 * The API's read side: informer caches of Tenants, InferenceEndpoints and the cluster RBAC bindings, so a
 * read costs no apiserver round trip. Writes still go to the apiserver; each then waits (briefly) until the
 * cache has seen what it wrote, so a caller's next read shows its own write. Keys whose write the cache
 * has not caught up with yet are read through to the apiserver, as is everything before the first sync.
 */
import { subjectKey, subjectKeysOf, tenantsNamedByRules } from '../auth/visibility.ts';
import type { RbacRule, RbacSubject } from '../auth/visibility.ts';
import { GROUP_VERSION, endpointResourceName, shortEndpointName } from '../domain/index.ts';
import type { InferenceEndpoint, Tenant } from '../domain/index.ts';
import { Informer, stripManagedFields } from '../kube/index.ts';
import type { InformerOptions, Kube, KubeObject } from '../kube/index.ts';
import type { EndpointStore, TenantStore, TenantVisibility } from './ports.ts';

type CachedTenant = Tenant & KubeObject;
type CachedEndpoint = InferenceEndpoint & KubeObject;
interface ClusterRole extends KubeObject {
  rules?: RbacRule[];
}
interface ClusterRoleBinding extends KubeObject {
  roleRef?: { kind?: string; name?: string };
  subjects?: RbacSubject[];
}

/** How long a write waits for the cache to show it before the key is read through instead. */
export const DEFAULT_WRITE_VISIBLE_TIMEOUT_MS = 2000;

const BY_TENANT = 'tenant';
const BY_SUBJECT = 'subject';

/**
 * True when a cache at resourceVersion `seen` includes a write that returned `written`. Kubernetes
 * resourceVersions from etcd are increasing integers (comparable since KEP-5504); anything else only
 * counts when equal.
 */
export function reached(seen: string | undefined, written: string | undefined): boolean {
  if (!seen || !written) return false;
  if (/^\d+$/.test(seen) && /^\d+$/.test(written)) return BigInt(seen) >= BigInt(written);
  return seen === written;
}

/** Wakes waiters whenever an informer changes, so a write can wait for its own echo. */
class ChangeSignal {
  private readonly waiters = new Set<() => void>();

  changed(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves true once `condition` holds, false when `timeoutMs` passes first. */
  until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(result);
      };
      const check = () => {
        if (condition()) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      timer.unref();
      this.waiters.add(check);
    });
  }
}

/** A cache over one informer that knows which of its keys lag a write made through it. */
class WriteThroughCache<T extends KubeObject> {
  readonly signal = new ChangeSignal();
  /** Keys written through us that the cache did not show within the deadline; read through until it does. */
  private readonly lagging = new Map<string, (cached: T | undefined) => boolean>();
  readonly informer: Informer<T>;

  constructor(
    create: (handlers: { onAdd(): void; onUpdate(): void; onDelete(): void }) => Informer<T>,
    private readonly timeoutMs: number,
  ) {
    const changed = () => this.signal.changed();
    this.informer = create({ onAdd: changed, onUpdate: changed, onDelete: changed });
  }

  /** The cached object, or undefined when the key must be read through (not synced, or lagging a write). */
  fresh(key: string): { hit: true; object: T | undefined } | { hit: false } {
    if (!this.informer.hasSynced()) return { hit: false };
    const shows = this.lagging.get(key);
    const object = this.informer.get(key);
    if (shows) {
      if (!shows(object)) return { hit: false };
      this.lagging.delete(key);
    }
    return { hit: true, object };
  }

  /** Every cached object, or undefined when some key lags a write (then the caller lists through). */
  all(): T[] | undefined {
    if (!this.informer.hasSynced()) return undefined;
    for (const [key, shows] of this.lagging) {
      if (!shows(this.informer.get(key))) return undefined;
      this.lagging.delete(key);
    }
    return this.informer.list();
  }

  /** Waits until the cache shows a write to `key`; past the deadline the key is read through instead. */
  async written(key: string, shows: (cached: T | undefined) => boolean): Promise<void> {
    if (!this.informer.hasSynced()) return;
    const seen = await this.signal.until(() => shows(this.informer.get(key)), this.timeoutMs);
    if (!seen) this.lagging.set(key, shows);
  }

  /** The check that the cache holds `written` or something newer. */
  showsVersion(written: KubeObject): (cached: T | undefined) => boolean {
    const version = written.metadata.resourceVersion;
    return () => reached(this.informer.resourceVersion(), version);
  }
}

/** A deleted object shows once it is gone from the cache or marked for deletion there. */
const showsDeletion = (cached: KubeObject | undefined) =>
  cached === undefined || cached.metadata.deletionTimestamp !== undefined;

/** The caches and the ports served from them. */
export interface ApiCaches {
  tenants: TenantStore;
  endpoints: EndpointStore;
  visibility: TenantVisibility;
  /** Resolves once every informer has listed (rejects when `signal` aborts first). */
  synced(signal?: AbortSignal): Promise<void>;
  /** For readiness: true once every informer has listed. */
  hasSynced(): boolean;
  stop(): void;
}

/** Options of {@link createApiCaches}. */
export interface ApiCacheOptions {
  servingNamespace: string;
  /** How long a write waits for its echo (default {@link DEFAULT_WRITE_VISIBLE_TIMEOUT_MS}). */
  writeVisibleTimeoutMs?: number;
  /** Told about every list/watch failure the informers recover from. */
  onError?(error: unknown): void;
}

/**
 * Starts the informers and wraps the apiserver-backed stores (`direct`) so reads come from the caches and
 * writes wait for their echo. Call `stop()` when the API closes.
 */
export function createApiCaches(
  kube: Kube,
  direct: { tenants: TenantStore; endpoints: EndpointStore },
  options: ApiCacheOptions,
): ApiCaches {
  const timeoutMs = options.writeVisibleTimeoutMs ?? DEFAULT_WRITE_VISIBLE_TIMEOUT_MS;
  const namespace = options.servingNamespace;
  const optionsFor = <T extends KubeObject>(): InformerOptions<T> => ({
    transform: stripManagedFields,
    ...(options.onError ? { onError: options.onError } : {}),
  });

  const tenantCache = new WriteThroughCache<CachedTenant>(
    (handlers) =>
      new Informer<CachedTenant>(
        kube.listWatch<CachedTenant>(GROUP_VERSION, 'Tenant'),
        handlers,
        optionsFor<CachedTenant>(),
      ),
    timeoutMs,
  );
  const endpointCache = new WriteThroughCache<CachedEndpoint>(
    (handlers) =>
      new Informer<CachedEndpoint>(
        kube.listWatch<CachedEndpoint>(GROUP_VERSION, 'InferenceEndpoint', { namespace }),
        handlers,
        { ...optionsFor<CachedEndpoint>(), indexers: { [BY_TENANT]: (endpoint) => [endpoint.spec.tenant] } },
      ),
    timeoutMs,
  );
  // Every ClusterRole and binding, not only ours: a hand-written grant of one tenant must list it too.
  const roles = new Informer<ClusterRole>(
    kube.listWatch<ClusterRole>('rbac.authorization.k8s.io/v1', 'ClusterRole'),
    {},
    optionsFor<ClusterRole>(),
  );
  const bindings = new Informer<ClusterRoleBinding>(
    kube.listWatch<ClusterRoleBinding>('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'),
    {},
    {
      ...optionsFor<ClusterRoleBinding>(),
      indexers: { [BY_SUBJECT]: (binding) => (binding.subjects ?? []).map(subjectKey) },
    },
  );
  const informers = [tenantCache.informer, endpointCache.informer, roles, bindings];
  for (const informer of informers) informer.start();

  const tenants: TenantStore = {
    async list() {
      return tenantCache.all() ?? direct.tenants.list();
    },
    async get(name) {
      const cached = tenantCache.fresh(name);
      if (!cached.hit) return direct.tenants.get(name);
      // A miss reads through: the tenant may be newer than the cache (created by another writer).
      return cached.object ?? direct.tenants.get(name);
    },
    async create(input) {
      const created = await direct.tenants.create(input);
      await tenantCache.written(input.name, tenantCache.showsVersion(created as CachedTenant));
      return created;
    },
    async update(name, spec, precondition) {
      const updated = await direct.tenants.update(name, spec, precondition);
      await tenantCache.written(name, tenantCache.showsVersion(updated as CachedTenant));
      return updated;
    },
    async delete(name) {
      await direct.tenants.delete(name);
      await tenantCache.written(name, showsDeletion);
    },
  };

  const endpointKey = (tenant: string, endpoint: string) =>
    `${namespace}/${endpointResourceName(tenant, endpoint)}`;
  const ownedBy = (tenant: string, endpoint: CachedEndpoint | undefined) =>
    endpoint !== undefined &&
    endpoint.spec.tenant === tenant &&
    shortEndpointName(tenant, endpoint.metadata.name) !== undefined;

  const endpoints: EndpointStore = {
    async list(tenant) {
      if (endpointCache.all() === undefined) return direct.endpoints.list(tenant);
      return endpointCache.informer.byIndex(BY_TENANT, tenant).filter((e) => ownedBy(tenant, e));
    },
    async get(tenant, endpoint) {
      const cached = endpointCache.fresh(endpointKey(tenant, endpoint));
      if (cached.hit && ownedBy(tenant, cached.object)) return cached.object!;
      return direct.endpoints.get(tenant, endpoint);
    },
    async create(tenant, endpoint, spec) {
      const created = await direct.endpoints.create(tenant, endpoint, spec);
      await endpointCache.written(
        endpointKey(tenant, endpoint),
        endpointCache.showsVersion(created as CachedEndpoint),
      );
      return created;
    },
    async update(tenant, endpoint, spec, precondition) {
      const updated = await direct.endpoints.update(tenant, endpoint, spec, precondition);
      await endpointCache.written(
        endpointKey(tenant, endpoint),
        endpointCache.showsVersion(updated as CachedEndpoint),
      );
      return updated;
    },
    async delete(tenant, endpoint) {
      await direct.endpoints.delete(tenant, endpoint);
      await endpointCache.written(endpointKey(tenant, endpoint), showsDeletion);
    },
  };

  const visibility: TenantVisibility = {
    candidates(identity) {
      if (!roles.hasSynced() || !bindings.hasSynced()) return undefined;
      const names = new Set<string>();
      for (const key of subjectKeysOf(identity)) {
        for (const binding of bindings.byIndex(BY_SUBJECT, key)) {
          if (binding.roleRef?.kind !== 'ClusterRole' || !binding.roleRef.name) continue;
          for (const name of tenantsNamedByRules(roles.get(binding.roleRef.name)?.rules)) names.add(name);
        }
      }
      return names;
    },
  };

  return {
    tenants,
    endpoints,
    visibility,
    async synced(signal) {
      await Promise.all(informers.map((informer) => informer.waitForSync(signal)));
    },
    hasSynced: () => informers.every((informer) => informer.hasSynced()),
    stop() {
      for (const informer of informers) informer.stop();
    },
  };
}
