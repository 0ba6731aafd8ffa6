import { createHash, timingSafeEqual } from 'node:crypto';
import { randomToken, type TokenSet } from '../auth/oidc-client.ts';

/** Who is logged in, as the ID token says (for display only: the API decides what they may do). */
export interface SessionUser {
  email: string;
  name: string;
  groups: string[];
}

/** A console session: lives only in the server's memory; the browser holds nothing but its random id. */
export interface Session {
  id: string;
  /** Synchronizer token every state-changing request must send back (X-CSRF-Token or a form field). */
  csrfToken: string;
  tokens: TokenSet;
  user: SessionUser;
  createdAt: number;
  lastUsedAt: number;
}

/** A login in progress: what the callback needs to finish the code flow. */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** The console page to return to after login (a path under /console, checked). */
  returnTo: string;
  createdAt: number;
}

/** How long sessions and pending logins live. */
export interface SessionLifetimes {
  /** A session unused this long is gone (default 30 min). */
  idleMs: number;
  /** A session is gone this long after login, however busy (default 12 h). */
  absoluteMs: number;
  /** A login must finish within this (default 10 min). */
  loginMs: number;
}

export const defaultLifetimes: SessionLifetimes = {
  idleMs: 30 * 60_000,
  absoluteMs: 12 * 3600_000,
  loginMs: 10 * 60_000,
};

/**
 * Sessions and pending logins in memory, keyed by random ids. Expired entries are dropped when touched and by
 * `sweep()`; a restart of the API logs everyone out (the identity provider keeps them signed in, so logging in
 * again is one redirect).
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly logins = new Map<string, PendingLogin>();

  constructor(
    private readonly lifetimes: SessionLifetimes = defaultLifetimes,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  create(tokens: TokenSet, user: SessionUser): Session {
    this.sweep();
    const at = this.now();
    const session: Session = {
      id: randomToken(32),
      csrfToken: randomToken(32),
      tokens,
      user,
      createdAt: at,
      lastUsedAt: at,
    };
    this.sessions.set(session.id, session);
    this.bound(this.sessions);
    return session;
  }

  /** The live session with this id, touched; undefined when unknown or expired. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const at = this.now();
    if (
      at - session.lastUsedAt > this.lifetimes.idleMs ||
      at - session.createdAt > this.lifetimes.absoluteMs
    ) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastUsedAt = at;
    return session;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  /** Remembers a login in progress; the returned id goes into the login cookie. */
  startLogin(login: Omit<PendingLogin, 'createdAt'>): string {
    this.sweep();
    const id = randomToken(24);
    this.logins.set(id, { ...login, createdAt: this.now() });
    this.bound(this.logins);
    return id;
  }

  /** Takes (and forgets) the pending login; a login can be finished once. */
  takeLogin(id: string | undefined): PendingLogin | undefined {
    if (!id) return undefined;
    const login = this.logins.get(id);
    this.logins.delete(id);
    if (!login || this.now() - login.createdAt > this.lifetimes.loginMs) return undefined;
    return login;
  }

  /** Drops expired sessions and logins. */
  sweep(): void {
    const at = this.now();
    for (const [id, s] of this.sessions) {
      if (at - s.lastUsedAt > this.lifetimes.idleMs || at - s.createdAt > this.lifetimes.absoluteMs)
        this.sessions.delete(id);
    }
    for (const [id, login] of this.logins) {
      if (at - login.createdAt > this.lifetimes.loginMs) this.logins.delete(id);
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  private bound(map: Map<string, unknown>): void {
    while (map.size > this.maxEntries) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfTokenMatches(session: Session, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = createHash('sha256').update(session.csrfToken).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}
