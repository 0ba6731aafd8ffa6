import { describe, expect, it } from 'vitest';
import type { Tenant } from '../../../src/domain/index.ts';
import { bringsOwnCa, earlierHolderOfCa } from '../../../src/operator/shared-ca.ts';

const tenant = (
  name: string,
  created: string,
  fingerprint?: string,
  extra: Partial<Tenant['metadata']> = {},
) =>
  ({
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'Tenant',
    metadata: { name, creationTimestamp: created, ...extra },
    spec: { admins: [], users: [], ca: { secretRef: { name: `${name}-ca` } } },
    ...(fingerprint ? { status: { caFingerprint: fingerprint } } : {}),
  }) as Tenant;

describe('a CA shared between tenants', () => {
  const older = tenant('acme', '2026-01-01T00:00:00Z', 'AA');
  const younger = tenant('zeta', '2026-02-01T00:00:00Z', 'AA');

  it('stays with the tenant that used it first, and the later one is told who holds it', () => {
    expect(earlierHolderOfCa(younger, 'AA', [older, younger])).toBe('acme');
    expect(earlierHolderOfCa(older, 'AA', [older, younger])).toBeUndefined();
  });

  it('breaks a tie of creation times by name, so every replica decides alike', () => {
    const a = tenant('a', '2026-01-01T00:00:00Z', 'AA');
    const b = tenant('b', '2026-01-01T00:00:00Z', 'AA');
    expect(earlierHolderOfCa(b, 'AA', [a, b])).toBe('a');
    expect(earlierHolderOfCa(a, 'AA', [a, b])).toBeUndefined();
  });

  it('ignores other fingerprints, tenants without one yet, and a holder being deleted', () => {
    expect(earlierHolderOfCa(younger, 'AA', [tenant('acme', '2026-01-01T00:00:00Z', 'BB')])).toBeUndefined();
    expect(earlierHolderOfCa(younger, 'AA', [tenant('acme', '2026-01-01T00:00:00Z')])).toBeUndefined();
    const going = tenant('acme', '2026-01-01T00:00:00Z', 'AA', { deletionTimestamp: '2026-03-01T00:00:00Z' });
    expect(earlierHolderOfCa(younger, 'AA', [going])).toBeUndefined();
  });

  it('concerns only tenants that bring their own CA', () => {
    expect(bringsOwnCa(older)).toBe(true);
    expect(bringsOwnCa({ ...older, spec: { admins: [], users: [] } })).toBe(false);
  });
});
