import { describe, expect, it } from 'vitest';
import {
  describeSubject,
  effectiveGroups,
  grantRefusal,
  isReservedName,
  serviceAccountNamespace,
} from '../../../src/domain/index.ts';
import type { GrantRole, Subject } from '../../../src/domain/index.ts';

describe('effective groups, as the kube-apiserver gives them', () => {
  it.each([
    {
      name: 'an OIDC user gets system:authenticated after the token’s own groups',
      user: { username: 'alice@example.com', groups: ['ml-team'] },
      groups: ['ml-team', 'system:authenticated'],
    },
    {
      name: 'a user without groups still gets system:authenticated',
      user: { username: 'tenantmesh:client:acme:job', groups: [] },
      groups: ['system:authenticated'],
    },
    {
      name: 'a ServiceAccount gets the groups of all ServiceAccounts and of its namespace',
      user: { username: 'system:serviceaccount:acme-ci:pipeline', groups: [] },
      groups: ['system:authenticated', 'system:serviceaccounts', 'system:serviceaccounts:acme-ci'],
    },
    {
      name: 'a TokenReview answer that already lists them is not repeated, and keeps its order',
      user: {
        username: 'system:serviceaccount:acme-ci:pipeline',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:acme-ci', 'system:authenticated'],
      },
      groups: ['system:serviceaccounts', 'system:serviceaccounts:acme-ci', 'system:authenticated'],
    },
    {
      name: 'a username that only looks like a ServiceAccount’s (too many parts) gets no ServiceAccount groups',
      user: { username: 'system:serviceaccount:a:b:c', groups: [] },
      groups: ['system:authenticated'],
    },
  ])('$name', ({ user, groups }) => {
    expect(effectiveGroups(user)).toEqual(groups);
  });

  it('reads the namespace of ServiceAccount usernames only', () => {
    expect(serviceAccountNamespace('system:serviceaccount:ns:sa')).toBe('ns');
    expect(serviceAccountNamespace('system:serviceaccount::sa')).toBeUndefined();
    expect(serviceAccountNamespace('alice')).toBeUndefined();
  });

  it('treats every system: name as reserved', () => {
    expect(isReservedName('system:masters')).toBe(true);
    expect(isReservedName('systems-team')).toBe(false);
  });
});

describe('which subjects a role may be granted to', () => {
  const group = (name: string): Subject => ({ kind: 'Group', name });
  const user = (name: string): Subject => ({ kind: 'User', name });
  it.each<{ name: string; role: GrantRole; subject: Subject; refused: boolean }>([
    {
      name: 'every signed-in user as tenant users',
      role: 'users',
      subject: group('system:authenticated'),
      refused: false,
    },
    {
      name: 'every signed-in user on one endpoint',
      role: 'endpointUsers',
      subject: group('system:authenticated'),
      refused: false,
    },
    {
      name: 'the ServiceAccounts of a namespace as users',
      role: 'users',
      subject: group('system:serviceaccounts:ci'),
      refused: false,
    },
    { name: 'an ordinary group as admins', role: 'admins', subject: group('acme-admins'), refused: false },
    {
      name: 'unauthenticated callers as users',
      role: 'users',
      subject: group('system:unauthenticated'),
      refused: true,
    },
    {
      name: 'unauthenticated callers on an endpoint',
      role: 'endpointUsers',
      subject: group('system:unauthenticated'),
      refused: true,
    },
    { name: 'the anonymous user as users', role: 'users', subject: user('system:anonymous'), refused: true },
    {
      name: 'a group named system:anonymous as users',
      role: 'users',
      subject: group('system:anonymous'),
      refused: true,
    },
    {
      name: 'every signed-in user as admins',
      role: 'admins',
      subject: group('system:authenticated'),
      refused: true,
    },
    { name: 'system:masters as admins', role: 'admins', subject: group('system:masters'), refused: true },
  ])('$name: refused=$refused', ({ role, subject, refused }) => {
    expect(grantRefusal(role, subject) !== undefined).toBe(refused);
  });

  it('says why in words a reader understands', () => {
    expect(grantRefusal('users', group('system:unauthenticated'))).toMatch(/without credentials/);
    expect(grantRefusal('admins', group('system:authenticated'))).toMatch(/cannot administer a tenant/);
  });
});

describe('a subject in words', () => {
  it.each<[Subject, string]>([
    [{ kind: 'Group', name: 'system:authenticated' }, 'every signed-in user'],
    [{ kind: 'Group', name: 'system:serviceaccounts' }, 'every ServiceAccount of the cluster'],
    [{ kind: 'Group', name: 'system:serviceaccounts:ml-ci' }, 'every ServiceAccount in namespace ml-ci'],
    [{ kind: 'Group', name: 'ml-team' }, 'group ml-team'],
    [{ kind: 'User', name: 'alice@example.com' }, 'user alice@example.com'],
    [{ kind: 'ServiceAccount', namespace: 'ci', name: 'pipeline' }, 'ServiceAccount ci/pipeline'],
  ])('%o reads "%s"', (subject, words) => {
    expect(describeSubject(subject)).toBe(words);
  });
});
