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

  it('refuses an email username whose email is not verified', () => {
    expect(() =>
      identityFromClaims(
        { email: 'a@example.com', email_verified: false },
        { issuer: 'x', audiences: [], usernameClaim: 'email' },
      ),
    ).toThrow('email not verified');
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
