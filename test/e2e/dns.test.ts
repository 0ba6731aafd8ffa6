import { beforeAll, describe, expect, it } from 'vitest';
import { apply, currentNode, kubectl, runPod, type NodeSummary } from './support.ts';

const namespace = 'e2e-dns';
let node: NodeSummary;

beforeAll(async () => {
  node = await currentNode();
  await apply(node, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }]);
  await apply(node, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace, labels: { app: 'web' } },
      spec: {
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'web',
            image: node.images['debian'],
            imagePullPolicy: 'Never',
            command: ['python3', '-m', 'http.server', '8080', '--directory', '/etc'],
            ports: [{ containerPort: 8080 }],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false },
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ]);
  await kubectl(node, ['wait', '--for=condition=Ready', 'pod/web', '-n', namespace, '--timeout=90s']);
});

describe('cluster DNS on the local node', () => {
  it('resolves the apiserver Service and a Service name from inside a Pod, and the Service answers', async () => {
    // kube-proxy programs a new Service's rules shortly after its endpoint turns ready: until then a connection
    // is refused, so the request is retried (with a deadline) while that catches up.
    const script = [
      'import socket, time, urllib.error, urllib.request',
      "print('kubernetes', socket.gethostbyname('kubernetes.default.svc.cluster.local'))",
      "print('web', socket.gethostbyname('web'))",
      'deadline = time.monotonic() + 30',
      'while True:',
      '    try:',
      "        print('status', urllib.request.urlopen('http://web/hostname', timeout=10).status)",
      '        break',
      '    except urllib.error.URLError:',
      '        if time.monotonic() > deadline: raise',
      '        time.sleep(0.5)',
    ].join('\n');
    const output = await runPod(node, {
      namespace,
      name: 'resolver',
      image: node.images['debian']!,
      command: ['python3', '-c', script],
    });
    const webIp = (
      await kubectl(node, ['get', 'service', 'web', '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    expect(output).toContain('kubernetes 10.96.0.1');
    expect(output).toContain(`web ${webIp}`);
    expect(output).toContain('status 200');
  });

  it('refuses a name that does not exist in the cluster (there is no upstream resolver)', async () => {
    const script = [
      'import socket',
      'try:',
      "    socket.gethostbyname('no-such-service.e2e-dns.svc.cluster.local')",
      "    print('resolved')",
      'except socket.gaierror:',
      "    print('unresolved')",
    ].join('\n');
    const output = await runPod(node, {
      namespace,
      name: 'unresolvable',
      image: node.images['debian']!,
      command: ['python3', '-c', script],
    });
    expect(output.trim()).toBe('unresolved');
  });
});
