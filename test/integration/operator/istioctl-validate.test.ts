import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { describe, expect, inject, it } from 'vitest';
import { platformConfig, type ServingRuntime } from '../../../src/domain/index.ts';
import { renderPlatform, renderTenant } from '../../../src/render/index.ts';
import { endpoint, runtimeNamed, tenant } from './fixtures.ts';

const env = inject('env');
const run = promisify(execFile);

describe('istioctl validate', () => {
  it('accepts the full rendered set of three tenants', async () => {
    const platform = platformConfig({
      servingNamespace: env.namespaces.serving,
      gatewayNamespace: env.namespaces.gateway,
    });
    const capabilities = { istio: true, authorino: true, openshift: false };
    const runtime: ServingRuntime = runtimeNamed('tensorflow-serving');
    const objects = [...renderPlatform(platform, capabilities)];
    for (const t of ['red', 'green', 'blue']) {
      objects.push(
        ...renderTenant({
          tenant: tenant(t, {
            endpointGrants: [{ endpoint: 'one', subjects: [{ kind: 'User', name: 'bob' }] }],
          }),
          endpoints: ['one', 'two'].map((e) => ({
            resource: endpoint(t, e, 'tensorflow-serving', platform.servingNamespace),
            modelVersion: 'v1',
          })),
          runtimes: [runtime],
          platform,
          capabilities,
          secrets: {
            caCertificatePem: 'ca',
            servingCertificatePem: 'cert',
            servingPrivateKeyPem: 'key',
            storage: { accessKey: 'a', secretKey: 'b', sessionToken: 'c', expiresAt: '2030-01-01T00:00:00Z' },
          },
        }),
      );
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-istioctl-'));
    try {
      const file = path.join(dir, 'rendered.yaml');
      writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
      const istioctl = env.assets['istioctl'];
      expect(istioctl, 'istioctl provisioned').toBeDefined();
      const result = await run(istioctl!, ['validate', '-f', file], { timeout: 60_000 });
      expect(result.stdout + result.stderr).not.toMatch(/error/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts the shipped gateway → Authorino transport policy (mutual TLS only)', async () => {
    const file = fileURLToPath(new URL('../../../authorino/mesh-transport.yaml', import.meta.url));
    const result = await run(env.assets['istioctl']!, ['validate', '-f', file], { timeout: 60_000 });
    expect(result.stdout + result.stderr).not.toMatch(/error/i);
    expect(result.stdout + result.stderr).toMatch(/is valid/);
  });
});
