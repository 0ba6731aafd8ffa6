import { describe, expect, it } from 'vitest';
import { consoleClientSecret, objectStoreCredentials, parseConfigFile } from '../../../src/config/file.ts';
import { DEFAULT_PLATFORM_CONFIG, gatewayPrincipal } from '../../../src/domain/index.ts';

const parse = (value: unknown, files: Record<string, string> = {}) =>
  parseConfigFile(JSON.stringify(value), 'config.json', (file) => {
    if (!(file in files)) throw new Error('no such file');
    return files[file]!;
  });

describe('the configuration file', () => {
  it('an empty file means the defaults', () => {
    const config = parse({});
    // The file's one departure from the in-process defaults: CA keys in the operator's namespace.
    expect(config.platform).toEqual({ ...DEFAULT_PLATFORM_CONFIG, caNamespace: 'tenantmesh-system' });
    expect(config.api).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.console).toBeUndefined();
    expect(config.operator).toEqual({
      probePort: 8081,
      probeHost: '0.0.0.0',
      workers: 4,
      leaderElection: true,
    });
    expect(config.objectStore).toEqual({
      endPoint: 'minio.tenantmesh-system.svc',
      port: 9000,
      useSSL: false,
      region: 'us-east-1',
    });
  });

  it('every key reaches the setting it names', () => {
    const config = parse(
      {
        servingNamespace: 'serving',
        caNamespace: 'cas',
        domain: 'ml.example.org',
        authorinoProvider: 'authz',
        gateway: {
          namespace: 'edge',
          serviceAccount: 'edge-gw',
          selector: { app: 'edge' },
          trustDomain: 'td.example',
        },
        oidc: {
          issuers: [
            {
              issuerUrl: 'https://id.example.org',
              audiences: ['tm'],
              usernameClaim: 'email',
              groupsPrefix: 'oidc:',
              caFile: '/ca.pem',
            },
          ],
        },
        serviceAccountTokenAudiences: ['tm-sa'],
        authorizationCacheTtlSeconds: 5,
        platformAdmins: [{ kind: 'User', name: 'root@example.org' }],
        storage: { endpoint: 'https://s3.example.org', region: 'eu-west-1' },
        registryService: { externalName: 'tenantmesh-api.platform.svc.cluster.example', port: 8080 },
        modelPullerImage: 'registry.example.org/tenantmesh:1',
        api: { host: '127.0.0.1', port: 9443 },
        console: {
          issuerUrl: 'https://dex.example.org/dex',
          clientId: 'console',
          publicUrl: 'https://tenantmesh.example.org',
          caFile: '/dex-ca.pem',
        },
        operator: { probePort: 9090, workers: 2, leaderElection: false },
      },
      { '/ca.pem': 'PEM', '/dex-ca.pem': 'DEX PEM' },
    );
    expect(config.platform).toMatchObject({
      servingNamespace: 'serving',
      caNamespace: 'cas',
      domain: 'ml.example.org',
      authorinoProvider: 'authz',
      gatewayNamespace: 'edge',
      gatewaySelector: { app: 'edge' },
      oidcIssuers: [
        {
          issuerUrl: 'https://id.example.org',
          audiences: ['tm'],
          usernameClaim: 'email',
          groupsPrefix: 'oidc:',
        },
      ],
      serviceAccountTokenAudiences: ['tm-sa'],
      authorizationCacheTtlSeconds: 5,
      platformAdmins: [{ kind: 'User', name: 'root@example.org' }],
      storage: { endpoint: 'https://s3.example.org' },
      registryService: { externalName: 'tenantmesh-api.platform.svc.cluster.example', port: 8080 },
      modelPullerImage: 'registry.example.org/tenantmesh:1',
    });
    expect(gatewayPrincipal(config.platform)).toBe('td.example/ns/edge/sa/edge-gw');
    expect(config.oidcIssuers).toEqual([
      {
        issuer: 'https://id.example.org',
        audiences: ['tm'],
        usernameClaim: 'email',
        groupsPrefix: 'oidc:',
        caPem: 'PEM',
      },
    ]);
    expect(config.objectStore).toEqual({
      endPoint: 's3.example.org',
      port: 443,
      useSSL: true,
      region: 'eu-west-1',
    });
    expect(config.api).toEqual({ host: '127.0.0.1', port: 9443 });
    expect(config.console).toEqual({
      issuer: 'https://dex.example.org/dex',
      clientId: 'console',
      publicUrl: 'https://tenantmesh.example.org',
      caPem: 'DEX PEM',
    });
    expect(config.operator).toMatchObject({ probePort: 9090, workers: 2, leaderElection: false });
  });

  it('refuses to keep tenant CA keys in the serving namespace, where every tenant’s code runs', () => {
    expect(() => parse({ servingNamespace: 'serving', caNamespace: 'serving' })).toThrow(
      'config.json: caNamespace: must not be the serving namespace "serving"',
    );
    expect(() => parse({ servingNamespace: 'tenantmesh-system' })).toThrow(/caNamespace: must not be/);
    expect(parse({ servingNamespace: 'serving', caNamespace: 'ops' }).platform.caNamespace).toBe('ops');
  });

  it('the CA namespace is one platform setting: the old api.caNamespace is refused, not half-applied', () => {
    expect(() => parse({ api: { caNamespace: 'cas' } })).toThrow(/api: Unrecognized key: "caNamespace"/);
  });

  it('a misspelt key is refused, naming it, instead of silently ignored', () => {
    expect(() => parse({ gateway: { namespce: 'x' } })).toThrow(
      /config\.json: gateway: Unrecognized key: "namespce"/,
    );
  });

  it('bad values are refused with their path', () => {
    expect(() => parse({ oidc: { issuers: [{ issuerUrl: 'http://id', audiences: [] }] } })).toThrow(
      /oidc\.issuers\.0\.issuerUrl: .*; oidc\.issuers\.0\.audiences/,
    );
    expect(() => parse({ api: { port: 70000 } })).toThrow(/api\.port/);
    expect(() => parseConfigFile('{', 'c.json')).toThrow(/c\.json: not JSON/);
  });

  it('the console needs an https issuer, a client id and a public URL, and never takes its secret from the file', () => {
    const console = { issuerUrl: 'https://id', clientId: 'c', publicUrl: 'http://127.0.0.1:8080' };
    expect(parse({ console }).console).toEqual({
      issuer: 'https://id',
      clientId: 'c',
      publicUrl: 'http://127.0.0.1:8080',
    });
    expect(() => parse({ console: { ...console, issuerUrl: 'http://id' } })).toThrow(/console\.issuerUrl/);
    expect(() => parse({ console: { ...console, publicUrl: 'ftp://x' } })).toThrow(/console\.publicUrl/);
    expect(() => parse({ console: { issuerUrl: 'https://id', publicUrl: 'https://x' } })).toThrow(
      /console\.clientId/,
    );
    expect(() => parse({ console: { ...console, clientSecret: 's' } })).toThrow(
      /console: Unrecognized key: "clientSecret"/,
    );
    expect(() => parse({ console: { ...console, caFile: '/nope' } })).toThrow(
      'config.json: console.caFile /nope: no such file',
    );
  });

  it('a missing CA file is named', () => {
    expect(() =>
      parse({ oidc: { issuers: [{ issuerUrl: 'https://id', audiences: ['a'], caFile: '/nope' }] } }),
    ).toThrow('config.json: oidc.issuers[].caFile /nope: no such file');
  });

  it('credentials come only from the environment', () => {
    expect(objectStoreCredentials({ TENANTMESH_S3_ACCESS_KEY: 'a', TENANTMESH_S3_SECRET_KEY: 'b' })).toEqual({
      accessKey: 'a',
      secretKey: 'b',
    });
    expect(() => objectStoreCredentials({})).toThrow(
      'TENANTMESH_S3_ACCESS_KEY and TENANTMESH_S3_SECRET_KEY must be set',
    );
    expect(consoleClientSecret({ TENANTMESH_CONSOLE_CLIENT_SECRET: 's' })).toBe('s');
    expect(() => consoleClientSecret({})).toThrow('TENANTMESH_CONSOLE_CLIENT_SECRET must be set');
  });
});
