import type { Tenant } from '../domain/index.ts';
import { CONDITION_TYPES, REASONS } from './conditions.ts';

/**
 * Which tenant holds the CA with `fingerprint`, if another one does (issue 11, finding 11): a CA trusted for two
 * tenants lets whoever holds its key mint certificates for both. A tenant already serving with the CA keeps it
 * (its status carries the fingerprint and it is not refused for it), so a newcomer can never take it over;
 * among equals, the older creation time, then the name, decides, so every replica and every order agrees.
 * Tenants are known by the fingerprint the operator wrote into their status.
 */
export function earlierHolderOfCa(tenant: Tenant, fingerprint: string, others: Tenant[]): string | undefined {
  const contenders = [
    tenant,
    ...others.filter(
      (other) =>
        other.metadata.name !== tenant.metadata.name &&
        !other.metadata.deletionTimestamp &&
        other.status?.caFingerprint === fingerprint,
    ),
  ];
  const holder = contenders.sort((a, b) => (holdsBefore(a, b, fingerprint) ? -1 : 1))[0]!;
  return holder.metadata.name === tenant.metadata.name ? undefined : holder.metadata.name;
}

/** Whether the tenant serves with this CA: the fingerprint in its status, and not refused for it. */
function established(tenant: Tenant, fingerprint: string): boolean {
  const degraded = tenant.status?.conditions?.find((c) => c.type === CONDITION_TYPES.degraded);
  return tenant.status?.caFingerprint === fingerprint && degraded?.reason !== REASONS.caInUse;
}

function holdsBefore(a: Tenant, b: Tenant, fingerprint: string): boolean {
  const ea = established(a, fingerprint);
  const eb = established(b, fingerprint);
  if (ea !== eb) return ea;
  const at = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const bt = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  return at !== bt ? at < bt : a.metadata.name < b.metadata.name;
}

/** Whether a tenant brings its own CA: only such tenants can share one (generated keys are unique). */
export function bringsOwnCa(tenant: Tenant): boolean {
  return tenant.spec.ca?.secretRef?.name !== undefined;
}
