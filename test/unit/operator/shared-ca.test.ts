import { describe, expect, it } from 'vitest';
import type { Tenant } from '../../../src/domain/index.ts';
import { bringsOwnCa, earlierHolderOfCa } from '../../../src/operator/shared-ca.ts';

const tenant = (
  name: string,
  created: string,
  status: Tenant['status'] = undefined,
  extra: Partial<Tenant['metadata']> = {},
) =>
  ({
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'Tenant',
    metadata: { name, creationTimestamp: created, ...extra },
    spec: { admins: [], users: [], ca: { secretRef: { name: `${name}-ca` } } },
    ...(status ? { status } : {}),
  }) as Tenant;
const serving: Tenant['status'] = { caFingerprint: 'AA' };
const refused: Tenant['status'] = {
  caFingerprint: 'AA',
  conditions: [
    {
      type: 'Degraded',
      status: 'True',
      reason: 'CaInUse',
      message: '',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    },
  ],
};

describe('a CA shared between tenants', () => {
  it('stays with the tenant serving with it; a newcomer is told who holds it, however old or named', () => {
    const holder = tenant('zeta', '2026-02-01T00:00:00Z', serving);
    const newcomer = tenant('acme', '2026-01-01T00:00:00Z');
    expect(earlierHolderOfCa(newcomer, 'AA', [holder, newcomer])).toBe('zeta');
    expect(earlierHolderOfCa(holder, 'AA', [holder, newcomer])).toBeUndefined();
  });

  it('among tenants not serving with it yet, the older one, then the name, decides, so every replica agrees', () => {
    const older = tenant('zeta', '2026-01-01T00:00:00Z', refused);
    const younger = tenant('acme', '2026-02-01T00:00:00Z', refused);
    expect(earlierHolderOfCa(younger, 'AA', [older, younger])).toBe('zeta');
    expect(earlierHolderOfCa(older, 'AA', [older, younger])).toBeUndefined();
    const a = tenant('a', '2026-01-01T00:00:00Z', serving);
    const b = tenant('b', '2026-01-01T00:00:00Z', serving);
    expect(earlierHolderOfCa(b, 'AA', [a, b])).toBe('a');
    expect(earlierHolderOfCa(a, 'AA', [a, b])).toBeUndefined();
  });

  it('ignores other fingerprints, tenants without one yet, and a holder being deleted', () => {
    const me = tenant('acme', '2026-02-01T00:00:00Z');
    expect(earlierHolderOfCa(me, 'AA', [tenant('x', '2026-01-01T00:00:00Z', { caFingerprint: 'BB' })])).toBe(
      undefined,
    );
    expect(earlierHolderOfCa(me, 'AA', [tenant('x', '2026-01-01T00:00:00Z')])).toBeUndefined();
    const going = tenant('x', '2026-01-01T00:00:00Z', serving, { deletionTimestamp: '2026-03-01T00:00:00Z' });
    expect(earlierHolderOfCa(me, 'AA', [going])).toBeUndefined();
  });

  it('concerns only tenants that bring their own CA', () => {
    const own = tenant('acme', '2026-01-01T00:00:00Z');
    expect(bringsOwnCa(own)).toBe(true);
    expect(bringsOwnCa({ ...own, spec: { admins: [], users: [] } })).toBe(false);
  });
});
