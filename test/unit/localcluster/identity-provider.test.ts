import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  consoleReleaseValues,
  dexIssuerUrl,
  makeIdentityProvider,
  renderIdentityProvider,
} from '../../../src/localcluster/identity-provider.ts';

describe('Dex on the local node', () => {
  it('matches the golden objects', async () => {
    await expect(
      stringify(
        renderIdentityProvider({
          image: 'tenantmesh.local/dex:0123',
          namespace: 'tenantmesh-system',
          configHash: 'abc',
        }),
      ),
    ).toMatchFileSnapshot('__golden__/identity-provider.yaml');
  });

  it('serves its in-cluster name with TLS, redirects only to the console, and stores no password', async () => {
    const { objects, info } = await makeIdentityProvider({
      image: 'dex',
      namespace: 'tm',
      consolePublicUrl: 'http://127.0.0.1:4321/',
    });
    expect(info.issuerUrl).toBe('https://dex.tm.svc:5556/dex');
    expect(info.issuerUrl).toBe(dexIssuerUrl('tm'));
    const data = (name: string) =>
      (objects.find((o) => o.metadata.name === name) as unknown as { stringData: Record<string, string> })
        .stringData;
    const config = parse(data('tenantmesh-dex-config')['config.yaml']!) as {
      issuer: string;
      oauth2: { grantTypes: string[] };
      staticClients: { id: string; secret?: string; redirectURIs?: string[] }[];
      staticPasswords: { email: string; hash: string }[];
    };
    expect(config.issuer).toBe(info.issuerUrl);
    expect(config.staticClients[0]).toMatchObject({
      id: 'tenantmesh-console',
      secret: info.console.clientSecret,
      redirectURIs: ['http://127.0.0.1:4321/console/auth/callback'],
    });
    // Headless clients (the end-to-end tests) take the demo users' tokens, also for an application not accepted.
    expect(config.oauth2.grantTypes).toContain('password');
    expect(config.staticClients.map((c) => c.id)).toContain('another-application');
    expect(data('tenantmesh-console-client')).toEqual({ clientSecret: info.console.clientSecret });
    expect(config.staticPasswords.map((p) => p.email)).toEqual(info.users.map((u) => u.email));
    const everything = stringify(objects);
    for (const user of info.users) expect(everything).not.toContain(user.password);
    const certificate = new X509Certificate(data('tenantmesh-dex-tls')['tls.crt']!);
    expect(certificate.subjectAltName).toContain('DNS:dex.tm.svc');
    expect(certificate.verify(new X509Certificate(info.caPem).publicKey)).toBe(true);
  });

  it('turns the chart’s console on against it, with its CA and the client secret from its Secret', () => {
    const values = consoleReleaseValues({ issuerUrl: 'https://dex.tm.svc:5556/dex' }, 'http://127.0.0.1:1');
    expect(values.oidc).toMatchObject({
      issuers: [
        { issuerUrl: 'https://dex.tm.svc:5556/dex', audiences: ['tenantmesh-console', 'tenantmesh-cli'] },
      ],
      caConfigMap: 'tenantmesh-oidc-ca',
    });
    expect(values.console).toMatchObject({
      enabled: true,
      publicUrl: 'http://127.0.0.1:1',
      clientSecret: { name: 'tenantmesh-console-client', key: 'clientSecret' },
      caFile: '/etc/tenantmesh/oidc-ca/ca.crt',
    });
  });
});
