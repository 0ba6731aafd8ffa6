import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfigFile } from '../../../src/config/file.ts';
import { gatewayPrincipal } from '../../../src/domain/index.ts';
import { createKube, type KubeObject } from '../../../src/kube/index.ts';
import { assetPath, provisionAssets } from '../../../src/testenv/provision.ts';

/** The chart as Helm renders it, checked by Helm, by the real apiserver, and against the code's parser. */
const env = inject('env');
const chart = fileURLToPath(new URL('../../../charts/tenantmesh', import.meta.url));
const run = promisify(execFile);
let helm: string;

const template = async (...flags: string[]) => {
  const { stdout } = await run(
    helm,
    ['template', 'tenantmesh', chart, '--namespace', 'tenantmesh-system', ...flags],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return parseAllDocuments(stdout)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
};
const find = (objects: KubeObject[], kind: string, name: string) => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`the chart renders no ${kind} ${name}`);
  return found;
};
type Container = { args: string[]; env: { name: string }[]; ports: { containerPort: number }[] } & Record<
  string,
  unknown
>;
const container = (deployment: KubeObject) =>
  (deployment['spec'] as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;

beforeAll(async () => {
  helm = assetPath(await provisionAssets(['helm']), 'helm');
});

describe('the Helm chart', () => {
  it('passes helm lint', async () => {
    const { stdout } = await run(helm, ['lint', chart]);
    expect(stdout).toContain('0 chart(s) failed');
  });

  it('every value reaches the configuration both processes parse', async () => {
    const objects = await template(
      '--set',
      'servingNamespace=serving-x',
      '--set',
      'domain=ml.example.org',
      '--set',
      'authorinoProvider=authz-x',
      '--set',
      'gateway.namespace=edge',
      '--set',
      'gateway.serviceAccount=edge-gw',
      '--set',
      'gateway.selector.app=edge',
      '--set',
      'gateway.trustDomain=td.example',
      '--set',
      'oidc.issuers[0].issuerUrl=https://id.example.org',
      '--set',
      'oidc.issuers[0].audiences[0]=tm',
      '--set',
      'oidc.issuers[0].usernameClaim=email',
      '--set',
      'serviceAccountTokenAudiences[0]=tm-sa',
      '--set',
      'authorizationCacheTtlSeconds=7',
      '--set',
      'storage.endpoint=https://s3.example.org:9443',
      '--set',
      'storage.region=eu-west-1',
      '--set',
      'image.repository=registry.example.org/tenantmesh',
      '--set',
      'image.tag=9.9.9',
      '--set',
      'api.port=9080',
      '--set',
      'operator.probePort=9181',
      '--set',
      'operator.workers=3',
      '--set',
      'clusterDomain=cluster.example',
    );
    const text = (find(objects, 'ConfigMap', 'tenantmesh-config')['data'] as Record<string, string>)[
      'config.json'
    ]!;
    const config = parseConfigFile(text, 'config.json');
    expect(config.platform).toMatchObject({
      servingNamespace: 'serving-x',
      // Tenant CA keys: the release namespace, the operator's own, never the serving namespace (finding 10).
      caNamespace: 'tenantmesh-system',
      domain: 'ml.example.org',
      authorinoProvider: 'authz-x',
      gatewayNamespace: 'edge',
      oidcIssuers: [{ issuerUrl: 'https://id.example.org', audiences: ['tm'], usernameClaim: 'email' }],
      serviceAccountTokenAudiences: ['tm-sa'],
      authorizationCacheTtlSeconds: 7,
      storage: { endpoint: 'https://s3.example.org:9443' },
      modelPullerImage: 'registry.example.org/tenantmesh:9.9.9',
    });
    expect(config.platform.gatewaySelector).toMatchObject({ app: 'edge' });
    expect(gatewayPrincipal(config.platform)).toBe('td.example/ns/edge/sa/edge-gw');
    expect(config.objectStore).toEqual({
      endPoint: 's3.example.org',
      port: 9443,
      useSSL: true,
      region: 'eu-west-1',
    });
    expect(config.api).toMatchObject({ host: '0.0.0.0', port: 9080 });
    expect(config.operator).toMatchObject({ probePort: 9181, probeHost: '0.0.0.0', workers: 3 });
    // Every tenant's registry Service aliases the API's Service: its name in the release namespace, its port.
    const apiService = find(objects, 'Service', 'tenantmesh-api') as KubeObject & {
      spec: { ports: { port: number }[] };
    };
    expect(config.platform.registryService).toEqual({
      externalName: 'tenantmesh-api.tenantmesh-system.svc.cluster.example',
      port: apiService.spec.ports[0]!.port,
    });

    // Ports, probes, args and env names agree with what the processes read.
    const api = container(find(objects, 'Deployment', 'tenantmesh-api'));
    const operator = container(find(objects, 'Deployment', 'tenantmesh-operator'));
    expect(api.args).toEqual(['api', '--config=/etc/tenantmesh/config/config.json']);
    expect(operator.args).toEqual(['operator', '--config=/etc/tenantmesh/config/config.json']);
    expect(api.ports[0]!.containerPort).toBe(9080);
    expect(operator.ports[0]!.containerPort).toBe(9181);
    for (const c of [api, operator]) {
      expect(c.env.map((e) => e.name)).toEqual(
        expect.arrayContaining(['TENANTMESH_S3_ACCESS_KEY', 'TENANTMESH_S3_SECRET_KEY']),
      );
      // The registry's database: the API serves the registries, the operator mirrors endpoints into them.
      expect(c.env.map((e) => e.name)).toEqual(
        expect.arrayContaining(['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE']),
      );
    }
  });

  it('the console values reach the API: its OIDC client in the file, the client secret only as an env var', async () => {
    const objects = await template(
      '--set',
      'console.enabled=true',
      '--set',
      'console.issuerUrl=https://dex.example.org/dex',
      '--set',
      'console.clientId=tm-console',
      '--set',
      'console.publicUrl=https://tenantmesh.example.org',
      '--set',
      'console.clientSecret.name=tm-console-client',
      '--set',
      'console.clientSecret.key=secret',
      '--set',
      'console.caFile=/etc/tenantmesh/oidc-ca/dex.crt',
      '--set',
      'oidc.caConfigMap=oidc-ca',
    );
    const text = (find(objects, 'ConfigMap', 'tenantmesh-config')['data'] as Record<string, string>)[
      'config.json'
    ]!;
    const config = parseConfigFile(text, 'config.json', (file) => `CA of ${file}`);
    expect(config.console).toEqual({
      issuer: 'https://dex.example.org/dex',
      clientId: 'tm-console',
      publicUrl: 'https://tenantmesh.example.org',
      caPem: 'CA of /etc/tenantmesh/oidc-ca/dex.crt',
    });
    const api = container(find(objects, 'Deployment', 'tenantmesh-api'));
    expect(api.env).toContainEqual({
      name: 'TENANTMESH_CONSOLE_CLIENT_SECRET',
      valueFrom: { secretKeyRef: { name: 'tm-console-client', key: 'secret' } },
    });
    expect(api).toMatchObject({
      volumeMounts: expect.arrayContaining([expect.objectContaining({ name: 'oidc-ca' })]),
    });
    // The operator has no use for the console's secret.
    const operator = container(find(objects, 'Deployment', 'tenantmesh-operator'));
    expect(operator.env.map((e) => e.name)).not.toContain('TENANTMESH_CONSOLE_CLIENT_SECRET');

    // Off by default: no console key, no secret; on without its settings: helm says which one is missing.
    const defaults = await template();
    const defaultText = (find(defaults, 'ConfigMap', 'tenantmesh-config')['data'] as Record<string, string>)[
      'config.json'
    ]!;
    expect(parseConfigFile(defaultText, 'config.json').console).toBeUndefined();
    expect(container(find(defaults, 'Deployment', 'tenantmesh-api')).env.map((e) => e.name)).not.toContain(
      'TENANTMESH_CONSOLE_CLIENT_SECRET',
    );
    await expect(template('--set', 'console.enabled=true')).rejects.toThrow(/console\.issuerUrl is required/);
    await expect(
      template(
        '--set',
        'console.enabled=true',
        '--set',
        'console.issuerUrl=https://id',
        '--set',
        'console.publicUrl=https://x',
      ),
    ).rejects.toThrow(/console\.clientSecret\.name is required/);
  });

  it('installs the four default ServingRuntimes', async () => {
    const runtimes = (await template()).filter((object) => object.kind === 'ServingRuntime');
    expect(runtimes.map((runtime) => runtime.metadata.name).sort()).toEqual([
      'mlserver',
      'openvino-model-server',
      'tensorflow-serving',
      'triton',
    ]);
  });

  it('points a default runtime at another image through runtimeImages, leaving the rest as written', async () => {
    const imageOf = (objects: KubeObject[], name: string) =>
      (find(objects, 'ServingRuntime', name)['spec'] as { container: { image: string } }).container.image;
    const defaults = await template();
    const local = await template('--set', 'runtimeImages.mlserver=registry.example.org/ml/mlserver:1.7.1-x');
    expect(imageOf(defaults, 'mlserver')).toBe('ghcr.io/tenantmesh/mlserver:1.7.1');
    expect(imageOf(local, 'mlserver')).toBe('registry.example.org/ml/mlserver:1.7.1-x');
    expect(find(local, 'ServingRuntime', 'mlserver')['spec']).toEqual({
      ...(find(defaults, 'ServingRuntime', 'mlserver')['spec'] as Record<string, unknown>),
      container: {
        ...(find(defaults, 'ServingRuntime', 'mlserver')['spec'] as { container: object }).container,
        image: 'registry.example.org/ml/mlserver:1.7.1-x',
      },
    });
    expect(imageOf(local, 'triton')).toBe(imageOf(defaults, 'triton'));
  });

  it('is accepted by the real apiserver (server-side dry run of every rendered object)', async () => {
    const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
    const namespace = `chart-${randomBytes(3).toString('hex')}`;
    await kube.applyObject(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
      { fieldManager: 'tenantmesh-test' },
    );
    try {
      // The chart writes into the serving and gateway namespaces, which must exist (the README's prerequisites).
      const objects = await template(
        '--namespace',
        namespace,
        '--set',
        `servingNamespace=${env.namespaces.serving}`,
        '--set',
        `gateway.namespace=${env.namespaces.gateway}`,
      );
      for (const object of objects) {
        await kube.applyObject(object, { fieldManager: 'tenantmesh-test', dryRun: true });
      }
      expect(objects.length).toBeGreaterThan(10);
    } finally {
      await kube.delete('v1', 'Namespace', namespace);
    }
  });
});
