import { describe, expect, it } from 'vitest';
import { OAuthError, type OidcClient, type TokenSet } from '../../../src/auth/oidc-client.ts';
import { CliError } from '../../../src/cli/errors.ts';
import { deviceLogin, refreshIfExpiring } from '../../../src/cli/oidc-login.ts';

const jwt = (exp: number) =>
  `${Buffer.from('{}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.s`;
const tokens: TokenSet = { idToken: 'fresh', refreshToken: 'rotated', expiresAt: 0 };

/** A device flow whose token endpoint answers the given OAuth errors first, then tokens. */
function deviceClient(answers: string[]): { client: OidcClient; polls: () => number } {
  let polls = 0;
  const client = {
    startDeviceAuthorization: async () => ({
      deviceCode: 'dc',
      userCode: 'ABCD-EFGH',
      verificationUri: 'https://idp.example/device',
      verificationUriComplete: 'https://idp.example/device?user_code=ABCD-EFGH',
      intervalSeconds: 5,
      expiresInSeconds: 60,
    }),
    pollDeviceToken: async () => {
      const answer = answers[polls++];
      if (answer) throw new OAuthError(answer, '', 400);
      return tokens;
    },
  } as unknown as OidcClient;
  return { client, polls: () => polls };
}

function prompt() {
  let clock = 0;
  const said: string[] = [];
  const waits: number[] = [];
  return {
    said,
    waits,
    prompt: {
      say: (line: string) => said.push(line),
      now: () => clock,
      wait: async (ms: number) => {
        waits.push(ms);
        clock += ms;
      },
    },
  };
}

describe('tenantmesh login (device flow)', () => {
  it('shows the URL and code, polls at the asked interval, slows down when told, and returns the tokens', async () => {
    const { client, polls } = deviceClient(['authorization_pending', 'slow_down', 'authorization_pending']);
    const p = prompt();
    expect(await deviceLogin(client, p.prompt)).toBe(tokens);
    expect(p.said.join('\n')).toContain('https://idp.example/device?user_code=ABCD-EFGH');
    expect(p.said.join('\n')).toContain('ABCD-EFGH');
    expect(p.waits).toEqual([5000, 5000, 10_000, 10_000]);
    expect(polls()).toBe(4);
  });

  it('stops with an authentication error when the user refuses', async () => {
    const { client } = deviceClient(['access_denied']);
    await expect(deviceLogin(client, prompt().prompt)).rejects.toThrow(CliError);
  });

  it('gives up when the code expires unconfirmed', async () => {
    const { client } = deviceClient(Array.from({ length: 50 }, () => 'authorization_pending'));
    await expect(deviceLogin(client, prompt().prompt)).rejects.toThrow(/expired/);
  });
});

describe('silent refresh of a stored login', () => {
  const login = { issuer: 'https://idp.example', clientId: 'tenantmesh-cli', refreshToken: 'r1' };
  const refreshing = (answer: () => Promise<TokenSet>) => async () =>
    ({ refresh: answer }) as unknown as OidcClient;

  it('keeps a token that is still fresh', async () => {
    const now = 1_000_000_000;
    const result = await refreshIfExpiring(
      jwt(now / 1000 + 3600),
      login,
      now,
      refreshing(async () => tokens),
    );
    expect(result).toBeUndefined();
  });

  it('renews a token about to expire and keeps the rotated refresh token', async () => {
    const now = 1_000_000_000;
    const result = await refreshIfExpiring(
      jwt(now / 1000 + 30),
      login,
      now,
      refreshing(async () => tokens),
    );
    expect(result).toEqual({ token: 'fresh', login: { ...login, refreshToken: 'rotated' } });
  });

  it('asks for a new login when the identity provider refuses the refresh token', async () => {
    const refused = refreshing(async () => {
      throw new OAuthError('invalid_grant', 'expired', 400);
    });
    await expect(refreshIfExpiring(jwt(0), login, 1_000_000_000, refused)).rejects.toThrow(/login` again/);
  });
});
