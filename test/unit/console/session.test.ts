import { describe, expect, it } from 'vitest';
import { csrfTokenMatches, SessionStore } from '../../../src/console/session.ts';

const tokens = { idToken: 'id', refreshToken: 'r', expiresAt: 0 };
const user = { email: 'a@example.test', name: 'A', groups: [] };

describe('console sessions', () => {
  it('forgets a session unused for longer than the idle lifetime', () => {
    let clock = 0;
    const store = new SessionStore({ idleMs: 1000, absoluteMs: 10_000, loginMs: 100 }, () => clock);
    const session = store.create(tokens, user);
    clock = 900;
    expect(store.get(session.id)).toBe(session);
    clock = 1800; // 900 ms after the last use: still alive
    expect(store.get(session.id)).toBe(session);
    clock = 2900;
    expect(store.get(session.id)).toBeUndefined();
  });

  it('ends even a busy session at the absolute lifetime', () => {
    let clock = 0;
    const store = new SessionStore({ idleMs: 1000, absoluteMs: 2500, loginMs: 100 }, () => clock);
    const session = store.create(tokens, user);
    for (clock = 0; clock <= 2400; clock += 600) expect(store.get(session.id)).toBeDefined();
    clock = 2600;
    expect(store.get(session.id)).toBeUndefined();
  });

  it('lets a pending login be finished once and only in time', () => {
    let clock = 0;
    const store = new SessionStore({ idleMs: 1000, absoluteMs: 2500, loginMs: 100 }, () => clock);
    const login = { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/console/tenants' };
    const id = store.startLogin(login);
    expect(store.takeLogin(id)).toMatchObject(login);
    expect(store.takeLogin(id)).toBeUndefined();
    const late = store.startLogin(login);
    clock = 200;
    expect(store.takeLogin(late)).toBeUndefined();
  });

  it('gives every session its own random id and CSRF token, and checks the token exactly', () => {
    const store = new SessionStore();
    const a = store.create(tokens, user);
    const b = store.create(tokens, user);
    expect(a.id).not.toBe(b.id);
    expect(a.csrfToken).not.toBe(b.csrfToken);
    expect(csrfTokenMatches(a, a.csrfToken)).toBe(true);
    expect(csrfTokenMatches(a, b.csrfToken)).toBe(false);
    expect(csrfTokenMatches(a, undefined)).toBe(false);
  });
});
