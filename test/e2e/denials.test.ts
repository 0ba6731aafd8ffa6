import { mkdtempSync, readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferClient, InferError, type InferClient } from '../../src/infer/index.ts';
import { tenantmeshRelease } from '../../src/localcluster/release.ts';
import { waitFor } from '../../src/testenv/wait.ts';
import { trainSklearnModel, type TrainedModel } from '../support/sklearn-model.ts';
import { apply, currentNode, installedTenantmesh, kubectl, runPod, type NodeSummary } from './support.ts';

/**
 * Every way a call to a tenant's model is refused, on the real path: the Istio ingress gateway (TLS, its CRL,
 * the CUSTOM policy), Authorino deciding with the tenant's AuthConfig and a SubjectAccessReview, and the model
 * Pod's sidecar (STRICT mTLS and the ALLOW-from-gateway policy) in front of MLServer; and what must still work. The tenant's objects
 * are the operator's, from the chart installed on the node; the client is this process, through a loopback
 * forward of the gateway's Service.
 */

const tenant = 'e2e-deny';
const otherTenant = 'e2e-deny-other';
const endpoint = 'web';
/** The chart's default parent domain: hosts are `<endpoint>.<tenant>.<domain>`. */
const domain = 'models.example.com';
const { servingNamespace } = tenantmeshRelease;
const host = `${endpoint}.${tenant}.${domain}`;
const callerNamespace = 'e2e-deny-callers';
/** Meshed (sidecar-injected) callers of another identity than the gateway's. */
const meshNamespace = 'e2e-deny-mesh';
/** Only these certificate subjects may call the endpoint; `mallory` holds a valid certificate of the tenant. */
const allowedSubjects = ['alice', 'carol'];

let node: NodeSummary;
let apiUrl: string;
let adminToken: string;
let gatewayPort: number;
/** The release's `authorizationCacheTtlSeconds` (its configuration file): how long Authorino may reuse a decision. */
let ttlSeconds: number;

interface ApiAnswer {
  status: number;
  body: unknown;
}

/** The management API as the holder of `token`; bytes are a file upload, anything else JSON. */
async function api(method: string, route: string, token: string, body?: unknown): Promise<ApiAnswer> {
  const raw = body instanceof Uint8Array;
  const send = () =>
    fetch(`${apiUrl}/v1${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined
          ? {}
          : { 'content-type': raw ? 'application/octet-stream' : 'application/json' }),
      },
      ...(body === undefined ? {} : { body: raw ? body : JSON.stringify(body) }),
    });
  // A kept-alive connection through the loopback forward can be closed by the far end just as a request goes
  // out (nothing of an answer read): that request never reached the API, so it is sent once more.
  const response = await send().catch((error: unknown) => {
    const cause = (error as { cause?: { code?: string; socket?: { bytesRead?: number } } }).cause;
    if (cause?.code === 'UND_ERR_SOCKET' && cause.socket?.bytesRead === 0) return send();
    throw error;
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: response.status, body: text };
  }
}

/** A ServiceAccount token for `audience`, as a client outside the cluster holds it. */
async function serviceAccountToken(serviceAccount: string, audience = 'tenantmesh'): Promise<string> {
  return (
    await kubectl(node, ['create', 'token', serviceAccount, '-n', callerNamespace, '--audience', audience])
  ).trim();
}

interface Credential {
  certificatePem: string;
  privateKeyPem: string;
  serialNumber: string;
}
let tenantCaPem: string;
const certificates: Record<string, Credential> = {};

async function ok(answer: Promise<ApiAnswer>, ...statuses: number[]): Promise<ApiAnswer> {
  const result = await answer;
  if (!statuses.includes(result.status)) {
    throw new Error(`API answered ${result.status}: ${JSON.stringify(result.body)}`);
  }
  return result;
}

async function issue(
  forTenant: string,
  commonName: string,
): Promise<Credential & { caCertificatePem: string }> {
  const { body } = await ok(
    api('POST', `/tenants/${forTenant}/certificates`, adminToken, { commonName }),
    201,
  );
  return body as Credential & { caCertificatePem: string };
}

/** What came back through the gateway: an HTTP answer, or a connection the gateway refused (TLS). */
type Outcome =
  { kind: 'answer'; status: number; body: string; authReason?: string } | { kind: 'refused'; error: string };

interface CallOptions {
  /** The `Host` header (HTTP/1.1's `:authority`); the TLS SNI stays the canonical host unless `sni` is given. */
  authority?: string;
  sni?: string;
  certificate?: Credential;
  token?: string;
  path?: string;
}

/** One HTTP/1.1 request through the gateway, as a client outside the cluster sends it. */
function call(options: CallOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port: gatewayPort,
        servername: options.sni ?? host,
        ca: tenantCaPem,
        ...(options.certificate
          ? { cert: options.certificate.certificatePem, key: options.certificate.privateKeyPem }
          : {}),
        agent: false,
        method: 'GET',
        path: options.path ?? modelPath,
        headers: {
          host: options.authority ?? host,
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        timeout: 20_000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          const reason = response.headers['x-ext-auth-reason'];
          resolve({
            kind: 'answer',
            status: response.statusCode ?? 0,
            body,
            ...(typeof reason === 'string' ? { authReason: reason } : {}),
          });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ kind: 'refused', error: `${error.code ?? ''} ${error.message}` }),
    );
    request.end();
  });
}

/** One HTTP/2 request with an explicit `:authority` (how gRPC clients send it). */
function callHttp2(options: CallOptions & { authority: string }): Promise<Outcome> {
  return new Promise((resolve) => {
    const session = http2.connect(`https://127.0.0.1:${gatewayPort}`, {
      servername: options.sni ?? host,
      ca: tenantCaPem,
      ...(options.certificate
        ? { cert: options.certificate.certificatePem, key: options.certificate.privateKeyPem }
        : {}),
    });
    const finish = (outcome: Outcome) => {
      session.close();
      resolve(outcome);
    };
    session.on('error', (error: NodeJS.ErrnoException) =>
      finish({ kind: 'refused', error: `${error.code ?? ''} ${error.message}` }),
    );
    const stream = session.request({
      ':method': 'GET',
      ':path': options.path ?? modelPath,
      ':authority': options.authority,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    });
    let status = 0;
    let reason: string | undefined;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
      const header = headers['x-ext-auth-reason'];
      if (typeof header === 'string') reason = header;
    });
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () =>
      finish({ kind: 'answer', status, body, ...(reason !== undefined ? { authReason: reason } : {}) }),
    );
    stream.on('error', (error: NodeJS.ErrnoException) =>
      finish({ kind: 'refused', error: `${error.code ?? ''} ${error.message}` }),
    );
    stream.end();
  });
}

/** The model answered (no denial of Authorino's on the way). */
function expectServed(outcome: Outcome): void {
  expect(outcome).toMatchObject({ kind: 'answer', status: 200 });
  expect(outcome).not.toHaveProperty('authReason');
}

/** Authorino decided and refused: its status and its reason header, never the model's answer. */
function expectRefusedByAuthorino(outcome: Outcome, status: number): void {
  expect(outcome).toMatchObject({ kind: 'answer', status });
  expect(outcome).toHaveProperty('authReason');
}

/** The gateway refused the TLS connection: no HTTP answer at all. */
function expectRefusedAtTls(outcome: Outcome): void {
  expect(outcome.kind, JSON.stringify(outcome)).toBe('refused');
}

/** Waits until the gateway gives `predicate`'s outcome (config pushes from istiod take a moment). */
async function eventually(
  description: string,
  options: CallOptions,
  predicate: (outcome: Outcome) => boolean,
  timeoutMs = 120_000,
): Promise<Outcome> {
  let last: Outcome | undefined;
  await waitFor(
    async () => {
      last = await call(options);
      return predicate(last);
    },
    { description: `${description} (last: ${JSON.stringify(last)})`, timeoutMs, intervalMs: 500 },
  );
  return last!;
}

const served = (outcome: Outcome) =>
  outcome.kind === 'answer' && outcome.status === 200 && outcome.authReason === undefined;

// The model endpoint --------------------------------------------------------------------------------------

/** A scikit-learn model the test trains, served by MLServer (the chart's `mlserver` runtime, the node's image). */
const model = 'iris';
/** MLServer's KServe v2 readiness of the model: answered by the model server only. */
const modelPath = `/v2/models/${model}/ready`;
let trained: TrainedModel;

async function createServedEndpoint(): Promise<void> {
  trained = await trainSklearnModel(
    path.join(mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-e2e-denials-')), 'model.joblib'),
  );
  await ok(
    api(
      'PUT',
      `/tenants/${tenant}/models/${model}/versions/1/files/model.joblib`,
      adminToken,
      readFileSync(trained.path),
    ),
    201,
  );
  await ok(
    api('POST', `/tenants/${tenant}/endpoints`, adminToken, {
      name: endpoint,
      model: { name: model, version: '1' },
      runtime: 'mlserver',
      allowedClientSubjects: allowedSubjects,
    }),
    201,
  );
}

/** KServe v2 gRPC through the gateway, as `tenantmesh infer` calls it. */
function inferClient(options: { certificate?: Credential; authority?: string }): InferClient {
  const client = createInferClient({
    address: `127.0.0.1:${gatewayPort}`,
    authority: options.authority ?? host,
    tls: {
      caPem: tenantCaPem,
      serverName: host,
      ...(options.certificate
        ? { certPem: options.certificate.certificatePem, keyPem: options.certificate.privateKeyPem }
        : {}),
    },
    deadlineMs: 20_000,
  });
  inferClients.push(client);
  return client;
}
const inferClients: InferClient[] = [];

/** The predictions of the trained model for its sample inputs, or the client's error. */
async function predict(client: InferClient): Promise<number[] | InferError> {
  try {
    const result = await client.kserve.modelInfer({
      model,
      inputs: [
        {
          name: 'input-0',
          datatype: 'FP64',
          shape: [trained.inputs.length, 4],
          data: trained.inputs.flat(),
        },
      ],
    });
    return result.outputs[0]!.data;
  } catch (error) {
    if (error instanceof InferError) return error;
    throw error;
  }
}

// Setup --------------------------------------------------------------------------------------------------

beforeAll(async () => {
  node = await currentNode();
  ({ apiUrl, gatewayPort } = await installedTenantmesh(node));
  const configuration = JSON.parse(
    await kubectl(node, [
      'get',
      'configmap',
      'tenantmesh-config',
      '-n',
      tenantmeshRelease.namespace,
      '-o',
      'jsonpath={.data.config\\.json}',
    ]),
  ) as { authorizationCacheTtlSeconds: number };
  ttlSeconds = configuration.authorizationCacheTtlSeconds;
  await apply(node, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: callerNamespace } },
    ...['e2e-admin', 'caller', 'stranger', 'passerby'].map((name) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace: callerNamespace },
    })),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'e2e-deny-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'e2e-admin', namespace: callerNamespace }],
    },
  ]);
  adminToken = await serviceAccountToken('e2e-admin');

  for (const name of [tenant, otherTenant]) {
    await ok(api('POST', '/tenants', adminToken, { name }), 201);
  }
  for (const name of [tenant, otherTenant]) {
    await kubectl(node, ['wait', '--for=condition=Ready', `tenant/${name}`, '--timeout=180s']);
  }
  for (const name of ['alice', 'carol', 'mallory']) {
    const issued = await issue(tenant, name);
    certificates[name] = issued;
    tenantCaPem = issued.caCertificatePem;
  }
  certificates['other-tenant-alice'] = await issue(otherTenant, 'alice');

  await createServedEndpoint();
  await kubectl(node, [
    'wait',
    '--for=condition=Ready',
    `inferenceendpoint/${tenant}--${endpoint}`,
    '-n',
    servingNamespace,
    '--timeout=300s',
  ]);
  await eventually('the gateway to serve the endpoint', { certificate: certificates['alice'] }, served);
});

afterAll(async () => {
  // The tenants go with what they own (stored models too: purge), as a user deletes them.
  for (const name of [tenant, otherTenant]) {
    await ok(api('DELETE', `/tenants/${name}?purge=true`, adminToken), 202, 404);
  }
  for (const name of [tenant, otherTenant]) {
    await kubectl(node, ['wait', '--for=delete', `tenant/${name}`, '--timeout=180s']);
  }
  for (const client of inferClients) client.close();
  await kubectl(node, ['delete', 'clusterrolebinding', 'e2e-deny-admin', '--ignore-not-found']);
  await kubectl(node, [
    'delete',
    'namespace',
    callerNamespace,
    meshNamespace,
    '--ignore-not-found',
    '--wait=false',
  ]);
});

// Tests --------------------------------------------------------------------------------------------------

describe('a tenant with clientAuthentication certificate (TLS MUTUAL at the gateway)', () => {
  it('serves a certificate of the tenant whose subject the endpoint allows', async () => {
    expectServed(await call({ certificate: certificates['alice'] }));
  });

  it('refuses a client without a certificate at the TLS handshake', async () => {
    expectRefusedAtTls(await call());
  });

  it('refuses a certificate of another tenant’s CA at the TLS handshake', async () => {
    expectRefusedAtTls(await call({ certificate: certificates['other-tenant-alice'] }));
  });

  it('refuses (Authorino, 403) a certificate of the tenant whose subject the endpoint does not allow', async () => {
    expectRefusedByAuthorino(await call({ certificate: certificates['mallory'] }), 403);
  });

  it('asks Authorino whatever port or letter case :authority carries: refused where the canonical host is', async () => {
    const mallory = certificates['mallory']!;
    for (const authority of [`${host}:8443`, `${host}:1`, `${host}:443`, `Web.${tenant}.${domain}`]) {
      expectRefusedByAuthorino(await call({ certificate: mallory, authority }), 403);
      expectRefusedByAuthorino(await callHttp2({ certificate: mallory, authority }), 403);
    }
    // A trailing dot names the same host in DNS; whatever the gateway does with it, the model never answers.
    for (const certificate of [mallory, certificates['alice']!]) {
      const outcome = await call({ certificate, authority: `${host}.` });
      expect(outcome.kind === 'answer' && outcome.status >= 400, JSON.stringify(outcome)).toBe(true);
    }
    // A whole host in upper case is routed by the gateway (domains ignore case) but matches no AuthConfig:
    // Authorino refuses it for every caller.
    for (const certificate of [mallory, certificates['alice']!]) {
      const upper = host.toUpperCase();
      expectRefusedByAuthorino(await call({ certificate, authority: upper }), 404);
      expectRefusedByAuthorino(await call({ certificate, authority: upper, sni: upper }), 404);
    }
  });

  it('serves an allowed certificate whatever port :authority carries (decided like the canonical host)', async () => {
    for (const authority of [`${host}:8443`, `${host}:1`, `Web.${tenant}.${domain}`]) {
      expectServed(await call({ certificate: certificates['alice'], authority }));
      expectServed(await callHttp2({ certificate: certificates['alice'], authority }));
    }
  });

  it('serves predictions over gRPC (KServe v2 ModelInfer) to the allowed certificate, whatever port :authority carries', async () => {
    for (const authority of [host, `${host}:8443`, `${host}:1`]) {
      expect(await predict(inferClient({ certificate: certificates['alice'], authority }))).toEqual(
        trained.predictions,
      );
    }
  });

  it('refuses gRPC calls of the certificate the endpoint does not allow, whatever port :authority carries', async () => {
    for (const authority of [host, `${host}:8443`, `${host}:1`]) {
      const outcome = await predict(inferClient({ certificate: certificates['mallory'], authority }));
      expect(outcome, authority).toBeInstanceOf(InferError);
      expect((outcome as InferError).kind, authority).toBe('permission-denied');
    }
  });

  it('refuses a token alone: the handshake needs a certificate', async () => {
    await ok(
      api('POST', `/tenants/${tenant}/access`, adminToken, {
        role: 'endpointUsers',
        endpoint,
        subject: { kind: 'ServiceAccount', name: 'caller', namespace: callerNamespace },
      }),
      201,
    );
    const token = await serviceAccountToken('caller');
    expectRefusedAtTls(await call({ token }));
  });

  it('never serves the endpoint through the registry host’s listener, which asks for no client certificate', async () => {
    // SNI registry.<tenant hostname> selects the server-TLS-only filter chain; :authority names the endpoint.
    const token = await serviceAccountToken('caller');
    for (const options of [{ token }, {}]) {
      const outcome = await call({ ...options, sni: `registry.${tenant}.${domain}` });
      expect(outcome.kind === 'answer' && outcome.status >= 400, JSON.stringify(outcome)).toBe(true);
    }
  });

  it('refuses a revoked certificate at the TLS handshake once the operator published the CRL', async () => {
    const carol = certificates['carol']!;
    expectServed(await call({ certificate: carol }));
    const revokedAt = Date.now();
    await ok(api('DELETE', `/tenants/${tenant}/certificates/${carol.serialNumber}`, adminToken), 200);
    await eventually(
      'the gateway to refuse the revoked certificate',
      { certificate: carol },
      (o) => o.kind === 'refused',
    );
    process.stderr.write(
      `[denials] revoked certificate refused after ${(Date.now() - revokedAt) / 1000} s\n`,
    );
    // The others of the tenant still pass.
    expectServed(await call({ certificate: certificates['alice'] }));
  });
});

describe('the same tenant with clientAuthentication certificateOrToken (TLS OPTIONAL_MUTUAL)', () => {
  let callerToken: string;
  let strangerToken: string;

  beforeAll(async () => {
    await ok(
      api('PATCH', `/tenants/${tenant}`, adminToken, { clientAuthentication: 'certificateOrToken' }),
      200,
    );
    callerToken = await serviceAccountToken('caller');
    strangerToken = await serviceAccountToken('stranger');
    await eventually('a token alone to be accepted', { token: callerToken }, served);
  });

  it('serves a bearer-only client whose ServiceAccount is granted the endpoint', async () => {
    expectServed(await call({ token: callerToken }));
  });

  it('still serves the allowed certificate and refuses the one not allowed', async () => {
    expectServed(await call({ certificate: certificates['alice'] }));
    expectRefusedByAuthorino(await call({ certificate: certificates['mallory'] }), 403);
  });

  it('refuses (Authorino, 401) a client with neither certificate nor token', async () => {
    expectRefusedByAuthorino(await call(), 401);
  });

  it('refuses (Authorino, 403) a ServiceAccount token that is not granted', async () => {
    expectRefusedByAuthorino(await call({ token: strangerToken }), 403);
  });

  it('refuses a token made for another audience', async () => {
    const token = await serviceAccountToken('caller', 'some-other-service');
    expectRefusedByAuthorino(await call({ token }), 401);
  });

  it('asks Authorino for a token caller whatever port :authority carries', async () => {
    for (const authority of [`${host}:8443`, `${host}:1`]) {
      expectRefusedByAuthorino(await call({ token: strangerToken, authority }), 403);
      expectRefusedByAuthorino(await call({ authority }), 401);
      expectServed(await call({ token: callerToken, authority }));
    }
  });

  it('serves any authenticated caller once the endpoint is granted to system:authenticated, and still no anonymous one', async () => {
    // A ServiceAccount no grant names and Authorino has not seen (so no cached refusal stands in the way).
    const passerby = await serviceAccountToken('passerby');
    await ok(
      api('POST', `/tenants/${tenant}/access`, adminToken, {
        role: 'endpointUsers',
        endpoint,
        subject: { kind: 'Group', name: 'system:authenticated' },
      }),
      201,
    );
    await eventually('the operator to bind system:authenticated', { token: passerby }, served, 60_000);
    expectRefusedByAuthorino(await call(), 401);
    expectRefusedByAuthorino(await call({ token: 'not-a-token' }), 401);
    // Certificate callers are the tenant's clients group anyway; the endpoint's subject list still applies.
    expectServed(await call({ certificate: certificates['alice'] }));
    expectRefusedByAuthorino(await call({ certificate: certificates['mallory'] }), 403);
    await ok(
      api(
        'DELETE',
        `/tenants/${tenant}/access/endpointUsers/Group/system:authenticated?endpoint=${endpoint}`,
        adminToken,
      ),
      200,
    );
  });

  it(`refuses a revoked grant within the decision cache's TTL`, async () => {
    expectServed(await call({ token: callerToken }));
    const revokedAt = Date.now();
    await ok(
      api(
        'DELETE',
        `/tenants/${tenant}/access/endpointUsers/ServiceAccount/caller?namespace=${callerNamespace}&endpoint=${endpoint}`,
        adminToken,
      ),
      200,
    );
    await eventually(
      'the revoked grant to be refused',
      { token: callerToken },
      (o) => o.kind === 'answer' && o.status === 403,
      (ttlSeconds + 30) * 1000,
    );
    const seconds = (Date.now() - revokedAt) / 1000;
    process.stderr.write(`[denials] revoked grant refused after ${seconds} s (cache TTL ${ttlSeconds} s)\n`);
    expect(seconds).toBeLessThanOrEqual(ttlSeconds + 10);
  });
});

describe('inside the mesh: the model Pod takes calls from the gateway only', () => {
  const script = (url: string) =>
    [
      'import urllib.error, urllib.request',
      'try:',
      `    response = urllib.request.urlopen('${url}', timeout=10)`,
      "    print('status', response.status)",
      'except urllib.error.HTTPError as error:',
      "    print('status', error.code, error.read().decode())",
      'except Exception as error:',
      "    print('error', type(error).__name__, error)",
    ].join('\n');
  const modelUrl = () =>
    `http://${tenant}--${endpoint}.${servingNamespace}.svc.cluster.local:8080${modelPath}`;

  it('refuses a meshed Pod of another identity (ALLOW policy: 403 from the model’s sidecar)', async () => {
    await apply(node, [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: meshNamespace, labels: { 'istio-injection': 'enabled' } },
      },
    ]);
    const output = await runPod(node, {
      namespace: meshNamespace,
      name: 'direct-meshed',
      image: node.images['debian']!,
      command: ['python3', '-c', script(modelUrl())],
    });
    expect(output).toMatch(/status 403 RBAC: access denied/);
  });

  it('refuses an unmeshed Pod (STRICT mutual TLS: the connection is reset)', async () => {
    const output = await runPod(node, {
      namespace: callerNamespace,
      name: 'direct-plain',
      image: node.images['debian']!,
      command: ['python3', '-c', script(modelUrl())],
    });
    expect(output).toMatch(/^error /m);
    expect(output).not.toMatch(/status 200/);
  });
});
