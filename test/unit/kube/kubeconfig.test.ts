import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadKubeConfig } from '../../../src/kube/client.ts';
import {
  connectionFromKubeconfig,
  defaultConnection,
  inClusterConnection,
} from '../../../src/kube/kubeconfig.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function kubeconfig(overrides: { user?: Record<string, unknown>; cluster?: Record<string, unknown> } = {}) {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'dev',
    clusters: [
      {
        name: 'dev-cluster',
        cluster: {
          server: 'https://dev.example:6443/',
          'certificate-authority-data': b64('DEV CA'),
          ...overrides.cluster,
        },
      },
      { name: 'prod-cluster', cluster: { server: 'https://prod.example:6443' } },
    ],
    users: [
      { name: 'dev-user', user: { token: 'dev-token', ...overrides.user } },
      { name: 'prod-user', user: { token: 'prod-token' } },
    ],
    contexts: [
      { name: 'dev', context: { cluster: 'dev-cluster', user: 'dev-user', namespace: 'team' } },
      { name: 'prod', context: { cluster: 'prod-cluster', user: 'prod-user' } },
    ],
  });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
}

describe('kubeconfig loading', () => {
  it('uses the current-context: its server without trailing slash, CA data, token and namespace', () => {
    const connection = connectionFromKubeconfig({ yaml: kubeconfig() });

    expect(connection.server).toBe('https://dev.example:6443');
    expect(connection.tls.ca?.toString()).toBe('DEV CA');
    expect(connection.tls.rejectUnauthorized).toBe(true);
    expect(connection.credentials).toEqual({ kind: 'token', token: 'dev-token' });
    expect(connection.namespace).toBe('team');
  });

  it('uses an explicitly named context instead of the current one', () => {
    const connection = connectionFromKubeconfig({ yaml: kubeconfig() }, 'prod');

    expect(connection.server).toBe('https://prod.example:6443');
    expect(connection.credentials).toEqual({ kind: 'token', token: 'prod-token' });
  });

  it('names a context that the kubeconfig does not have', () => {
    expect(() => connectionFromKubeconfig({ yaml: kubeconfig() }, 'staging')).toThrow(/staging/);
  });

  it('reads certificate, key, CA and token files relative to the kubeconfig file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.crt'), 'FILE CA');
    writeFileSync(join(dir, 'client.crt'), 'CLIENT CERT');
    writeFileSync(join(dir, 'client.key'), 'CLIENT KEY');
    const path = join(dir, 'config');
    writeFileSync(
      path,
      kubeconfig({
        cluster: { 'certificate-authority-data': undefined, 'certificate-authority': 'ca.crt' },
        user: {
          token: undefined,
          tokenFile: 'token',
          'client-certificate': 'client.crt',
          'client-key': join(dir, 'client.key'),
        },
      }),
    );

    const connection = connectionFromKubeconfig({ path });

    expect(connection.tls.ca?.toString()).toBe('FILE CA');
    expect(connection.tls.cert?.toString()).toBe('CLIENT CERT');
    expect(connection.tls.key?.toString()).toBe('CLIENT KEY');
    expect(connection.credentials).toEqual({ kind: 'tokenFile', path: join(dir, 'token') });
  });

  it('decodes inline client certificate and key data', () => {
    const yaml = kubeconfig({
      user: { token: undefined, 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
    });

    const connection = connectionFromKubeconfig({ yaml });

    expect(connection.tls.cert?.toString()).toBe('CERT');
    expect(connection.tls.key?.toString()).toBe('KEY');
    expect(connection.credentials).toEqual({ kind: 'none' });
  });

  it('honours insecure-skip-tls-verify and tls-server-name', () => {
    const yaml = kubeconfig({
      cluster: { 'insecure-skip-tls-verify': true, 'tls-server-name': 'kubernetes.default' },
    });

    const { tls } = connectionFromKubeconfig({ yaml });

    expect(tls.rejectUnauthorized).toBe(false);
    expect(tls.servername).toBe('kubernetes.default');
  });

  it('uses basic auth for a username and password user', () => {
    const yaml = kubeconfig({ user: { token: undefined, username: 'admin', password: 's3cret' } });

    expect(connectionFromKubeconfig({ yaml }).credentials).toEqual({
      kind: 'basic',
      username: 'admin',
      password: 's3cret',
    });
  });

  it.each([
    { name: 'exec', user: { token: undefined, exec: { command: 'aws', apiVersion: 'v1' } } },
    { name: 'auth-provider', user: { token: undefined, 'auth-provider': { name: 'oidc', config: {} } } },
  ])('delegates $name users to the client library with the same kubeconfig and context', ({ user }) => {
    const yaml = kubeconfig({ user });

    expect(connectionFromKubeconfig({ yaml }).credentials).toEqual({
      kind: 'plugin',
      source: { yaml },
      context: 'dev',
    });
  });

  it('replaces the kubeconfig user, client certificate included, when a token is given', () => {
    const yaml = kubeconfig({
      user: { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
    });

    const connection = loadKubeConfig({ kubeconfigYaml: yaml, token: 'sa-token' });

    expect(connection.credentials).toEqual({ kind: 'token', token: 'sa-token' });
    expect(connection.tls.cert).toBeUndefined();
    expect(connection.tls.key).toBeUndefined();
    expect(connection.tls.ca?.toString()).toBe('DEV CA');
  });
});

describe('default connection', () => {
  it('reads the first file of a $KUBECONFIG list', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'first'), kubeconfig());
    const env = { KUBECONFIG: [join(dir, 'first'), join(dir, 'missing')].join(delimiter), HOME: dir };

    expect(defaultConnection(undefined, env).server).toBe('https://dev.example:6443');
  });

  it('reads ~/.kube/config when $KUBECONFIG is unset', () => {
    const home = tempDir();
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), kubeconfig());

    expect(defaultConnection('prod', { HOME: home }).server).toBe('https://prod.example:6443');
  });

  it('falls back to the pod ServiceAccount, whose token file is re-read (it rotates)', () => {
    const home = tempDir();
    const serviceAccount = tempDir();
    writeFileSync(join(serviceAccount, 'ca.crt'), 'CLUSTER CA');
    const env = { HOME: home, KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

    const connection = defaultConnection(undefined, env, serviceAccount);

    expect(connection.server).toBe('https://10.96.0.1:443');
    expect(connection.tls.ca?.toString()).toBe('CLUSTER CA');
    expect(connection.credentials).toEqual({ kind: 'tokenFile', path: join(serviceAccount, 'token') });
  });

  it('brackets an IPv6 service host', () => {
    const serviceAccount = tempDir();
    writeFileSync(join(serviceAccount, 'ca.crt'), 'CLUSTER CA');
    const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };

    expect(inClusterConnection(env, serviceAccount).server).toBe('https://[fd00::1]:443');
  });

  it('says why when there is neither a kubeconfig nor a pod environment', () => {
    expect(() => defaultConnection(undefined, { HOME: tempDir() }, tempDir())).toThrow(
      /KUBERNETES_SERVICE_HOST/,
    );
  });
});
