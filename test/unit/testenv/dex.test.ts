import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  hashPasswords,
  makeDemoUsers,
  otherApplicationClientId,
  renderDexConfig,
} from '../../../src/testenv/dex.ts';
import bcrypt from 'bcryptjs';

describe('the local identity provider (Dex)', () => {
  it('renders memory storage, https, the password database, a confidential console and a public CLI client', async () => {
    const config = renderDexConfig({
      issuerUrl: 'https://127.0.0.1:5556/dex',
      listen: '127.0.0.1:5556',
      telemetryListen: '127.0.0.1:5558',
      tlsCertPath: '/run/pki/dex.crt',
      tlsKeyPath: '/run/pki/dex.key',
      consoleClient: {
        clientId: 'tenantmesh-console',
        clientSecret: 'secret',
        redirectUris: ['http://127.0.0.1:8080/console/auth/callback'],
      },
      users: [
        {
          email: 'admin@tenantmesh.local',
          name: 'Ada',
          groups: ['tenantmesh:platform-admins'],
          hash: '$2b$10$x',
          userId: 'demo-0',
        },
      ],
    });
    await expect(config).toMatchFileSnapshot('__golden__/dex.yaml');
  });

  it('makes four demo users, one of each kind, with fresh passwords hashed for Dex (never in the config)', async () => {
    const users = makeDemoUsers();
    expect(users.map((u) => u.role)).toEqual(['platform-admin', 'tenant-admin', 'tenant-user', 'no-rights']);
    expect(makeDemoUsers()[0]!.password).not.toBe(users[0]!.password);
    const hashed = await hashPasswords(users.slice(0, 1));
    expect(await bcrypt.compare(users[0]!.password, hashed[0]!.hash)).toBe(true);
    expect(JSON.stringify(hashed)).not.toContain(users[0]!.password);
  });

  it('allows the password grant and renders clients of other applications only when asked', () => {
    const input = {
      issuerUrl: 'https://127.0.0.1:5556/dex',
      listen: '127.0.0.1:5556',
      telemetryListen: '127.0.0.1:5558',
      tlsCertPath: '/c',
      tlsKeyPath: '/k',
      consoleClient: {
        clientId: 'tenantmesh-console',
        clientSecret: 's',
        redirectUris: ['http://127.0.0.1/cb'],
      },
      users: [],
    };
    const plain = parse(renderDexConfig(input)) as DexShape;
    expect(plain.oauth2.grantTypes).not.toContain('password');
    expect(plain.staticClients.map((c) => c.id)).toEqual(['tenantmesh-console', 'tenantmesh-cli']);
    const asked = parse(
      renderDexConfig({ ...input, passwordGrant: true, otherPublicClients: [otherApplicationClientId] }),
    ) as DexShape;
    expect(asked.oauth2).toMatchObject({ passwordConnector: 'local' });
    expect(asked.oauth2.grantTypes).toContain('password');
    expect(asked.staticClients).toContainEqual({
      id: otherApplicationClientId,
      name: otherApplicationClientId,
      public: true,
    });
  });
});

interface DexShape {
  oauth2: { grantTypes: string[]; passwordConnector: string };
  staticClients: { id: string; name: string; public?: boolean }[];
}
