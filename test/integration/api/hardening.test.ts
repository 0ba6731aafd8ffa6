import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderKubeconfig } from '../../../src/testenv/kubeconfig.ts';
import { freePort } from '../../../src/testenv/ports.ts';
import { oidcToken, serviceAccountToken } from '../../../src/testenv/identities.ts';
import { env, startApiUnderTest, suffix, type ApiUnderTest } from './fixture.ts';

describe('what the API tells and records about refused and failed requests', () => {
  let harness: ApiUnderTest;

  beforeAll(async () => {
    harness = await startApiUnderTest();
  });

  afterAll(async () => {
    await harness?.api.close();
  });

  it('audits a refused token with the route it was tried on', async () => {
    const response = await harness.call('delete', '/v1/tenants/anything', { token: 'not-a-real-token' });
    expect(response.status).toBe(401);
    const line = harness.audit.find((event) => event.target === 'DELETE /v1/tenants/anything');
    expect(line).toMatchObject({ subject: 'system:anonymous', action: 'authenticate', decision: 'deny' });
    expect(JSON.stringify(harness.audit)).not.toContain('not-a-real-token');
  });

  it('accepts ServiceAccount tokens made for the API and refuses those made for the apiserver', async () => {
    const name = `aud-${suffix()}`;
    const forApi = await serviceAccountToken(env, env.namespaces.serving, name, {
      audiences: [env.oidc.audience],
    });
    const forApiserver = await serviceAccountToken(env, env.namespaces.serving, name);
    expect((await harness.call('get', '/v1/runtimes', { token: forApi })).status).toBe(200);
    expect((await harness.call('get', '/v1/runtimes', { token: forApiserver })).status).toBe(401);
  });
});

describe('an API whose apiserver cannot be reached', () => {
  let harness: ApiUnderTest;
  let dir: string;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    dir = mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-unreachable-'));
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfigPath,
      renderKubeconfig({ server: `https://127.0.0.1:${port}`, caPem: env.caPem, user: 'api', token: 'x' }),
      { mode: 0o600 },
    );
    harness = await startApiUnderTest({ kubeconfigPath });
  });

  afterAll(async () => {
    await harness?.api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 without the backend’s address or its error text', async () => {
    const token = await oidcToken(env, { sub: 'u', email: 'u@example.test', groups: [] });
    for (const response of [
      await harness.call('get', '/v1/tenants', { token }),
      await harness.call('get', '/v1/runtimes', { token: 'opaque-service-account-token' }),
    ]) {
      expect(response.status).toBe(503);
      expect(response.text).not.toContain('127.0.0.1');
      expect(response.text).not.toContain(String(port));
      expect(response.text).not.toMatch(/ECONNREFUSED|connect/i);
    }
  });
});
