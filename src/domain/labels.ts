/** Label keys and values every tenantmesh object carries (docs/architecture.md, "Common labels"). */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
  component: 'app.kubernetes.io/component',
  tenant: 'tenantmesh.io/tenant',
  endpoint: 'tenantmesh.io/endpoint',
  /** On a tenant's CA trust Secret; the tenant's AuthConfig selects its trusted CAs by it. */
  tenantCa: 'tenantmesh.io/tenant-ca',
  /** The bare `component` key the Model Registry ecosystem (ODH dashboard) finds registry Services by. */
  registryComponent: 'component',
} as const;

/** Value of {@link LABELS.registryComponent} on a tenant's registry Service. */
export const REGISTRY_COMPONENT = 'model-registry';

/** Name of the registry Service's port: the dashboard looks a registry's API up by it. */
export const REGISTRY_PORT_NAME = 'https-api';

/** Value of `app.kubernetes.io/managed-by` and `app.kubernetes.io/part-of`. */
export const PRODUCT = 'tenantmesh';

/** What part of the platform an object belongs to. */
export type Component = 'serving' | 'gateway' | 'authz' | 'rbac' | 'pki' | 'registry';

/** Labels for an object of `component`, for a tenant (and one of its endpoints) when given. */
export function commonLabels(
  component: Component,
  tenant?: string,
  endpoint?: string,
): Record<string, string> {
  const labels: Record<string, string> = {
    [LABELS.managedBy]: PRODUCT,
    [LABELS.partOf]: PRODUCT,
    [LABELS.component]: component,
  };
  if (tenant !== undefined) labels[LABELS.tenant] = tenant;
  if (endpoint !== undefined) labels[LABELS.endpoint] = endpoint;
  return labels;
}

/** Selector of one endpoint's serving pods; stable for the Deployment's life (selectors are immutable). */
export function endpointPodSelector(tenant: string, endpoint: string): Record<string, string> {
  return { [LABELS.tenant]: tenant, [LABELS.endpoint]: endpoint };
}

/** Selector of every object the operator manages for a tenant, for listing and pruning. */
export function tenantSelector(tenant: string): Record<string, string> {
  return { [LABELS.managedBy]: PRODUCT, [LABELS.tenant]: tenant };
}

/** Renders a label map as a selector string (`k=v,k2=v2`, keys sorted) for list calls and status.selector. */
export function selectorString(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',');
}
