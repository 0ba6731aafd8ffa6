import request from 'supertest';
import { SignJWT, base64url, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.ts';
import { createAuthenticator } from '../../../src/auth/authenticate.ts';
import { createOidcVerifier } from '../../../src/auth/jwt.ts';
import { createServiceAccountAuthenticator } from '../../../src/auth/tokenreview.ts';
import { testDeps } from '../api/fakes.ts';
import { AUDIENCE, closedPort, startLocalIssuer } from './local-issuer.ts';
import type { LocalIssuer } from './local-issuer.ts';

let issuer: LocalIssuer;
let deadIssuerUrl: string;

beforeAll(async () => {
  issuer = await startLocalIssuer();
  deadIssuerUrl = `http://127.0.0.1:${await closedPort()}`;
});
afterAll(() => issuer.close());

function appWithRealAuthentication() {
  const authenticator = createAuthenticator({
    oidc: [
      createOidcVerifier({
        issuer: issuer.url,
        audiences: [AUDIENCE],
        usernamePrefix: 'oidc:',
        groupsPrefix: 'oidc:',
      }),
      createOidcVerifier({ issuer: deadIssuerUrl, audiences: [AUDIENCE], httpTimeoutMs: 1000 }),
    ],
    // Tokens of no OIDC issuer go to the cluster, which does not know them either.
    serviceAccounts: createServiceAccountAuthenticator({
      reviewToken: async () => ({ authenticated: false }),
    }),
  });
  const { deps, reviews } = testDeps({ authenticator });
  return { app: createApp(deps).callback(), reviews };
}

const unsigned = (claims: Record<string, unknown>) =>
  `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify(claims))}.`;

describe('bearer authentication against a local OIDC issuer', () => {
  it('accepts a valid token and hands RBAC the prefixed user and groups', async () => {
    const { app, reviews } = appWithRealAuthentication();
    const response = await request(app)
      .get('/v1/tenants/acme')
      .set('Authorization', `Bearer ${await issuer.sign()}`);
    expect(response.status).toBe(404); // authenticated; alice has no RBAC grant on acme
    expect(reviews[0]).toMatchObject({ user: 'oidc:alice', groups: ['oidc:team', 'system:authenticated'] });
  });

  const now = () => Math.floor(Date.now() / 1000);
  const attacks: [string, () => Promise<string | undefined>][] = [
    ['no token at all', async () => undefined],
    [
      'an unsigned token (alg none)',
      async () => unsigned({ iss: issuer.url, aud: AUDIENCE, sub: 'root', exp: now() + 300 }),
    ],
    [
      'a token HMAC-signed with the issuer’s public key',
      async () =>
        new SignJWT({ sub: 'root' })
          .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
          .setIssuer(issuer.url)
          .setAudience(AUDIENCE)
          .setExpirationTime(now() + 300)
          .sign(new TextEncoder().encode(issuer.publicKeyPem)),
    ],
    [
      'a token signed by a key the issuer does not publish',
      async () => issuer.sign({}, { kid: 'key-2', key: (await generateKeyPair('RS256')).privateKey }),
    ],
    [
      'a token signed by another key under the issuer’s kid',
      async () => issuer.sign({}, { key: (await generateKeyPair('RS256')).privateKey }),
    ],
    ['a token from another issuer', async () => issuer.sign({ iss: 'https://evil.example' })],
    ['a token for another audience', async () => issuer.sign({ aud: 'someone-else' })],
    ['an expired token', async () => issuer.sign({ exp: now() - 3600 })],
    ['a token not valid yet', async () => issuer.sign({ nbf: now() + 3600 })],
    ['a malformed token', async () => 'abc.def'],
    ['a token over 8 KiB', async () => issuer.sign({ padding: 'x'.repeat(9000) })],
  ];

  it.each(attacks)('refuses %s with 401 and a Bearer challenge', async (_case, mint) => {
    const { app } = appWithRealAuthentication();
    const token = await mint();
    const call = request(app).get('/v1/tenants');
    const response = await (token === undefined ? call : call.set('Authorization', `Bearer ${token}`));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(response.body)).not.toContain(token ?? '\u0000');
  });

  it('answers 503, not 401, when the issuer’s keys cannot be fetched', async () => {
    const { app } = appWithRealAuthentication();
    const token = await issuer.sign({ iss: deadIssuerUrl });
    const response = await request(app).get('/v1/tenants').set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(503);
    expect(response.headers['www-authenticate']).toBeUndefined();
  });

  it('fetches discovery and keys once for many requests', async () => {
    const { app } = appWithRealAuthentication();
    const before = issuer.hits.length;
    const token = await issuer.sign();
    for (let i = 0; i < 5; i++)
      await request(app).get('/v1/runtimes').set('Authorization', `Bearer ${token}`);
    expect(issuer.hits.slice(before)).toEqual(['/.well-known/openid-configuration', '/keys']);
  });
});
