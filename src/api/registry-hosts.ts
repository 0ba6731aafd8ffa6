import { registryHost, tenantHostname, type PlatformConfig, type Tenant } from '../domain/index.ts';

/**
 * Finds the tenant whose model registry a host names: `<t>.<serving namespace>.svc[.cluster.local]` inside the
 * cluster (the registry Service is named after the tenant), `registry.<tenant hostname>` through the gateway.
 * Tenants are listed at most every `ttlMs`, so a new tenant's registry answers within moments.
 */
export function registryHostResolver(
  listTenants: () => Promise<Tenant[]>,
  platform: PlatformConfig,
  options: { ttlMs?: number; now?: () => number } = {},
): (hostname: string) => Promise<string | undefined> {
  const ttlMs = options.ttlMs ?? 5_000;
  const now = options.now ?? (() => Date.now());
  let cached: { at: number; hosts: Promise<Map<string, string>> } | undefined;
  const hosts = () => {
    if (!cached || now() - cached.at > ttlMs) {
      const pending = listTenants().then((tenants) => {
        const map = new Map<string, string>();
        for (const tenant of tenants) {
          const name = tenant.metadata.name;
          map.set(registryHost(tenantHostname(tenant, platform)).toLowerCase(), name);
          map.set(`${name}.${platform.servingNamespace}.svc`, name);
          map.set(`${name}.${platform.servingNamespace}.svc.cluster.local`, name);
        }
        return map;
      });
      const entry = { at: now(), hosts: pending };
      cached = entry;
      pending.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.hosts;
  };
  return async (hostname) => (await hosts()).get(hostname.toLowerCase().replace(/\.$/, ''));
}
