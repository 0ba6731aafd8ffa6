import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../src/testenv/wait.ts';
import { apply, currentNode, kubectl, runPod, type NodeSummary } from './support.ts';

/** The serving side: not Authorino's namespace, so Authorino only sees it when it watches the whole cluster. */
const namespace = 'e2e-authz';
const clientNamespace = 'e2e-authz-client';
const host = 'authz.e2e.test';
let node: NodeSummary;

beforeAll(async () => {
  node = await currentNode();
  await apply(node, [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: { 'istio-injection': 'enabled' } },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: clientNamespace } },
  ]);
  await apply(node, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'protected', namespace, labels: { app: 'protected' } },
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
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'protected', namespace },
      spec: { selector: { app: 'protected' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'protected', namespace },
      spec: {
        selector: { istio: 'ingressgateway' },
        servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [host] }],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'protected', namespace },
      spec: {
        hosts: [host],
        gateways: ['protected'],
        http: [
          {
            route: [
              { destination: { host: `protected.${namespace}.svc.cluster.local`, port: { number: 80 } } },
            ],
          },
        ],
      },
    },
    // The gateway asks Authorino (the mesh config's extension provider) about every request for this host.
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'e2e-authz', namespace: 'istio-system' },
      spec: {
        selector: { matchLabels: { istio: 'ingressgateway' } },
        action: 'CUSTOM',
        provider: { name: 'tenantmesh-authorino' },
        rules: [{ to: [{ operation: { hosts: [host, `${host}:*`] } }] }],
      },
    },
    {
      apiVersion: 'authorino.kuadrant.io/v1beta3',
      kind: 'AuthConfig',
      metadata: { name: 'e2e', namespace },
      spec: {
        hosts: [host],
        authentication: { anyone: { anonymous: {} } },
        authorization: {
          'allow-header': {
            patternMatching: {
              patterns: [
                { predicate: '"x-e2e-allow" in request.headers && request.headers["x-e2e-allow"] == "yes"' },
              ],
            },
          },
        },
      },
    },
  ]);
  await kubectl(node, ['wait', '--for=condition=Ready', 'pod/protected', '-n', namespace, '--timeout=180s']);
});

describe('Authorino on the local node', () => {
  it('runs as a meshed Pod and takes up an AuthConfig of another namespace', async () => {
    const containers = (
      await kubectl(node, [
        'get',
        'pods',
        '-n',
        'authorino',
        '-l',
        'app.kubernetes.io/name=authorino',
        '-o',
        'jsonpath={.items[0].spec.initContainers[*].name} {.items[0].spec.containers[*].name}',
      ])
    ).split(/\s+/);
    expect(containers).toContain('istio-proxy');
    expect(containers).toContain('authorino');
    await kubectl(node, [
      'wait',
      '--for=condition=Ready',
      'authconfig/e2e',
      '-n',
      namespace,
      '--timeout=60s',
    ]);
  });

  it('is asked by the gateway: a request the AuthConfig allows passes, one it refuses gets 403', async () => {
    const script = [
      'import urllib.error, urllib.request',
      'def get(headers):',
      "    request = urllib.request.Request('http://istio-ingressgateway.istio-system/hostname', headers=headers)",
      '    try:',
      '        response = urllib.request.urlopen(request, timeout=10)',
      "        return '%d %s' % (response.status, response.read().decode().strip())",
      '    except urllib.error.HTTPError as error:',
      "        return '%d' % error.code",
      `print('allowed', get({'Host': '${host}', 'x-e2e-allow': 'yes'}))`,
      `print('refused', get({'Host': '${host}', 'x-e2e-allow': 'no'}))`,
      `print('anonymous', get({'Host': '${host}'}))`,
    ].join('\n');
    let output = '';
    // The route and the ext_authz filter appear once istiod has pushed the new Gateway, VirtualService and policy.
    await waitFor(
      async () => {
        output = await runPod(node, {
          namespace: clientNamespace,
          name: `client-${Date.now()}`,
          image: node.images['debian']!,
          command: ['python3', '-c', script],
        });
        return output.includes('allowed 200') && output.includes('refused 403');
      },
      { description: 'the gateway to route and ask Authorino', timeoutMs: 90_000, intervalMs: 1_000 },
    );
    expect(output).toContain('allowed 200 protected');
    expect(output).toContain('refused 403');
    expect(output).toContain('anonymous 403');
  });
});
