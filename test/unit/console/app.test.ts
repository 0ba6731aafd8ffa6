import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.ts';
import { createConsole, safeReturnPath } from '../../../src/console/app.ts';
import type { ConsoleAssets } from '../../../src/console/assets.ts';
import { SessionStore } from '../../../src/console/session.ts';
import { testDeps } from '../api/fakes.ts';
import { FakeIdp, fakeTokenAuthenticator } from './fake-idp.ts';

const SECRET = 'console-secret';
const assets: ConsoleAssets = {
  urls: { script: '/console/assets/console-abc.js', style: '/console/assets/console-def.css' },
  files: new Map([
    ['/console/assets/console-abc.js', { body: Buffer.from('/*js*/'), contentType: 'text/javascript' }],
    ['/console/assets/console-def.css', { body: Buffer.from('/*css*/'), contentType: 'text/css' }],
  ]),
};

let clock = Date.parse('2026-01-01T00:00:00Z');
const now = () => clock;
let idp: FakeIdp;
let server: http.Server;
let base = '';

beforeEach(async () => {
  clock = Date.parse('2026-01-01T00:00:00Z');
  idp = new FakeIdp(SECRET, now);
  await idp.start();
  server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const consoleMiddleware = createConsole({
    oidc: { issuer: idp.issuer, clientId: 'tenantmesh-console', clientSecret: SECRET },
    publicUrl: base,
    assets,
    sessions: new SessionStore({ idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000, loginMs: 600_000 }, now),
    now,
  });
  const { deps } = testDeps({ authenticator: fakeTokenAuthenticator(now), console: consoleMiddleware });
  server.on('request', createApp(deps).callback());
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await idp.stop();
});

/** Logs in as `sub` through the fake identity provider; returns the agent holding the session cookie. */
async function login(sub: string, returnTo = '/console/tenants') {
  const agent = request.agent(base);
  const start = await agent.get(`/console/auth/login?return_to=${encodeURIComponent(returnTo)}`);
  expect(start.status).toBe(302);
  const { code, state } = idp.approve(start.headers['location']!, sub);
  const callback = await agent.get(`/console/auth/callback?code=${code}&state=${state}`);
  expect(callback.status).toBe(200);
  return { agent, callback, start };
}

function csrfOf(pageHtml: string): string {
  return /<meta name="csrf-token" content="([^"]+)"/.exec(pageHtml)?.[1] ?? '';
}

describe('console login', () => {
  it('sends a visitor without a session to login and remembers the page they asked for', async () => {
    const response = await request(base).get('/console/tenants/acme/models');
    expect(response.status).toBe(302);
    expect(response.headers['location']).toBe(
      '/console/auth/login?return_to=%2Fconsole%2Ftenants%2Facme%2Fmodels',
    );
  });

  it('starts the code flow with PKCE (S256), state and nonce, holding the login in a Lax HttpOnly cookie', async () => {
    const response = await request(base).get('/console/auth/login');
    const location = new URL(response.headers['location']!);
    expect(location.origin + location.pathname).toBe(`${idp.issuer}/auth`);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'tenantmesh-console',
      redirect_uri: `${base}/console/auth/callback`,
      code_challenge_method: 'S256',
    });
    expect(location.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('scope')).toContain('offline_access');
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toMatch(/tm_login=[^;]+; path=\/console\/auth; .*samesite=lax; httponly/);
  });

  it('finishes the login with a Strict HttpOnly session cookie and returns to the page asked for', async () => {
    const { callback } = await login('acme-user-token', '/console/tenants/acme');
    const cookie = String(callback.headers['set-cookie']);
    expect(cookie).toMatch(/tm_session=[^;]+; path=\/console; samesite=strict; httponly/);
    expect(callback.text).toContain('content="0;url=/console/tenants/acme"');
    // The tokens stay on the server: nothing token-like reaches the browser.
    expect(callback.text).not.toMatch(/refresh-|eyJ/);
  });

  it('refuses a callback whose state does not match the login, and a code used twice', async () => {
    const agent = request.agent(base);
    const start = await agent.get('/console/auth/login');
    const { code } = idp.approve(start.headers['location']!, 'acme-user-token');
    const forged = await agent.get(`/console/auth/callback?code=${code}&state=forged`);
    expect(forged.status).toBe(400);
    expect(forged.text).toContain('unknown or expired');
    const { state } = idp.approve(start.headers['location']!, 'acme-user-token');
    const replay = await agent.get(`/console/auth/callback?code=${code}&state=${state}`);
    expect(replay.status).toBe(400);
  });

  it('never returns to another site after login', () => {
    expect(safeReturnPath('https://evil.example/console')).toBe('/console/tenants');
    expect(safeReturnPath('//evil.example/console')).toBe('/console/tenants');
    expect(safeReturnPath('/console//evil.example')).toBe('/console/tenants');
    expect(safeReturnPath('/console/tenants/acme/access')).toBe('/console/tenants/acme/access');
  });

  it('logs out only with the CSRF token, and the session is gone afterwards', async () => {
    const { agent } = await login('acme-user-token');
    const page = await agent.get('/console/tenants');
    expect((await agent.post('/console/auth/logout').type('form').send({ csrf: 'wrong' })).status).toBe(403);
    const out = await agent
      .post('/console/auth/logout')
      .type('form')
      .send({ csrf: csrfOf(page.text) });
    expect(out.status).toBe(200);
    expect(out.text).toContain('signed out');
    expect((await agent.get('/console/tenants')).status).toBe(302);
  });

  it('sends an idle-expired session back to login and to the same page after it', async () => {
    const { agent } = await login('acme-user-token');
    clock += 31 * 60_000;
    const response = await agent.get('/console/tenants/acme/endpoints');
    expect(response.status).toBe(302);
    expect(response.headers['location']).toBe(
      '/console/auth/login?return_to=%2Fconsole%2Ftenants%2Facme%2Fendpoints',
    );
  });

  it('refreshes the token silently when it is about to expire', async () => {
    idp.tokenLifetimeSeconds = 120;
    const { agent } = await login('acme-user-token');
    clock += 90_000;
    const response = await agent.get('/console/tenants/acme');
    expect(response.status).toBe(200);
    expect(idp.refreshes).toBe(1);
  });

  it('ends the session when the identity provider refuses the refresh', async () => {
    idp.tokenLifetimeSeconds = 120;
    const { agent } = await login('acme-user-token');
    idp.refreshTokens.clear();
    clock += 90_000;
    const response = await agent.get('/console/tenants/acme');
    expect(response.status).toBe(302);
    expect(response.headers['location']).toContain('/console/auth/login');
  });
});

describe('console pages and proxy', () => {
  it('serves pages with a strict Content-Security-Policy and no-store caching', async () => {
    const { agent } = await login('admin-token');
    const response = await agent.get('/console/tenants');
    expect(response.status).toBe(200);
    expect(response.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.text).toContain('Create a tenant');
  });

  it('serves the hashed assets as immutable', async () => {
    const response = await request(base).get('/console/assets/console-abc.js');
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('leaves out what a tenant user may not do: no tenant creation, no tenant deletion, no grant form', async () => {
    const { agent } = await login('acme-user-token');
    const tenants = await agent.get('/console/tenants');
    expect(tenants.text).not.toContain('Create a tenant');
    expect(tenants.text).toContain('/console/tenants/acme');
    expect(tenants.text).not.toContain('/console/tenants/globex');
    const overview = await agent.get('/console/tenants/acme');
    expect(overview.text).not.toContain('Delete this tenant');
    const access = await agent.get('/console/tenants/acme/access');
    expect(access.status).toBe(200);
    expect(access.text).not.toContain('Grant access');
    expect(access.text).not.toContain('Revoke');
  });

  it('shows a platform admin the grant form with every role and revoke buttons', async () => {
    const { agent } = await login('admin-token');
    const access = await agent.get('/console/tenants/acme/access');
    expect(access.text).toContain('Grant access');
    expect(access.text).toContain('value="admins"');
    expect(access.text).toContain('Revoke');
  });

  it('answers a tenant the user may not see with the same not-found page as a missing one', async () => {
    const { agent } = await login('outsider-token');
    const hidden = await agent.get('/console/tenants/acme');
    const missing = await agent.get('/console/tenants/nothere');
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(hidden.text).toBe(missing.text);
  });

  it('refuses a state-changing proxy call without the CSRF token or from another origin', async () => {
    const { agent } = await login('admin-token');
    const csrf = csrfOf((await agent.get('/console/tenants')).text);
    const grant = { role: 'users', subject: { kind: 'Group', name: 'data-science' } };
    const missing = await agent.post('/console/api/v1/tenants/acme/access').send(grant);
    expect(missing.status).toBe(403);
    const foreign = await agent
      .post('/console/api/v1/tenants/acme/access')
      .set('x-csrf-token', csrf)
      .set('origin', 'https://evil.example')
      .send(grant);
    expect(foreign.status).toBe(403);
    const allowed = await agent
      .post('/console/api/v1/tenants/acme/access')
      .set('x-csrf-token', csrf)
      .send(grant);
    expect(allowed.status).toBe(201);
    expect((await agent.get('/console/tenants/acme/access')).text).toContain('Group data-science');
  });

  it('passes the API’s own refusal and problem through the proxy (the same RBAC as any client)', async () => {
    const { agent } = await login('acme-user-token');
    const csrf = csrfOf((await agent.get('/console/tenants')).text);
    const response = await agent
      .post('/console/api/v1/tenants/acme/access')
      .set('x-csrf-token', csrf)
      .send({ role: 'users', subject: { kind: 'Group', name: 'x' } });
    expect(response.status).toBe(403);
    expect(response.body.title).toBe('Forbidden');
  });

  it('answers the proxy without a session with 401 and proxies nothing but /v1 routes', async () => {
    expect((await request(base).get('/console/api/v1/tenants')).status).toBe(401);
    const { agent } = await login('admin-token');
    expect((await agent.get('/console/api/metrics')).status).toBe(404);
  });
});
