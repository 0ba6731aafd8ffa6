import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuthorizer, enforceTenantVerdict, judgeTenantAction } from '../../../src/auth/authorize.ts';
import type { SubjectAccessReviewRequest } from '../../../src/auth/authorize.ts';
import type { Identity } from '../../../src/auth/identity.ts';

const bob: Identity = { kind: 'oidc', username: 'oidc:bob', groups: ['oidc:acme-users'], extra: {} };
const getAcme = { verb: 'get', resource: 'tenants', name: 'acme' } as const;

function countingPort(allowed: (r: SubjectAccessReviewRequest) => boolean = () => true) {
  const requests: SubjectAccessReviewRequest[] = [];
  return {
    requests,
    port: {
      async review(request: SubjectAccessReviewRequest) {
        requests.push(request);
        return { allowed: allowed(request) };
      },
    },
  };
}

describe('the SubjectAccessReview authorizer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks about the tenantmesh.io tenants resource with the caller’s user, effective groups and extra', async () => {
    const { port, requests } = countingPort();
    await createAuthorizer(port).can(bob, {
      verb: 'create',
      resource: 'tenants',
      subresource: 'models',
      name: 'acme',
    });
    expect(requests).toEqual([
      {
        user: 'oidc:bob',
        uid: undefined,
        groups: ['oidc:acme-users', 'system:authenticated'],
        extra: {},
        resourceAttributes: {
          group: 'tenantmesh.io',
          resource: 'tenants',
          subresource: 'models',
          name: 'acme',
          verb: 'create',
        },
      },
    ]);
  });

  it('gives a ServiceAccount the groups Kubernetes gives it, even when its token review listed none', async () => {
    const { port, requests } = countingPort();
    const pipeline: Identity = {
      kind: 'serviceaccount',
      username: 'system:serviceaccount:acme-ci:pipeline',
      uid: 'u-1',
      groups: [],
      extra: {},
    };
    await createAuthorizer(port).can(pipeline, getAcme);
    expect(requests[0]?.groups).toEqual([
      'system:authenticated',
      'system:serviceaccounts',
      'system:serviceaccounts:acme-ci',
    ]);
  });

  it('answers a repeated question from the cache until the TTL passes', async () => {
    const { port, requests } = countingPort();
    const authorizer = createAuthorizer(port, { ttlMs: 5000 });
    await authorizer.can(bob, getAcme);
    vi.advanceTimersByTime(3999);
    await authorizer.can(bob, getAcme);
    expect(requests).toHaveLength(1);
    vi.advanceTimersByTime(1001);
    await authorizer.can(bob, getAcme);
    expect(requests).toHaveLength(2);
  });

  it('serves a decision in the last fifth of its TTL and reviews it again meanwhile, so no request waits', async () => {
    const { port, requests } = countingPort();
    const authorizer = createAuthorizer(port, { ttlMs: 5000 });
    await authorizer.can(bob, getAcme);
    vi.advanceTimersByTime(4000);
    await expect(authorizer.can(bob, getAcme)).resolves.toMatchObject({ allowed: true });
    await authorizer.can(bob, getAcme);
    expect(requests).toHaveLength(2);
    vi.advanceTimersByTime(1500); // past the first decision's TTL, within the refreshed one's
    await authorizer.can(bob, getAcme);
    expect(requests).toHaveLength(2);
  });

  it('applies a revoked grant from the refreshed review on', async () => {
    let allowed = true;
    const { port } = countingPort(() => allowed);
    const authorizer = createAuthorizer(port, { ttlMs: 5000 });
    await authorizer.can(bob, getAcme);
    vi.advanceTimersByTime(4500);
    allowed = false;
    await expect(authorizer.can(bob, getAcme)).resolves.toMatchObject({ allowed: true });
    await vi.waitFor(async () =>
      expect(await authorizer.can(bob, getAcme)).toMatchObject({ allowed: false }),
    );
  });

  it('never serves a decision past its TTL, even while its refresh has not answered', async () => {
    const answers: ((allowed: boolean) => void)[] = [];
    const authorizer = createAuthorizer(
      {
        review: () => new Promise((resolve) => answers.push((allowed) => resolve({ allowed }))),
      },
      { ttlMs: 5000 },
    );
    const first = authorizer.can(bob, getAcme);
    answers[0]!(true);
    await first;
    vi.advanceTimersByTime(4500);
    await authorizer.can(bob, getAcme); // starts the refresh, which hangs
    expect(answers).toHaveLength(2);
    vi.advanceTimersByTime(500);
    const afterExpiry = authorizer.can(bob, getAcme);
    expect(answers).toHaveLength(3);
    answers[2]!(false);
    await expect(afterExpiry).resolves.toMatchObject({ allowed: false });
  });

  it('lets a decision expire when its refresh fails, and asks again on the next request', async () => {
    let calls = 0;
    const authorizer = createAuthorizer(
      {
        async review() {
          calls++;
          if (calls === 2) throw Object.assign(new Error('apiserver down'), { code: 'Unavailable' });
          return { allowed: true };
        },
      },
      { ttlMs: 5000 },
    );
    await authorizer.can(bob, getAcme);
    vi.advanceTimersByTime(4500);
    await authorizer.can(bob, getAcme); // refresh fails in the background
    await authorizer.can(bob, getAcme); // still the first decision, no second refresh yet
    expect(calls).toBe(2);
    vi.advanceTimersByTime(500);
    await expect(authorizer.can(bob, getAcme)).resolves.toMatchObject({ allowed: true });
    expect(calls).toBe(3);
  });

  it('keeps decisions apart for different groups, verbs and tenants', async () => {
    const { port, requests } = countingPort();
    const authorizer = createAuthorizer(port);
    await authorizer.can(bob, getAcme);
    await authorizer.can({ ...bob, groups: ['oidc:platform-admins'] }, getAcme);
    await authorizer.can(bob, { ...getAcme, verb: 'delete' });
    await authorizer.can(bob, { ...getAcme, name: 'globex' });
    expect(requests).toHaveLength(4);
  });

  it('shares a decision between equal identities, whatever the order of their groups and extra', async () => {
    const { port, requests } = countingPort();
    const authorizer = createAuthorizer(port);
    const carol: Identity = { ...bob, groups: ['b', 'a'], extra: { scope: ['y', 'x'], aud: ['api'] } };
    await authorizer.can(carol, getAcme);
    await authorizer.can(carol, getAcme);
    await authorizer.can({ ...bob, groups: ['a', 'b'], extra: { aud: ['api'], scope: ['x', 'y'] } }, getAcme);
    await authorizer.can({ ...carol, uid: 'u-1' }, getAcme);
    await authorizer.can({ ...carol, extra: { scope: ['x'], aud: ['api'] } }, getAcme);
    expect(requests).toHaveLength(3);
  });

  it('evicts the least recently used decision beyond maxEntries', async () => {
    const { port, requests } = countingPort();
    const authorizer = createAuthorizer(port, { maxEntries: 2 });
    await authorizer.can(bob, { ...getAcme, name: 'a' });
    await authorizer.can(bob, { ...getAcme, name: 'b' });
    await authorizer.can(bob, { ...getAcme, name: 'a' }); // a is now the most recent
    await authorizer.can(bob, { ...getAcme, name: 'c' }); // evicts b
    await authorizer.can(bob, { ...getAcme, name: 'a' });
    expect(requests).toHaveLength(3);
    await authorizer.can(bob, { ...getAcme, name: 'b' });
    expect(requests).toHaveLength(4);
  });

  it('keeps the decisions of a walk over 2,000 tenants without thrashing by default', async () => {
    const { port, requests } = countingPort();
    const authorizer = createAuthorizer(port);
    const names = Array.from({ length: 2000 }, (_, i) => `t-${i}`);
    for (const name of names) await authorizer.can(bob, { ...getAcme, name });
    for (const name of names) await authorizer.can(bob, { ...getAcme, name });
    expect(requests).toHaveLength(2000);
  });

  it('shares one review between concurrent identical questions', async () => {
    const { port, requests } = countingPort();
    const authorizer = createAuthorizer(port);
    await Promise.all([authorizer.can(bob, getAcme), authorizer.can(bob, getAcme)]);
    expect(requests).toHaveLength(1);
  });

  it('does not cache a failed review', async () => {
    let calls = 0;
    const authorizer = createAuthorizer({
      async review() {
        calls++;
        if (calls === 1) throw Object.assign(new Error('apiserver down'), { code: 'Unavailable' });
        return { allowed: true };
      },
    });
    await expect(authorizer.can(bob, getAcme)).rejects.toThrow('apiserver down');
    await expect(authorizer.can(bob, getAcme)).resolves.toMatchObject({ allowed: true });
  });
});

describe('tenant visibility', () => {
  const rbac = (r: SubjectAccessReviewRequest) =>
    r.resourceAttributes.name === 'acme' && ['get', 'list'].includes(r.resourceAttributes.verb);

  it('hides a tenant the caller may not get, whatever the action', async () => {
    const authorizer = createAuthorizer(countingPort(rbac).port);
    const verdict = await judgeTenantAction(authorizer, bob, 'globex', { verb: 'delete' });
    expect(verdict.outcome).toBe('hidden');
    expect(() => enforceTenantVerdict(verdict, 'globex')).toThrow(
      expect.objectContaining({ code: 'NotFound' }),
    );
  });

  it('forbids an action on a tenant the caller may see but not change', async () => {
    const authorizer = createAuthorizer(countingPort(rbac).port);
    const verdict = await judgeTenantAction(authorizer, bob, 'acme', {
      verb: 'create',
      subresource: 'endpoints',
    });
    expect(verdict.outcome).toBe('forbidden');
    expect(() => enforceTenantVerdict(verdict, 'acme')).toThrow(
      expect.objectContaining({ code: 'Forbidden' }),
    );
  });

  it('allows reading a visible tenant with a single review', async () => {
    const { port, requests } = countingPort(rbac);
    const verdict = await judgeTenantAction(createAuthorizer(port), bob, 'acme', { verb: 'get' });
    expect(verdict.outcome).toBe('allowed');
    expect(requests).toHaveLength(1);
  });
});
