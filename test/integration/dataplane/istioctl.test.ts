import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { endpointResourceName, type KubeObject, type PlatformConfig } from '../../../src/domain/index.ts';
import { createKube } from '../../../src/kube/index.ts';
import { applyAll, dataplanePlatform, endpointResource, renderTestTenant, tenantPki } from './fixture.ts';

const env = inject('env');
const platform = dataplanePlatform(env);
const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
const runId = randomBytes(3).toString('hex');

/** The ingress gateway istioctl analyze expects to find: a Pod with the selector labels and its Service. */
function gatewayStubs(platform: PlatformConfig): KubeObject[] {
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

/**
 * The Pod a Deployment's ReplicaSet would create, with the sidecar Istio's injection webhook would add (no
 * controller, kubelet or webhook runs here).
 */
function podOf(deployment: KubeObject): KubeObject {
  const { template } = deployment.spec as {
    template: { metadata: { labels: Record<string, string> }; spec: { containers: object[] } };
  };
  const sidecar = { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.31.1' };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${deployment.metadata.name}-0`,
      namespace: deployment.metadata.namespace,
      labels: template.metadata.labels,
    },
    spec: { ...template.spec, containers: [...template.spec.containers, sidecar] },
  };
}

/** Three tenants' rendered objects for a platform (gateway and serving namespaces of its own). */
async function renderThreeTenants(platform: PlatformConfig): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const name of ['orchid', 'quartz', 'sorrel']) {
    const pki = await tenantPki(name);
    objects.push(
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
  return objects;
}

/**
 * Applies stubs and objects into namespaces of their own on the real apiserver and runs `istioctl analyze` against
 * that cluster, returning the message codes reported for those namespaces. Live analysis, not `--use-kube=false`:
 * offline, istioctl leaves runtime kinds (Pods, Services, Secrets) out of file input by design, so the secret and
 * port-name analyzers are skipped there and a broken render would pass unnoticed.
 */
async function analyzeLive(
  label: string,
  mutate: (objects: KubeObject[], platform: PlatformConfig) => KubeObject[],
) {
  const scoped = dataplanePlatform(env, {
    servingNamespace: `ana-${label}-${runId}`,
    gatewayNamespace: `ana-${label}-gw-${runId}`,
    // Gateway selectors match pods in every namespace: each scope gets a gateway of its own.
    gatewaySelector: { istio: `ingressgateway-${label}-${runId}` },
  });
  const objects = mutate(await renderThreeTenants(scoped), scoped);
  await applyAll(kube, [
    ...gatewayStubs(scoped),
    ...objects.filter((o) => o.kind !== 'Namespace'),
    ...objects.filter((o) => o.kind === 'Deployment').map(podOf),
  ]);
  const { output } = await run(['analyze', '--kubeconfig', env.adminKubeconfigPath, '--all-namespaces']);
  const ours = output
    .split('\n')
    .filter((line) => line.includes(scoped.servingNamespace) || line.includes(scoped.gatewayNamespace));
  const serious = ours.filter((line) => /^(Error|Warning) /.test(line));
  return { codes: codes(serious.join('\n')), output: ours.join('\n') };
}

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
    tenants = (await renderThreeTenants(platform)).filter((o) => o.kind !== 'Namespace');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('istioctl validate accepts every rendered Istio object of three tenants', async () => {
    const istio = tenants.filter((o) => o.apiVersion.includes('istio.io'));
    expect(istio.length).toBeGreaterThan(0);
    const { code, output } = await run(['validate', '-f', write('istio.yaml', istio)]);
    expect(output).not.toMatch(/error|warning/i);
    expect(code, output).toBe(0);
  });

  it('istioctl analyze of the live cluster reports no error or warning for three tenants with their gateway', async () => {
    const { codes: found, output } = await analyzeLive('good', (objects) => objects);
    expect(found, output).toEqual([]);
  });

  it('istioctl analyze catches a credential Secret outside the gateway namespace and an unnamed Service port', async () => {
    const { codes: found, output } = await analyzeLive('broken', (objects, scoped) =>
      objects.map((o): KubeObject => {
        if (
          o.kind === 'Secret' &&
          o.metadata.namespace === scoped.gatewayNamespace &&
          o.metadata.name.includes('orchid')
        ) {
          return { ...o, metadata: { ...o.metadata, namespace: scoped.servingNamespace } };
        }
        if (o.kind === 'Service' && o.metadata.name === endpointResourceName('quartz', 'kserve')) {
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
      }),
    );
    expect(found, output).toContain('IST0101'); // credentialName not found where the gateway runs
    expect(output).toContain('tenantmesh-orchid-gateway');
    expect(output).toMatch(/IST0118.*quartz--kserve/); // port name convention (reported at Info level)
  });
});
