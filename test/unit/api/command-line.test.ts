import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../../src/api/main.ts';

/** `tenantmesh-server api --config <file>`: what the chart's ConfigMap and Secrets become for startApi. */
const configFile = (value: unknown) => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'api-config-')), 'config.json');
  writeFileSync(file, JSON.stringify(value));
  return file;
};
const storageEnv = { TENANTMESH_S3_ACCESS_KEY: 'a', TENANTMESH_S3_SECRET_KEY: 'b' };
const console = {
  issuerUrl: 'https://dex.example.org/dex',
  clientId: 'tm-console',
  publicUrl: 'http://127.0.0.1:1',
};

describe('the API command line', () => {
  it('serves no console when the file configures none', () => {
    const options = parseCommandLine(['--config', configFile({})], storageEnv);
    expect(options).not.toBe('help');
    expect(options).not.toHaveProperty('console');
  });

  it('passes the file’s console client to startApi, with the secret from the environment', () => {
    const options = parseCommandLine(['--config', configFile({ console })], {
      ...storageEnv,
      TENANTMESH_CONSOLE_CLIENT_SECRET: 'from-a-secret',
    });
    expect(options).toMatchObject({
      console: {
        issuer: 'https://dex.example.org/dex',
        clientId: 'tm-console',
        publicUrl: 'http://127.0.0.1:1',
        clientSecret: 'from-a-secret',
      },
    });
  });

  it('refuses to start a console without its client secret', () => {
    expect(() => parseCommandLine(['--config', configFile({ console })], storageEnv)).toThrow(
      'TENANTMESH_CONSOLE_CLIENT_SECRET must be set',
    );
  });
});
