import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * The relying-party side of OpenID Connect that the console (authorization code with PKCE) and the CLI (device
 * authorization, loopback redirect) share: discovery, the token endpoint and refresh. Trusts a private CA when
 * given one, as the local platform's identity provider needs.
 */
export interface OidcClientConfig {
  issuer: string;
  clientId: string;
  /** Confidential clients only (the console); public clients (the CLI) have none. */
  clientSecret?: string;
  /** PEM bundle trusted for the issuer's https endpoints. */
  caPem?: string;
  timeoutMs?: number;
}

/** The parts of the discovery document used here. */
export interface OidcEndpoints {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  device_authorization_endpoint?: string;
  end_session_endpoint?: string;
}

/** What the token endpoint answers. */
export interface TokenSet {
  idToken: string;
  accessToken?: string;
  refreshToken?: string;
  /** Epoch ms when the ID token expires (from its `exp`). */
  expiresAt: number;
}

/** An OAuth error answered by the identity provider (`invalid_grant`, `authorization_pending`, …). */
export class OAuthError extends Error {
  constructor(
    readonly code: string,
    readonly description: string,
    readonly status: number,
  ) {
    super(description ? `${code}: ${description}` : code);
  }
}

/** A PKCE verifier and its S256 challenge (RFC 7636). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A random value for `state` and `nonce`. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** A client of one issuer; discovery is fetched once and kept. */
export class OidcClient {
  private endpoints?: Promise<OidcEndpoints>;

  constructor(readonly config: OidcClientConfig) {}

  /** The discovery document, fetched on first use (retried on the next call when it failed). */
  discover(): Promise<OidcEndpoints> {
    this.endpoints ??= this.request(
      'GET',
      `${this.config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
    )
      .then(({ status, body }) => {
        if (status !== 200)
          throw new Error(`OIDC discovery of ${this.config.issuer} answered HTTP ${status}`);
        const document = JSON.parse(body) as OidcEndpoints;
        if (document.issuer !== this.config.issuer)
          throw new Error('discovery document names a different issuer');
        return document;
      })
      .catch((error: unknown) => {
        this.endpoints = undefined;
        throw error;
      });
    return this.endpoints;
  }

  /** The authorization request URL of the code flow with PKCE. */
  async authorizationUrl(input: {
    redirectUri: string;
    state: string;
    nonce: string;
    codeChallenge: string;
    scopes: string[];
  }): Promise<string> {
    const { authorization_endpoint } = await this.discover();
    const url = new URL(authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.config.clientId,
      redirect_uri: input.redirectUri,
      scope: input.scopes.join(' '),
      state: input.state,
      nonce: input.nonce,
      code_challenge: input.codeChallenge,
      code_challenge_method: 'S256',
    }).toString();
    return url.toString();
  }

  /** Exchanges an authorization code (with its PKCE verifier) for tokens. */
  exchangeCode(input: { code: string; redirectUri: string; codeVerifier: string }): Promise<TokenSet> {
    return this.tokenRequest({
      grant_type: 'authorization_code',
      code: input.code,
      redirect_uri: input.redirectUri,
      code_verifier: input.codeVerifier,
    });
  }

  /** Uses a refresh token; the identity provider may rotate it (the new one is returned when it does). */
  refresh(refreshToken: string, scopes?: string[]): Promise<TokenSet> {
    return this.tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      ...(scopes ? { scope: scopes.join(' ') } : {}),
    });
  }

  /** Starts the device authorization flow (RFC 8628). */
  async startDeviceAuthorization(scopes: string[]): Promise<{
    deviceCode: string;
    userCode: string;
    verificationUri: string;
    verificationUriComplete?: string;
    intervalSeconds: number;
    expiresInSeconds: number;
  }> {
    const { device_authorization_endpoint } = await this.discover();
    if (!device_authorization_endpoint)
      throw new Error('the identity provider offers no device authorization');
    const answer = await this.postForm(device_authorization_endpoint, {
      client_id: this.config.clientId,
      scope: scopes.join(' '),
    });
    return {
      deviceCode: String(answer['device_code']),
      userCode: String(answer['user_code']),
      verificationUri: String(answer['verification_uri']),
      ...(typeof answer['verification_uri_complete'] === 'string'
        ? { verificationUriComplete: answer['verification_uri_complete'] }
        : {}),
      intervalSeconds: Number(answer['interval'] ?? 5),
      expiresInSeconds: Number(answer['expires_in'] ?? 300),
    };
  }

  /** One poll of the token endpoint for a device code; throws OAuthError `authorization_pending` until approved. */
  pollDeviceToken(deviceCode: string): Promise<TokenSet> {
    return this.tokenRequest({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: deviceCode,
    });
  }

  private async tokenRequest(form: Record<string, string>): Promise<TokenSet> {
    const { token_endpoint } = await this.discover();
    const answer = await this.postForm(token_endpoint, form);
    const idToken = answer['id_token'];
    if (typeof idToken !== 'string')
      throw new OAuthError('invalid_response', 'no id_token in the token response', 502);
    return {
      idToken,
      ...(typeof answer['access_token'] === 'string' ? { accessToken: answer['access_token'] } : {}),
      ...(typeof answer['refresh_token'] === 'string' ? { refreshToken: answer['refresh_token'] } : {}),
      expiresAt: jwtExpiry(idToken),
    };
  }

  private async postForm(url: string, form: Record<string, string>): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const fields = { ...form };
    if (this.config.clientSecret) {
      const basic = `${encodeURIComponent(this.config.clientId)}:${encodeURIComponent(this.config.clientSecret)}`;
      headers['authorization'] = `Basic ${Buffer.from(basic).toString('base64')}`;
    } else {
      fields['client_id'] = this.config.clientId;
    }
    const { status, body } = await this.request('POST', url, new URLSearchParams(fields).toString(), headers);
    let answer: Record<string, unknown> = {};
    try {
      answer = JSON.parse(body) as Record<string, unknown>;
    } catch {
      // handled below: a non-JSON answer is an error whatever its status
    }
    if (status !== 200 || typeof answer['error'] === 'string') {
      throw new OAuthError(
        typeof answer['error'] === 'string' ? answer['error'] : 'server_error',
        typeof answer['error_description'] === 'string' ? answer['error_description'] : `HTTP ${status}`,
        status,
      );
    }
    return answer;
  }

  private request(
    method: 'GET' | 'POST',
    url: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string }> {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        target,
        {
          method,
          headers: { accept: 'application/json', ...headers },
          ...(this.config.caPem ? { ca: this.config.caPem } : {}),
          timeout: this.config.timeoutMs ?? 10_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 502, body: text }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** A JWT's `exp` in epoch ms (without verifying it: the API verifies every token it is given). */
export function jwtExpiry(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : 0;
  } catch {
    return 0;
  }
}

/** Claims of an ID token the console shows (name, email, groups), read without verification. */
export function jwtClaims(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return {};
  }
}
