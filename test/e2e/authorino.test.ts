import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readManifests } from '../../src/testenv/cluster.ts';
import { waitFor } from '../../src/testenv/wait.ts';
import { apply, currentNode, kubectl, runPod, webBehindGateway, type NodeSummary } from './support.ts';

/** The serving side: not Authorino's namespace, so Authorino only sees it when it watches the whole cluster. */
const namespace = 'e2e-authz';
const clientNamespace = 'e2e-authz-client';
const host = 'authz.e2e.test';
let node: NodeSummary;

beforeAll(async () => {
  node = await currentNode();
  await webBehindGateway(node, {
    namespace,
    clientNamespace,
    name: 'protected',
    host,
    extra: [
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
          // Asked only when the request says so: a lookup that answers after 5 s, past the provider's 2 s timeout.
          // (Not 'yes': kubectl reads YAML 1.1, where an unquoted yes is a boolean.)
          metadata: {
            'slow-lookup': {
              when: [{ selector: 'request.headers.x-e2e-slow', operator: 'eq', value: 'please' }],
              http: { url: `http://slow.${namespace}.svc.cluster.local/` },
            },
          },
          authorization: {
            'allow-header': {
              patternMatching: {
                patterns: [
                  {
                    predicate: '"x-e2e-allow" in request.headers && request.headers["x-e2e-allow"] == "yes"',
                  },
                ],
              },
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'slow', namespace, labels: { app: 'slow' } },
        spec: {
          containers: [
            {
              name: 'web',
              image: node.images['debian'],
              imagePullPolicy: 'Never',
              command: ['python3', '-c', SLOW_SERVER],
              ports: [{ containerPort: 8080 }],
              securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false },
            },
          ],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'slow', namespace },
        spec: { selector: { app: 'slow' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    ],
  });
});

/** An HTTP server that answers every GET with `{}` after 5 seconds. */
const SLOW_SERVER = [
  'import http.server, time',
  'class Slow(http.server.BaseHTTPRequestHandler):',
  '    def do_GET(self):',
  '        time.sleep(5)',
  '        self.send_response(200)',
  "        self.send_header('content-type', 'application/json')",
  "        self.send_header('content-length', '2')",
  '        self.end_headers()',
  "        self.wfile.write(b'{}')",
  "http.server.ThreadingHTTPServer(('', 8080), Slow).serve_forever()",
].join('\n');

/**
 * Requests through the ingress gateway from outside the mesh, allowed and refused by the AuthConfig; waits until
 * istiod has pushed the route and the ext_authz filter. Answers the client's output.
 */
async function askedThroughTheGateway(): Promise<string> {
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
  return output;
}

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
    const output = await askedThroughTheGateway();
    expect(output).toContain('allowed 200 protected');
    expect(output).toContain('refused 403');
    expect(output).toContain('anonymous 403');
  });

  it('answers 503, gRPC UNAVAILABLE, when Authorino does not decide in time, and a refusal stays 403 / PERMISSION_DENIED', async () => {
    // The provider's statusOnError (istio/mesh-config.yaml): a client can tell "try again" from "no". A gRPC
    // request (content-type application/grpc) gets Envoy's gRPC status for the HTTP one: 503 → 14, 403 → 7.
    const script = [
      'import urllib.error, urllib.request',
      'def ask(headers):',
      "    request = urllib.request.Request('http://istio-ingressgateway.istio-system/hostname', headers=headers)",
      '    try:',
      '        response = urllib.request.urlopen(request, timeout=30)',
      "        return '%d grpc-status=%s' % (response.status, response.headers.get('grpc-status'))",
      '    except urllib.error.HTTPError as error:',
      "        return '%d grpc-status=%s' % (error.code, error.headers.get('grpc-status'))",
      "grpc = {'content-type': 'application/grpc'}",
      `slow = {'Host': '${host}', 'x-e2e-allow': 'yes', 'x-e2e-slow': 'please'}`,
      "print('slow', ask(slow))",
      "print('slow-grpc', ask({**slow, **grpc}))",
      `print('refused-grpc', ask({'Host': '${host}', 'x-e2e-allow': 'no', **grpc}))`,
    ].join('\n');
    await kubectl(node, ['wait', '--for=condition=Ready', 'pod/slow', '-n', namespace, '--timeout=120s']);
    let output = '';
    // Until Authorino's sidecar knows the slow Service its lookup fails at once and the decision comes in time.
    await waitFor(
      async () => {
        output = await runPod(node, {
          namespace: clientNamespace,
          name: `slow-client-${Date.now()}`,
          image: node.images['debian']!,
          command: ['python3', '-c', script],
        });
        return /^slow 503 /m.test(output);
      },
      {
        description: 'a decision past the timeout to be answered 503',
        timeoutMs: 120_000,
        intervalMs: 1_000,
      },
    );
    expect(output).toMatch(/^slow 503 /m);
    expect(output).toMatch(/^slow-grpc 200 grpc-status=14$/m);
    expect(output).toMatch(/^refused-grpc 200 grpc-status=7$/m);
  });

  it('refuses plain text: a client outside the mesh cannot reach Authorino on either port (issue 11, finding 12)', async () => {
    // Outside the mesh (clientNamespace has no sidecar injection) every connection is plain text.
    const service = 'authorino-authorino-authorization.authorino.svc.cluster.local';
    const script = [
      'import socket, urllib.error, urllib.request',
      'def http():',
      '    try:',
      `        response = urllib.request.urlopen('http://${service}:5001/check', timeout=10)`,
      "        return 'answered %d' % response.status",
      '    except urllib.error.HTTPError as error:',
      "        return 'answered %d' % error.code",
      '    except Exception as error:',
      "        return 'refused %s' % type(error).__name__",
      'def grpc():',
      '    # The HTTP/2 connection preface and an empty SETTINGS frame: a gRPC server answers with its SETTINGS.',
      '    try:',
      `        with socket.create_connection(('${service}', 50051), timeout=10) as conn:`,
      "            conn.sendall(b'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n' + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))",
      '            data = conn.recv(64)',
      "            return 'answered' if data else 'refused closed'",
      '    except Exception as error:',
      "        return 'refused %s' % type(error).__name__",
      "print('http', http())",
      "print('grpc', grpc())",
    ].join('\n');
    const probe = () =>
      runPod(node, {
        namespace: clientNamespace,
        name: `plaintext-${Date.now()}`,
        image: node.images['debian']!,
        command: ['python3', '-c', script],
      });
    const refusedOnBoth = (output: string) => /^http refused/m.test(output) && /^grpc refused/m.test(output);
    const answeredOnBoth = (output: string) =>
      /^http answered/m.test(output) && /^grpc answered/m.test(output);
    let output = '';
    // istiod pushes the policy the node applied with Authorino to its sidecar within moments.
    await waitFor(async () => refusedOnBoth((output = await probe())), {
      description: 'Authorino to refuse plain text',
      timeoutMs: 90_000,
      intervalMs: 1_000,
    });

    // Without the PeerAuthentication (Istio's default, PERMISSIVE) the same client is answered: the test sees
    // the hole it guards. The policy is restored whatever happens.
    const transport = readManifests(
      fileURLToPath(new URL('../../authorino/mesh-transport.yaml', import.meta.url)),
    ).filter((object) => object.kind === 'PeerAuthentication');
    try {
      await kubectl(node, ['delete', 'peerauthentication', 'authorino-mtls-only', '-n', 'authorino']);
      await waitFor(async () => answeredOnBoth((output = await probe())), {
        description: 'Authorino to answer plain text without the policy',
        timeoutMs: 90_000,
        intervalMs: 1_000,
      });
    } finally {
      await apply(node, transport);
    }
    await waitFor(async () => refusedOnBoth((output = await probe())), {
      description: 'Authorino to refuse plain text again',
      timeoutMs: 90_000,
      intervalMs: 1_000,
    });
    expect(output).toMatch(/^http refused/m);
    expect(output).toMatch(/^grpc refused/m);
    // With plain text refused, the gateway's decisions still arrive: its hop to Authorino is mutual TLS.
    expect(await askedThroughTheGateway()).toContain('allowed 200 protected');
  });
});
