import type { Tenant } from '../domain/index.ts';

/**
 * Which tenant already holds the CA with `fingerprint`, if another one does (issue 11, finding 11): a CA trusted
 * for two tenants lets whoever holds its key mint certificates for both. The first tenant to use a CA keeps it
 * (older creation time, then name, so every replica and every reconcile order agrees); a later one is refused.
 * Other tenants are known by the fingerprint the operator wrote into their status.
 */
export function earlierHolderOfCa(tenant: Tenant, fingerprint: string, others: Tenant[]): string | undefined {
  const holders = others.filter(
    (other) =>
      other.metadata.name !== tenant.metadata.name &&
      !other.metadata.deletionTimestamp &&
      other.status?.caFingerprint === fingerprint &&
      comesFirst(other, tenant),
  );
  return holders.sort((a, b) => (comesFirst(a, b) ? -1 : 1))[0]?.metadata.name;
}

function comesFirst(a: Tenant, b: Tenant): boolean {
  const at = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const bt = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  return at !== bt ? at < bt : a.metadata.name < b.metadata.name;
}

/** Whether a tenant brings its own CA: only such tenants can share one (generated keys are unique). */
export function bringsOwnCa(tenant: Tenant): boolean {
  return tenant.spec.ca?.secretRef?.name !== undefined;
}
