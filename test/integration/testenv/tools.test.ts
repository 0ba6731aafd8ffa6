import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { describe, expect, inject, it } from 'vitest';
import { assetPath } from '../../../src/testenv/provision.ts';
import { componentVersions } from '../../../src/testenv/versions.ts';

const run = promisify(execFile);
const env = inject('env');

function gateway(tls: Record<string, unknown>) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    metadata: { name: 'acme', namespace: 'istio-system' },
    spec: {
      selector: { istio: 'ingressgateway' },
      servers: [
        {
          port: { number: 443, name: 'https-acme', protocol: 'HTTPS' },
          hosts: ['tenantmesh-serving/*.acme.models.example.com'],
          tls,
        },
      ],
    },
  };
}

async function istioctlValidate(object: unknown): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'istioctl-'));
  const file = path.join(dir, 'object.yaml');
  writeFileSync(file, stringify(object, { version: '1.1' }));
  try {
    const { stdout, stderr } = await run(assetPath(env.assets, 'istioctl'), ['validate', '-f', file]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

describe('istioctl validates Istio objects offline', () => {
  it('accepts a MUTUAL TLS Gateway with a credential Secret', async () => {
    const result = await istioctlValidate(
      gateway({ mode: 'MUTUAL', credentialName: 'tenantmesh-acme-gateway' }),
    );
    expect(result.ok, result.output).toBe(true);
  });

  it('rejects a MUTUAL TLS Gateway without any certificate source', async () => {
    const result = await istioctlValidate(gateway({ mode: 'MUTUAL' }));
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/credential|server certificate|private key/i);
  });
});

describe('the data-path proxy is installed', () => {
  it('is the pinned Envoy release', async () => {
    const { stdout } = await run(assetPath(env.assets, 'envoy'), ['--version']);
    expect(stdout).toContain(`/${componentVersions().ENVOY_VERSION}/`);
  });
});
