import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../src/testenv/wait.ts';
import { currentNode, kubectl, runPod, webBehindGateway, type NodeSummary } from './support.ts';

const namespace = 'e2e-mesh';
/** Outside the mesh: no sidecar, so its requests are plain HTTP. */
const clientNamespace = 'e2e-mesh-client';
const host = 'web.e2e.test';
let node: NodeSummary;

/** Runs a python3 one-liner in a container (the local images carry python3) and returns its output. */
const python = (pod: string, ns: string, container: string, script: string) =>
  kubectl(node, ['exec', pod, '-n', ns, '-c', container, '--', 'python3', '-c', script]);
const httpGet = (url: string) =>
  `import urllib.request; print(urllib.request.urlopen('${url}', timeout=10).read().decode())`;

beforeAll(async () => {
  node = await currentNode();
  await webBehindGateway(node, {
    namespace,
    clientNamespace,
    name: 'meshed',
    host,
    extra: [
      // Only mTLS from inside the mesh reaches the workload; the gateway is inside the mesh.
      {
        apiVersion: 'security.istio.io/v1',
        kind: 'PeerAuthentication',
        metadata: { name: 'strict', namespace },
        spec: { mtls: { mode: 'STRICT' } },
      },
    ],
  });
});

describe('Istio on the local node', () => {
  it("injects a sidecar that holds a workload certificate issued by istiod's CA", async () => {
    // Istio injects the proxy as a native sidecar (an init container that keeps running) where Kubernetes has them.
    const containers = (
      await kubectl(node, [
        'get',
        'pod',
        'meshed',
        '-n',
        namespace,
        '-o',
        'jsonpath={.spec.initContainers[*].name} {.spec.containers[*].name}',
      ])
    ).split(/\s+/);
    expect(containers).toContain('istio-proxy');
    expect(containers).toContain('web');

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
    // istiod's /debug/syncz (what `istioctl proxy-status` shows): per proxy and xDS type, the nonce last sent, the
    // nonce the proxy acknowledged, and the error of its last rejection (NACK).
    type Syncz = {
      proxy: string;
      proxy_type: string;
      resources?: Record<string, { sent?: string; acked?: string; lastError?: string }>;
    }[];
    const mustSync = ['Cluster', 'Listener'];
    let proxies: Syncz = [];
    await waitFor(
      async () => {
        proxies = JSON.parse(
          await python(istiod, 'istio-system', 'discovery', httpGet('http://127.0.0.1:15014/debug/syncz')),
        ) as Syncz;
        const gateway = proxies.find(
          (p) => p.proxy_type === 'router' && p.proxy.includes('istio-ingressgateway'),
        );
        const sidecar = proxies.find((p) => p.proxy === `meshed.${namespace}`);
        return [gateway, sidecar].every((proxy) => {
          const resources = Object.entries(proxy?.resources ?? {});
          return (
            mustSync.every((type) => resources.some(([url]) => url.endsWith(`.${type}`))) &&
            resources.every(([, status]) => status.sent && status.acked === status.sent)
          );
        });
      },
      {
        description: 'istiod to report the gateway and the sidecar synced',
        timeoutMs: 120_000,
        intervalMs: 2_000,
      },
    );
    const rejected = proxies.flatMap((p) =>
      Object.entries(p.resources ?? {})
        .filter(([, status]) => status.lastError)
        .map(([url, status]) => `${p.proxy} ${url}: ${status.lastError}`),
    );
    expect(rejected).toEqual([]);
  });

  it('routes a request through the ingress gateway to the sidecar over mTLS, and refuses plain traffic to it', async () => {
    const script = [
      'import urllib.request',
      'def get(url, host=None):',
      '    try:',
      "        request = urllib.request.Request(url, headers={'Host': host} if host else {})",
      '        response = urllib.request.urlopen(request, timeout=10)',
      "        return '%d %s' % (response.status, response.read().decode().strip())",
      '    except Exception as error:',
      "        return 'failed %s' % type(error).__name__",
      `print('gateway', get('http://istio-ingressgateway.istio-system/hostname', '${host}'))`,
      `print('direct', get('http://meshed.${namespace}/hostname'))`,
    ].join('\n');
    let output = '';
    // The gateway's route appears once istiod has pushed the Gateway and VirtualService, and the Service's rules
    // once kube-proxy has caught up (until then a plain connection is refused, which proves nothing about mTLS).
    await waitFor(
      async () => {
        output = await runPod(node, {
          namespace: clientNamespace,
          name: `client-${Date.now()}`,
          image: node.images['debian']!,
          command: ['python3', '-c', script],
        });
        return output.includes('gateway 200') && !output.includes('direct failed URLError');
      },
      { description: 'the gateway route and the Service rules', timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect(output).toContain('gateway 200 meshed');
    // The sidecar accepts the connection and drops it: plain text is not mTLS.
    expect(output).toMatch(/direct failed (ConnectionResetError|RemoteDisconnected)/);
  });
});
