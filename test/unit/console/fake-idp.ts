import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Authenticator } from '../../../src/auth/authenticate.ts';
import { UnauthenticatedError } from '../../../src/domain/errors.ts';
import { IDENTITIES } from '../api/fakes.ts';

/** An unsigned token whose `sub` names one of the fake identities (unit tests only: the API here trusts it). */
export function fakeIdToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.sig`;
}

/** An authenticator that accepts {@link fakeIdToken} tokens that have not expired. */
export function fakeTokenAuthenticator(now: () => number): Authenticator {
  return {
    async authenticate(header) {
      const token = header?.replace(/^Bearer /, '') ?? '';
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString() || '{}') as {
        sub?: string;
        exp?: number;
      };
      const identity = claims.sub ? IDENTITIES[claims.sub] : undefined;
      if (!identity || (claims.exp ?? 0) * 1000 <= now())
        throw new UnauthenticatedError('token not accepted');
      return identity;
    },
  };
}

/**
 * A minimal identity provider for the console's unit tests: discovery, and a token endpoint that checks the PKCE
 * verifier against the challenge of the authorization request and the client's secret, and honours refresh.
 * The integration tests use Dex.
 */
export class FakeIdp {
  issuer = '';
  /** code → what the authorization request asked for and who logs in. */
  readonly codes = new Map<string, { challenge: string; nonce: string; sub: string; redirectUri: string }>();
  readonly refreshTokens = new Map<string, string>();
  tokenLifetimeSeconds = 3600;
  refreshes = 0;
  private server?: http.Server;

  constructor(
    private readonly clientSecret: string,
    private readonly now: () => number,
  ) {}

  async start(): Promise<void> {
    this.server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => this.handle(request, body, response));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/idp`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Plays the user logging in: takes the authorization URL the console redirected to and returns a code. */
  approve(authorizationUrl: string, sub: string): { code: string; state: string; redirectUri: string } {
    const url = new URL(authorizationUrl);
    const code = `code-${this.codes.size + 1}`;
    const redirectUri = url.searchParams.get('redirect_uri') ?? '';
    this.codes.set(code, {
      challenge: url.searchParams.get('code_challenge') ?? '',
      nonce: url.searchParams.get('nonce') ?? '',
      sub,
      redirectUri,
    });
    return { code, state: url.searchParams.get('state') ?? '', redirectUri };
  }

  private handle(request: http.IncomingMessage, body: string, response: http.ServerResponse): void {
    const json = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    if (request.url === '/idp/.well-known/openid-configuration') {
      return json(200, {
        issuer: this.issuer,
        authorization_endpoint: `${this.issuer}/auth`,
        token_endpoint: `${this.issuer}/token`,
      });
    }
    if (request.url !== '/idp/token' || request.method !== 'POST') return json(404, {});
    const expected = `Basic ${Buffer.from(`tenantmesh-console:${this.clientSecret}`).toString('base64')}`;
    if (request.headers.authorization !== expected) return json(401, { error: 'invalid_client' });
    const form = new URLSearchParams(body);
    if (form.get('grant_type') === 'authorization_code') {
      const grant = this.codes.get(form.get('code') ?? '');
      this.codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (!grant || grant.challenge !== challenge || grant.redirectUri !== form.get('redirect_uri')) {
        return json(400, { error: 'invalid_grant' });
      }
      return json(200, this.tokens(grant.sub, grant.nonce));
    }
    if (form.get('grant_type') === 'refresh_token') {
      const sub = this.refreshTokens.get(form.get('refresh_token') ?? '');
      if (!sub) return json(400, { error: 'invalid_grant' });
      this.refreshTokens.delete(form.get('refresh_token') ?? '');
      this.refreshes += 1;
      return json(200, this.tokens(sub, undefined));
    }
    return json(400, { error: 'unsupported_grant_type' });
  }

  private tokens(sub: string, nonce: string | undefined) {
    const refresh = `refresh-${sub}-${this.refreshTokens.size}-${this.refreshes}`;
    this.refreshTokens.set(refresh, sub);
    const identity = IDENTITIES[sub];
    return {
      id_token: fakeIdToken({
        sub,
        email: `${identity?.username ?? sub}@example.test`,
        name: sub,
        groups: identity?.groups ?? [],
        exp: Math.floor(this.now() / 1000) + this.tokenLifetimeSeconds,
        ...(nonce ? { nonce } : {}),
      }),
      refresh_token: refresh,
      token_type: 'bearer',
    };
  }
}
