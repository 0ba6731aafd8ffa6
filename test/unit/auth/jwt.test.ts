import { SignJWT, base64url, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOidcVerifier, identityFromClaims } from '../../../src/auth/jwt.ts';
import { AUDIENCE, startLocalIssuer } from './local-issuer.ts';
import type { LocalIssuer } from './local-issuer.ts';

let issuer: LocalIssuer;
beforeAll(async () => {
  issuer = await startLocalIssuer();
});
afterAll(() => issuer.close());

const now = () => Math.floor(Date.now() / 1000);
const verifier = () => createOidcVerifier({ issuer: issuer.url, audiences: [AUDIENCE] });

describe('OIDC token verification', () => {
  it.each<[string, () => Promise<string>, string]>([
    [
      'an unsigned token',
      async () =>
        `${base64url.encode('{"alg":"none"}')}.${base64url.encode(JSON.stringify({ iss: issuer.url, aud: AUDIENCE, exp: now() + 60 }))}.`,
      'signing algorithm not allowed',
    ],
    [
      'an HMAC token keyed with the public key',
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(issuer.url)
          .setAudience(AUDIENCE)
          .setExpirationTime(now() + 60)
          .sign(new TextEncoder().encode(issuer.publicKeyPem)),
      'signing algorithm not allowed',
    ],
    [
      'an unknown key id',
      async () => issuer.sign({}, { kid: 'nope', key: (await generateKeyPair('RS256')).privateKey }),
      'no issuer key matches the token',
    ],
    [
      'a forged signature',
      async () => issuer.sign({}, { key: (await generateKeyPair('RS256')).privateKey }),
      'signature verification failed',
    ],
    ['another issuer', () => issuer.sign({ iss: 'https://evil.example' }), 'unexpected issuer'],
    ['another audience', () => issuer.sign({ aud: 'other' }), 'unexpected audience'],
    ['an expired token', () => issuer.sign({ exp: now() - 3600 }), 'token expired'],
    ['a token not valid yet', () => issuer.sign({ nbf: now() + 3600 }), 'token not yet valid'],
    ['garbage', async () => 'a.b.c', 'malformed token'],
    ['an oversized token', () => issuer.sign({ pad: 'x'.repeat(9000) }), 'token too large'],
    ['a token without username claim', () => issuer.sign({ sub: undefined }), 'claim "sub" missing'],
  ])('rejects %s as Unauthenticated with a reason', async (_case, mint, reason) => {
    await expect(verifier().verify(await mint())).rejects.toMatchObject({
      code: 'Unauthenticated',
      message: reason,
    });
  });

  it('accepts an expired token within the clock tolerance', async () => {
    const token = await issuer.sign({ exp: now() - 5 });
    await expect(verifier().verify(token)).resolves.toMatchObject({ username: 'alice' });
  });

  it('maps username and groups the way the apiserver’s claim mappings do', () => {
    const identity = identityFromClaims(
      { email: 'a@example.com', roles: 'ml' },
      {
        issuer: 'x',
        audiences: [],
        usernameClaim: 'email',
        usernamePrefix: 'oidc:',
        groupsClaim: 'roles',
        groupsPrefix: 'oidc:',
      },
    );
    expect(identity).toEqual({
      kind: 'oidc',
      username: 'oidc:a@example.com',
      groups: ['oidc:ml'],
      extra: {},
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['false', { email: 'a@example.com', email_verified: false }, 'email not verified'],
    ['the string "false"', { email: 'a@example.com', email_verified: 'false' }, 'email not verified'],
    ['the string "true"', { email: 'a@example.com', email_verified: 'true' }, 'email not verified'],
  ])('refuses an email username whose email_verified is %s', (_case, claims, reason) => {
    expect(() => identityFromClaims(claims, { issuer: 'x', audiences: [], usernameClaim: 'email' })).toThrow(
      reason,
    );
  });

  it('accepts an email username with email_verified true or absent (as the apiserver does)', () => {
    const config = { issuer: 'x', audiences: [], usernameClaim: 'email' };
    expect(identityFromClaims({ email: 'a@example.com', email_verified: true }, config).username).toBe(
      'a@example.com',
    );
    expect(identityFromClaims({ email: 'a@example.com' }, config).username).toBe('a@example.com');
  });

  it('does not ask a sub username for a verified email', () => {
    expect(
      identityFromClaims({ sub: 'alice', email_verified: false }, { issuer: 'x', audiences: [] }).username,
    ).toBe('alice');
  });

  it.each<[string, Record<string, unknown>, Record<string, string>, string]>([
    [
      'a group system:masters',
      { sub: 'mallory', groups: ['ml', 'system:masters'] },
      {},
      'group "system:masters"',
    ],
    ['a group given as one string', { sub: 'mallory', groups: 'system:nodes' }, {}, 'group "system:nodes"'],
    ['a system: username', { sub: 'system:kube-scheduler' }, {}, 'reserved "system:" space'],
    [
      'a prefix that lands in system:',
      { sub: 'mallory', groups: ['masters'] },
      { groupsPrefix: 'system:' },
      'group "system:masters"',
    ],
  ])('refuses %s from the IdP with a reason', (_case, claims, prefixes, reason) => {
    expect(() => identityFromClaims(claims, { issuer: 'x', audiences: [], ...prefixes })).toThrow(reason);
  });

  it('lets a prefix move an IdP group out of the reserved space', () => {
    const identity = identityFromClaims(
      { sub: 'mallory', groups: ['system:masters', 'tenantmesh:platform-admins'] },
      { issuer: 'x', audiences: [], usernamePrefix: 'oidc:', groupsPrefix: 'oidc:' },
    );
    expect(identity).toMatchObject({
      username: 'oidc:mallory',
      groups: ['oidc:system:masters', 'oidc:tenantmesh:platform-admins'],
    });
  });

  it('refuses a discovery document that names a different issuer', async () => {
    const lying = createOidcVerifier({
      issuer: issuer.url,
      audiences: [AUDIENCE],
      fetch: async () => Response.json({ issuer: 'https://elsewhere', jwks_uri: `${issuer.url}/keys` }),
    });
    await expect(lying.warmUp()).rejects.toMatchObject({ code: 'Unavailable' });
  });
});
