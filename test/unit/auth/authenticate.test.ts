import { describe, expect, it } from 'vitest';
import { bearerToken, createAuthenticator } from '../../../src/auth/authenticate.ts';
import type { OidcVerifier } from '../../../src/auth/jwt.ts';
import { createServiceAccountAuthenticator } from '../../../src/auth/tokenreview.ts';
import type { TokenReviewPort } from '../../../src/auth/tokenreview.ts';

const jwt = (claims: object) =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

const oidc: OidcVerifier = {
  issuer: 'https://idp.example',
  warmUp: async () => undefined,
  verify: async () => ({ kind: 'oidc', username: 'oidc:alice', groups: [], extra: {} }),
};

const reviewer = (calls: string[]): TokenReviewPort => ({
  async reviewToken(token) {
    calls.push(token);
    return token === 'good-sa-token' || token.includes('.')
      ? {
          authenticated: true,
          user: {
            username: 'system:serviceaccount:build:ci',
            uid: 'u-1',
            groups: ['system:serviceaccounts'],
            extra: { 'authentication.kubernetes.io/pod-name': ['p'] },
          },
        }
      : { authenticated: false, error: 'invalid bearer token' };
  },
});

describe('bearer authentication', () => {
  it('sends tokens of a configured OIDC issuer to that issuer’s verifier', async () => {
    const calls: string[] = [];
    const authenticator = createAuthenticator({
      oidc: [oidc],
      serviceAccounts: createServiceAccountAuthenticator(reviewer(calls)),
    });
    const identity = await authenticator.authenticate(`Bearer ${jwt({ iss: 'https://idp.example' })}`);
    expect(identity.kind).toBe('oidc');
    expect(calls).toEqual([]);
  });

  it('sends ServiceAccount JWTs and opaque tokens to TokenReview', async () => {
    const calls: string[] = [];
    const authenticator = createAuthenticator({
      oidc: [oidc],
      serviceAccounts: createServiceAccountAuthenticator(reviewer(calls)),
    });
    const identity = await authenticator.authenticate(
      `Bearer ${jwt({ iss: 'https://kubernetes.default.svc' })}`,
    );
    expect(identity).toEqual({
      kind: 'serviceaccount',
      username: 'system:serviceaccount:build:ci',
      uid: 'u-1',
      groups: ['system:serviceaccounts'],
      extra: { 'authentication.kubernetes.io/pod-name': ['p'] },
    });
    await expect(authenticator.authenticate('Bearer good-sa-token')).resolves.toMatchObject({
      kind: 'serviceaccount',
    });
    await expect(authenticator.authenticate('Bearer bad')).rejects.toMatchObject({ code: 'Unauthenticated' });
  });

  it('refuses tokens of unknown issuers when TokenReview is not configured', async () => {
    const authenticator = createAuthenticator({ oidc: [oidc] });
    await expect(authenticator.authenticate(`Bearer ${jwt({ iss: 'https://evil' })}`)).rejects.toThrow(
      'token issuer not trusted',
    );
  });

  it('reports an unreachable apiserver as Unavailable, not as a bad token', async () => {
    const authenticator = createServiceAccountAuthenticator({
      reviewToken: async () => {
        throw new Error('ECONNREFUSED');
      },
    });
    await expect(authenticator.authenticate('t')).rejects.toMatchObject({ code: 'Unavailable' });
  });

  it('refuses a token the reviewer accepted without confirming one of the required audiences', async () => {
    const answer = (audiences?: string[]): TokenReviewPort => ({
      reviewToken: async () => ({
        authenticated: true,
        user: { username: 'system:serviceaccount:build:ci', groups: [] },
        ...(audiences ? { audiences } : {}),
      }),
    });
    const options = { audiences: ['tenantmesh'] };
    // An audience-unaware reviewer (or a token made for the apiserver itself) confirms no audience.
    await expect(
      createServiceAccountAuthenticator(answer(), options).authenticate('t'),
    ).rejects.toMatchObject({ code: 'Unauthenticated' });
    await expect(
      createServiceAccountAuthenticator(answer(['https://kubernetes.default.svc']), options).authenticate(
        't',
      ),
    ).rejects.toThrow('audience');
    await expect(
      createServiceAccountAuthenticator(answer(['tenantmesh']), options).authenticate('t'),
    ).resolves.toMatchObject({ username: 'system:serviceaccount:build:ci' });
  });

  it('keeps the backend’s error text (addresses) out of an Unavailable answer', async () => {
    const authenticator = createServiceAccountAuthenticator({
      reviewToken: async () => {
        throw new Error('connect ECONNREFUSED 10.96.0.1:443');
      },
    });
    const error = await authenticator.authenticate('t').then(
      () => new Error('accepted'),
      (e: unknown) => e as Error,
    );
    expect(error.message).not.toMatch(/10\.96|ECONNREFUSED/);
    expect((error.cause as Error).message).toMatch(/ECONNREFUSED/);
  });

  it.each([
    [undefined, 'missing bearer token'],
    ['', 'missing bearer token'],
    ['Basic dXNlcjpwYXNz', 'authorization header is not a bearer token'],
    ['Bearer', 'authorization header is not a bearer token'],
    [`Bearer ${'x'.repeat(9000)}`, 'token too large'],
  ])('refuses the authorization header %j', (header, reason) => {
    expect(() => bearerToken(header)).toThrow(reason);
  });
});

describe('authentication cache', () => {
  const counting = (calls: { n: number }, fail = false): OidcVerifier => ({
    ...oidc,
    verify: async () => {
      calls.n += 1;
      if (fail) throw Object.assign(new Error('bad signature'), { code: 'Unauthenticated' });
      return { kind: 'oidc', username: 'oidc:alice', groups: [], extra: {} };
    },
  });

  it('reuses a verified token for the cache lifetime and checks it again afterwards', async () => {
    const calls = { n: 0 };
    let clock = 1_000_000;
    const authenticator = createAuthenticator(
      { oidc: [counting(calls)] },
      { ttlMs: 10_000, now: () => clock },
    );
    const header = `Bearer ${jwt({ iss: 'https://idp.example', exp: 10_000 })}`;
    await authenticator.authenticate(header);
    await authenticator.authenticate(header);
    expect(calls.n).toBe(1);
    clock += 10_001;
    await authenticator.authenticate(header);
    expect(calls.n).toBe(2);
  });

  it('never serves a token from the cache past its own expiry', async () => {
    const calls = { n: 0 };
    let clock = 1_000_000;
    const authenticator = createAuthenticator(
      { oidc: [counting(calls)] },
      { ttlMs: 60_000, now: () => clock },
    );
    const header = `Bearer ${jwt({ iss: 'https://idp.example', exp: 1_002 })}`; // expires 2 s from "now"
    await authenticator.authenticate(header);
    clock += 2_500;
    await authenticator.authenticate(header);
    expect(calls.n).toBe(2);
  });

  it('remembers a refused token briefly: repeating it costs one TokenReview, not one per request', async () => {
    const calls: string[] = [];
    let clock = 1_000_000;
    const authenticator = createAuthenticator(
      { oidc: [oidc], serviceAccounts: createServiceAccountAuthenticator(reviewer(calls)) },
      { refusedTtlMs: 5_000, now: () => clock },
    );
    for (let i = 0; i < 20; i++) {
      await expect(authenticator.authenticate('Bearer unknown-opaque')).rejects.toMatchObject({
        code: 'Unauthenticated',
      });
    }
    expect(calls).toEqual(['unknown-opaque']);
    clock += 5_001;
    await expect(authenticator.authenticate('Bearer unknown-opaque')).rejects.toThrow();
    expect(calls).toHaveLength(2);
  });

  it('shares one TokenReview between concurrent requests with the same token', async () => {
    const calls: string[] = [];
    const authenticator = createAuthenticator({
      oidc: [oidc],
      serviceAccounts: createServiceAccountAuthenticator(reviewer(calls)),
    });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => authenticator.authenticate('Bearer unknown-opaque')),
    );
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('does not remember that the apiserver was unreachable', async () => {
    let reviews = 0;
    const authenticator = createAuthenticator({
      oidc: [],
      serviceAccounts: createServiceAccountAuthenticator({
        reviewToken: async () => {
          reviews++;
          throw new Error('ECONNREFUSED');
        },
      }),
    });
    await expect(authenticator.authenticate('Bearer t')).rejects.toMatchObject({ code: 'Unavailable' });
    await expect(authenticator.authenticate('Bearer t')).rejects.toMatchObject({ code: 'Unavailable' });
    expect(reviews).toBe(2);
  });

  it('keeps the apiserver’s error text out of what the caller is told', async () => {
    const authenticator = createServiceAccountAuthenticator({
      reviewToken: async () => {
        throw new Error('dial tcp 10.0.0.7:6443: connect: connection refused');
      },
    });
    const failure = (await authenticator.authenticate('t').catch((error: unknown) => error)) as Error;
    expect(failure.message).not.toContain('10.0.0.7');
    expect((failure.cause as Error).message).toContain('10.0.0.7');
  });
});
