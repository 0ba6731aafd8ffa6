import type { Guard } from '../guard.ts';
import type { CaBundleValidator, RuntimeCatalog, TenantStore, TenantVisibility } from '../ports.ts';

/** What the resource routers are built from. */
export interface RouteDeps {
  tenants: TenantStore;
  runtimes: RuntimeCatalog;
  caValidator: CaBundleValidator;
  guard: Guard;
  /** Which tenants RBAC names a caller for, so listing tenants needs no review per tenant. */
  visibility: TenantVisibility;
  /** Path prefix of the API version, e.g. `/v1`. */
  prefix: string;
  /**
   * Whether tenant `tenant` owns endpoint `endpoint`; endpoint grants are refused otherwise. Absent when the
   * endpoint routes are not served: then no endpoint grant can be checked, and none is accepted.
   */
  endpointExists?(tenant: string, endpoint: string): Promise<boolean>;
  /** How many model versions a tenant stores, so deleting a tenant never drops models silently. */
  storedModelCount?(tenant: string): Promise<number>;
}
