import { describe, expect, it } from 'vitest';
import { servesGroup, type ApiGroupInfo } from '../../../src/kube/discovery.ts';
import { objectKey, splitObjectKey } from '../../../src/kube/types.ts';

const groups: ApiGroupInfo[] = [
  { name: '', versions: ['v1'], preferredVersion: 'v1' },
  { name: 'networking.istio.io', versions: ['v1', 'v1beta1'], preferredVersion: 'v1' },
  { name: 'authorino.kuadrant.io', versions: ['v1beta3'], preferredVersion: 'v1beta3' },
];

describe('servesGroup', () => {
  it.each([
    { name: 'detects an installed group', group: 'networking.istio.io', version: undefined, expected: true },
    {
      name: 'detects an installed group at a version',
      group: 'authorino.kuadrant.io',
      version: 'v1beta3',
      expected: true,
    },
    {
      name: 'misses a version the server does not serve',
      group: 'authorino.kuadrant.io',
      version: 'v1beta2',
      expected: false,
    },
    {
      name: 'misses a group that is not installed (no OpenShift)',
      group: 'user.openshift.io',
      version: undefined,
      expected: false,
    },
  ])('$name', ({ group, version, expected }) => {
    expect(servesGroup(groups, group, version)).toBe(expected);
  });
});

describe('object keys', () => {
  it('key namespaced objects as namespace/name and cluster-scoped ones by name, reversibly', () => {
    expect(objectKey({ metadata: { name: 'acme-mnist', namespace: 'tenantmesh-serving' } })).toBe(
      'tenantmesh-serving/acme-mnist',
    );
    expect(objectKey({ metadata: { name: 'acme' } })).toBe('acme');
    expect(splitObjectKey('tenantmesh-serving/acme-mnist')).toEqual({
      namespace: 'tenantmesh-serving',
      name: 'acme-mnist',
    });
    expect(splitObjectKey('acme')).toEqual({ name: 'acme' });
  });
});
