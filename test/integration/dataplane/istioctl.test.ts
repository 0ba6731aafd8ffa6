import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import type { KubeObject } from '../../../src/domain/index.ts';
import { dataplanePlatform, endpointResource, renderTestTenant, tenantPki } from './fixture.ts';

const env = inject('env');
const platform = dataplanePlatform(env);

/** The ingress gateway istioctl analyze expects to find: a Pod with the selector labels and its Service. */
function gatewayStubs(): KubeObject[] {
  const labels = { ...platform.gatewaySelector, app: 'istio-ingressgateway' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: platform.gatewayNamespace } },
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: platform.servingNamespace, labels: { 'istio-injection': 'enabled' } },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'istio-ingressgateway-0', namespace: platform.gatewayNamespace, labels },
      spec: {
        serviceAccountName: 'istio-ingressgateway-service-account',
        containers: [
          { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.31.1', ports: [{ containerPort: 8443 }] },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'istio-ingressgateway', namespace: platform.gatewayNamespace, labels },
      spec: { selector: labels, ports: [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }] },
    },
  ];
}

function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(env.assets.istioctl!, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** Message codes (IST0101, …) istioctl analyze printed. */
const codes = (output: string) => [...new Set(output.match(/IST\d{4}/g) ?? [])].sort();

describe("Istio's own validation accepts what tenantmesh renders", () => {
  let dir: string;
  let tenants: KubeObject[] = [];

  const write = (name: string, objects: KubeObject[]) => {
    const file = path.join(dir, name);
    writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
    return file;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-istioctl-'));
    for (const name of ['orchid', 'quartz', 'sorrel']) {
      const pki = await tenantPki(name);
      tenants.push(
        ...renderTestTenant({
          platform,
          pki,
          crlPem: await pki.crl([]),
          spec: {
            endpointGrants: [{ endpoint: 'kserve', subjects: [{ kind: 'Group', name: `${name}-partners` }] }],
          },
          endpoints: [
            endpointResource(platform, name, 'kserve', 'triton'),
            endpointResource(platform, name, 'tf', 'tensorflow-serving'),
          ],
        }),
      );
    }
    tenants = tenants.filter((o) => !(o.kind === 'Namespace'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('istioctl validate accepts every rendered Istio object of three tenants', async () => {
    const istio = tenants.filter((o) => o.apiVersion.includes('istio.io'));
    expect(istio.length).toBeGreaterThan(0);
    const { code, output } = await run(['validate', '-f', write('istio.yaml', istio)]);
    expect(output).not.toMatch(/error|warning/i);
    expect(code, output).toBe(0);
  });

  it('istioctl analyze reports nothing for three tenants with the gateway and its credentials', async () => {
    const files = [write('stubs.yaml', gatewayStubs()), write('tenants.yaml', tenants)];
    const { code, output } = await run(['analyze', '--use-kube=false', '--all-namespaces', ...files]);
    expect(codes(output), output).toEqual([]);
    expect(code, output).toBe(0);
  });

  /**
   * Known gap of the provisioned istioctl (built by scripts/testenv from the module proxy with stand-in API
   * modules): offline `analyze --use-kube=false -A` prints "No validation issues" even for a Gateway whose
   * credentialName Secret does not exist and a Service port without a name or appProtocol; --verbose lists
   * gateway.SecretAnalyzer and service.PortNameAnalyzer among both the skipped and the executed analyzers. So the
   * clean result above proves little until this passes; `it.fails` turns red once the build reports them.
   */
  it.fails(
    'istioctl analyze catches a credential Secret outside the gateway namespace and an unnamed Service port',
    async () => {
      const broken = tenants.map((o): KubeObject => {
        if (
          o.kind === 'Secret' &&
          o.metadata.namespace === platform.gatewayNamespace &&
          o.metadata.name.includes('orchid')
        ) {
          return { ...o, metadata: { ...o.metadata, namespace: platform.servingNamespace } };
        }
        if (o.kind === 'Service' && o.metadata.name === 'quartz-kserve') {
          const spec = o.spec as { ports: Record<string, unknown>[] };
          return {
            ...o,
            spec: {
              ...spec,
              ports: spec.ports.map(({ name: _n, appProtocol: _a, ...port }) => port).slice(0, 1),
            },
          };
        }
        return o;
      });
      const files = [write('stubs.yaml', gatewayStubs()), write('broken.yaml', broken)];
      const { output } = await run(['analyze', '--use-kube=false', '--all-namespaces', ...files]);
      expect(codes(output), output).toEqual(expect.arrayContaining(['IST0101', 'IST0118']));
      expect(output).toContain('tenantmesh-orchid-gateway');
    },
  );
});
