import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../src/testenv/wait.ts';
import { apply, currentNode, kubectl, type NodeSummary } from './support.ts';

const namespace = 'e2e-mesh';
let node: NodeSummary;

/** Runs a python3 one-liner in a container (the local images carry python3) and returns its output. */
const python = (pod: string, ns: string, container: string, script: string) =>
  kubectl(node, ['exec', pod, '-n', ns, '-c', container, '--', 'python3', '-c', script]);
const httpGet = (url: string) =>
  `import urllib.request; print(urllib.request.urlopen('${url}', timeout=10).read().decode())`;

beforeAll(async () => {
  node = await currentNode();
  await apply(node, [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: { 'istio-injection': 'enabled' } },
    },
  ]);
  await apply(node, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'meshed', namespace, labels: { app: 'meshed' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: node.images['debian'],
            imagePullPolicy: 'Never',
            command: ['python3', '-m', 'http.server', '8080', '--directory', '/etc'],
            ports: [{ containerPort: 8080 }],
            securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false },
          },
        ],
      },
    },
  ]);
  await kubectl(node, ['wait', '--for=condition=Ready', 'pod/meshed', '-n', namespace, '--timeout=180s']);
});

describe('Istio on the local node', () => {
  it("injects a sidecar that holds a workload certificate issued by istiod's CA", async () => {
    const containers = (
      await kubectl(node, [
        'get',
        'pod',
        'meshed',
        '-n',
        namespace,
        '-o',
        'jsonpath={.spec.containers[*].name}',
      ])
    ).split(' ');
    expect(containers).toContain('istio-proxy');

    const certs = JSON.parse(
      await python('meshed', namespace, 'istio-proxy', httpGet('http://127.0.0.1:15000/certs')),
    ) as {
      certificates: {
        ca_cert: { serial_number: string }[];
        cert_chain: { subject_alt_names: { uri?: string }[] }[];
      }[];
    };
    const workload = certs.certificates.flatMap((c) => c.cert_chain);
    expect(workload.flatMap((c) => c.subject_alt_names.map((san) => san.uri))).toContain(
      `spiffe://cluster.local/ns/${namespace}/sa/default`,
    );
    const rootPem = (
      await kubectl(node, [
        'get',
        'configmap',
        'istio-ca-root-cert',
        '-n',
        namespace,
        '-o',
        'jsonpath={.data.root-cert\\.pem}',
      ])
    ).trim();
    const rootSerial = new X509Certificate(rootPem).serialNumber.toLowerCase().replace(/^0+/, '');
    const caSerials = certs.certificates.flatMap((c) =>
      c.ca_cert.map((ca) => ca.serial_number.replace(/^0+/, '')),
    );
    expect(caSerials).toContain(rootSerial);
  });

  it('has istiod report the gateway and the sidecar synced, with no configuration rejected', async () => {
    const istiod = (
      await kubectl(node, [
        'get',
        'pods',
        '-n',
        'istio-system',
        '-l',
        'app=istiod',
        '-o',
        'jsonpath={.items[0].metadata.name}',
      ])
    ).trim();
    type Syncz = {
      resources?: {
        node?: { id?: string };
        genericXdsConfigs?: { typeUrl: string; configStatus?: string }[];
      }[];
    };
    let proxies: NonNullable<Syncz['resources']> = [];
    await waitFor(
      async () => {
        const syncz = JSON.parse(
          await python(istiod, 'istio-system', 'discovery', httpGet('http://127.0.0.1:15014/debug/syncz')),
        ) as Syncz;
        proxies = syncz.resources ?? [];
        const ids = proxies.map((p) => p.node?.id ?? '');
        const synced = proxies.every((p) =>
          (p.genericXdsConfigs ?? [])
            .filter((c) => /Cluster|Listener|RouteConfiguration/.test(c.typeUrl))
            .every((c) => c.configStatus === 'SYNCED'),
        );
        return (
          ids.some((id) => id.includes('istio-ingressgateway')) &&
          ids.some((id) => id.includes(`meshed.${namespace}`)) &&
          synced
        );
      },
      {
        description: 'istiod to report the gateway and the sidecar synced',
        timeoutMs: 120_000,
        intervalMs: 2_000,
      },
    );
    const statuses = proxies.flatMap((p) => (p.genericXdsConfigs ?? []).map((c) => c.configStatus));
    expect(statuses).not.toContain('ERROR');
    expect(statuses).toContain('SYNCED');
  });
});
