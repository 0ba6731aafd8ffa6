import { describe, expect, it } from 'vitest';
import { oidcConfig, parseCommandLine } from '../../../src/api/main.ts';

const env = { TENANTMESH_S3_ACCESS_KEY: 'a', TENANTMESH_S3_SECRET_KEY: 'b' };

describe('the API command line', () => {
  it('puts the OIDC issuer, its claim mappings and prefixes into the platform configuration', () => {
    const options = parseCommandLine(
      [
        '--oidc-issuer',
        'https://login.example.com',
        '--oidc-username-claim',
        'email',
        '--oidc-username-prefix',
        'oidc:',
        '--oidc-groups-prefix',
        'oidc:',
      ],
      env,
    );
    if (options === 'help') throw new Error('unexpected help');
    expect(options.platform?.oidcIssuers).toEqual([
      {
        issuerUrl: 'https://login.example.com',
        audiences: ['tenantmesh'],
        usernameClaim: 'email',
        usernamePrefix: 'oidc:',
        groupsClaim: 'groups',
        groupsPrefix: 'oidc:',
      },
    ]);
    expect(oidcConfig(options.platform!.oidcIssuers[0]!)).toEqual({
      issuer: 'https://login.example.com',
      audiences: ['tenantmesh'],
      usernameClaim: 'email',
      usernamePrefix: 'oidc:',
      groupsClaim: 'groups',
      groupsPrefix: 'oidc:',
    });
  });
});
