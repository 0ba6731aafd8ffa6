import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { OAuthError, type OidcClient } from '../auth/oidc-client.ts';
import type { Session, SessionStore } from './session.ts';

/** The session ended (expired, refresh refused, or the API refused its token): the user must log in again. */
export class SessionEnded extends Error {}

/** An API answer that was not a success, with its problem document when it sent one. */
export class ApiAnswerError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { title?: string; detail?: string },
  ) {
    super(`${problem.title ?? `HTTP ${status}`}: ${problem.detail ?? ''}`);
  }
}

/** Refresh this long before the ID token expires, so a request never starts with a token about to lapse. */
const REFRESH_MARGIN_MS = 60_000;

/**
 * The backend-for-frontend: calls the management API's own routes over loopback with the session's token, so
 * every console action passes the same authentication, RBAC checks and audit as any other client, and the token
 * never leaves the server. Refreshes the token silently when it is about to expire.
 */
export class BackendForFrontend {
  private readonly refreshing = new Map<string, Promise<void>>();

  constructor(
    private readonly oidc: OidcClient,
    private readonly sessions: SessionStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh ID token for the session, refreshing it first when it is close to expiry. */
  async token(session: Session): Promise<string> {
    if (session.tokens.expiresAt - this.now() > REFRESH_MARGIN_MS) return session.tokens.idToken;
    let pending = this.refreshing.get(session.id);
    if (!pending) {
      pending = this.refresh(session).finally(() => this.refreshing.delete(session.id));
      this.refreshing.set(session.id, pending);
    }
    await pending;
    return session.tokens.idToken;
  }

  private async refresh(session: Session): Promise<void> {
    const refreshToken = session.tokens.refreshToken;
    if (!refreshToken) {
      if (session.tokens.expiresAt > this.now()) return;
      this.sessions.delete(session.id);
      throw new SessionEnded('the session token expired');
    }
    try {
      const tokens = await this.oidc.refresh(refreshToken);
      session.tokens = { ...tokens, refreshToken: tokens.refreshToken ?? refreshToken };
    } catch (error) {
      if (error instanceof OAuthError && error.status >= 400 && error.status < 500) {
        this.sessions.delete(session.id);
        throw new SessionEnded(`the identity provider refused the refresh: ${error.code}`);
      }
      throw error;
    }
  }

  /** GETs an API route as the session's user and returns its JSON; throws SessionEnded or ApiAnswerError. */
  async get<T>(origin: string, session: Session, apiPath: string): Promise<T> {
    const response = await this.send(origin, session, 'GET', apiPath);
    const text = await response.text();
    if (!response.ok) throw new ApiAnswerError(response.status, parseProblem(text));
    return JSON.parse(text) as T;
  }

  /** Like {@link get}, answering undefined for 403/404 (the part is hidden from the user) instead of throwing. */
  async getIfAllowed<T>(origin: string, session: Session, apiPath: string): Promise<T | undefined> {
    try {
      return await this.get<T>(origin, session, apiPath);
    } catch (error) {
      if (error instanceof ApiAnswerError && (error.status === 403 || error.status === 404)) return undefined;
      throw error;
    }
  }

  /** Forwards a browser request (method, path, query, body stream) to the API as the session's user. */
  async forward(
    origin: string,
    session: Session,
    method: string,
    apiPathAndQuery: string,
    request: IncomingMessage,
  ): Promise<Response> {
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'content-length', 'range', 'if-match']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    return this.send(
      origin,
      session,
      method,
      apiPathAndQuery,
      hasBody ? (Readable.toWeb(request) as ReadableStream<Uint8Array>) : undefined,
      headers,
    );
  }

  private async send(
    origin: string,
    session: Session,
    method: string,
    apiPath: string,
    body?: ReadableStream<Uint8Array>,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const token = await this.token(session);
    const response = await fetch(`${origin}${apiPath}`, {
      method,
      headers: { ...headers, authorization: `Bearer ${token}`, accept: 'application/json, */*' },
      redirect: 'manual',
      ...(body ? { body, duplex: 'half' } : {}),
    } as RequestInit);
    if (response.status === 401) {
      // The API no longer accepts the token (revoked, key rotated): end the session rather than loop.
      this.sessions.delete(session.id);
      await response.body?.cancel();
      throw new SessionEnded('the API refused the session token');
    }
    return response;
  }
}

function parseProblem(text: string): { title?: string; detail?: string } {
  try {
    const parsed = JSON.parse(text) as { title?: unknown; detail?: unknown };
    return {
      ...(typeof parsed.title === 'string' ? { title: parsed.title } : {}),
      ...(typeof parsed.detail === 'string' ? { detail: parsed.detail } : {}),
    };
  } catch {
    return {};
  }
}
