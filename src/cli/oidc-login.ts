import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OidcClient } from '../auth/oidc-client.ts';
import { jwtExpiry, OAuthError, pkcePair, randomToken, type TokenSet } from '../auth/oidc-client.ts';
import { CliError, ExitCode } from './errors.ts';

/** What the CLI keeps about an OIDC login (in the 0600 configuration file) to refresh it silently. */
export interface OidcLogin {
  issuer: string;
  clientId: string;
  /** Path of a CA bundle (PEM) trusted for the issuer. */
  caFile?: string;
  refreshToken?: string;
}

export const defaultCliClientId = 'tenantmesh-cli';
const scopes = ['openid', 'email', 'profile', 'groups', 'offline_access'];

/** How the login talks to the person running it. */
export interface LoginPrompt {
  /** Prints a line for the user (stderr). */
  say(line: string): void;
  now(): number;
  /** Waits between polls of the device flow (injectable so tests need not wait). */
  wait(ms: number): Promise<void>;
}

/**
 * Device authorization (RFC 8628): shows a URL and a code, then polls the token endpoint at the interval the
 * identity provider asks for until the user approved, refused, or the code expired.
 */
export async function deviceLogin(client: OidcClient, prompt: LoginPrompt): Promise<TokenSet> {
  const device = await client.startDeviceAuthorization(scopes);
  prompt.say(`To log in, open ${device.verificationUriComplete ?? device.verificationUri}`);
  prompt.say(
    `and confirm the code ${device.userCode} (valid ${Math.round(device.expiresInSeconds / 60)} min).`,
  );
  let interval = device.intervalSeconds * 1000;
  const deadline = prompt.now() + device.expiresInSeconds * 1000;
  while (prompt.now() < deadline) {
    await prompt.wait(interval);
    try {
      return await client.pollDeviceToken(device.deviceCode);
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      if (error.code === 'authorization_pending') continue;
      if (error.code === 'slow_down') {
        interval += 5000;
        continue;
      }
      throw new CliError(`login refused: ${error.message}`, ExitCode.unauthenticated);
    }
  }
  throw new CliError('login timed out: the code expired before it was confirmed', ExitCode.unauthenticated);
}

/**
 * Authorization code flow with PKCE and a loopback redirect (RFC 8252): listens on 127.0.0.1, opens the browser
 * (or prints the URL), and takes the code from the redirect.
 */
export async function browserLogin(
  client: OidcClient,
  prompt: LoginPrompt,
  open: (url: string) => void,
  timeoutMs = 5 * 60_000,
): Promise<TokenSet> {
  const { verifier, challenge } = pkcePair();
  const state = randomToken();
  const nonce = randomToken();
  let finish!: (result: { code?: string; error?: string }) => void;
  const answered = new Promise<{ code?: string; error?: string }>((resolve) => (finish = resolve));
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') return void response.writeHead(404).end();
    const ok = url.searchParams.get('state') === state && url.searchParams.get('code');
    response.writeHead(ok ? 200 : 400, { 'content-type': 'text/plain; charset=utf-8' });
    response.end(
      ok ? 'Logged in to tenantmesh. You may close this window.' : 'Login failed; see the terminal.',
    );
    finish(
      ok
        ? { code: url.searchParams.get('code')! }
        : { error: url.searchParams.get('error') ?? 'the answer did not match this login' },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  try {
    const url = await client.authorizationUrl({
      redirectUri,
      state,
      nonce,
      codeChallenge: challenge,
      scopes,
    });
    prompt.say(`Opening the browser to log in; if it does not open, visit:\n  ${url}`);
    open(url);
    const timer = setTimeout(() => finish({ error: 'timed out waiting for the browser' }), timeoutMs);
    const result = await answered;
    clearTimeout(timer);
    if (!result.code) throw new CliError(`login failed: ${result.error}`, ExitCode.unauthenticated);
    return await client.exchangeCode({ code: result.code, redirectUri, codeVerifier: verifier });
  } finally {
    server.close();
    server.closeAllConnections();
  }
}

/** Opens a URL with `$BROWSER` or the desktop's opener; failing silently (the URL was printed). */
export function openInBrowser(url: string, env: { BROWSER?: string }): void {
  const command = env.BROWSER || (process.platform === 'darwin' ? 'open' : 'xdg-open');
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // printed above; nothing else to do
  }
}

/** Whether a browser is likely at hand (a desktop session or an explicit $BROWSER). */
export function browserAvailable(env: {
  BROWSER?: string;
  DISPLAY?: string;
  WAYLAND_DISPLAY?: string;
}): boolean {
  return Boolean(env.BROWSER || env.DISPLAY || env.WAYLAND_DISPLAY || process.platform === 'darwin');
}

/** Refresh this long before the ID token expires. */
export const REFRESH_MARGIN_MS = 60_000;

/**
 * Returns a usable token for a stored OIDC login: the stored one while it is fresh, otherwise a refreshed one
 * (with the rotated refresh token). Undefined when nothing needs saving.
 */
export async function refreshIfExpiring(
  token: string | undefined,
  login: OidcLogin,
  now: number,
  clientFor: (login: OidcLogin) => Promise<OidcClient>,
): Promise<{ token: string; login: OidcLogin } | undefined> {
  if (!login.refreshToken) return undefined;
  if (token && jwtExpiry(token) - now > REFRESH_MARGIN_MS) return undefined;
  const client = await clientFor(login);
  try {
    const tokens = await client.refresh(login.refreshToken);
    return {
      token: tokens.idToken,
      login: { ...login, refreshToken: tokens.refreshToken ?? login.refreshToken },
    };
  } catch (error) {
    if (error instanceof OAuthError && error.status >= 400 && error.status < 500) {
      throw new CliError(
        `the stored login expired (${error.code}); run \`tenantmesh login\` again`,
        ExitCode.unauthenticated,
      );
    }
    throw error;
  }
}
