import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketName, gatewayCredentialSecretName } from '../../src/domain/index.ts';
import { istioNamespace } from '../../src/localcluster/mesh.ts';
import { tenantmeshRelease } from '../../src/localcluster/release.ts';
import { assetPath, provisionAssets } from '../../src/testenv/provision.ts';
import { waitFor } from '../../src/testenv/wait.ts';
import {
  apply,
  currentNode,
  installedTenantmesh,
  kubectl,
  runPod,
  type InstalledTenantmesh,
  type NodeSummary,
} from './support.ts';

const run = promisify(execFile);
const flowScript = fileURLToPath(new URL('./registry_flow.py', import.meta.url));
/** The integration test's whole user flow (typed metadata, paging in every order, updates, archiving, misses). */
const fullUserFlow = fileURLToPath(new URL('../integration/registry/user_flow.py', import.meta.url));
const { servingNamespace } = tenantmeshRelease;
const clients = 'e2e-registry-clients';

/** Two tenants: A's registry is the one used; B's user and B's registry host prove the refusals. */
const tenants = {
  a: { name: 'e2e-reg-a', hostname: 'reg-a.e2e.test', admin: 'ann', user: 'alice' },
  b: { name: 'e2e-reg-b', hostname: 'reg-b.e2e.test', admin: 'bert', user: 'bob' },
} as const;
const registryHostOf = (tenant: { hostname: string }) => `registry.${tenant.hostname}`;
const uploaded = { model: 'uploaded', version: '7' };

let node: NodeSummary;
let tenantmesh: InstalledTenantmesh;
const tokens: Record<string, string> = {};
/** Each tenant's CA (PEM), which signs its gateway's serving certificate. */
const caOf: Record<string, string> = {};

const serviceAccount = (name: string) => ({ kind: 'ServiceAccount', name, namespace: clients });

async function callApi(method: string, route: string, token: string, body?: unknown, type?: string) {
  const response = await fetch(`${tenantmesh.apiUrl}${route}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': type ?? 'application/json' }),
    },
    ...(body === undefined ? {} : { body: type ? (body as Buffer) : JSON.stringify(body) }),
  });
  return { status: response.status, text: await response.text() };
}

/**
 * A request to the ingress gateway's HTTPS port (forwarded to 127.0.0.1) for `host`: SNI, the certificate check
 * and the Host header all name the registry host, as a client that resolved it would send them.
 */
function gatewayCall(host: string, ca: string, route: string, token?: string) {
  return new Promise<{ status: number; body: string; reason: string }>((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port: tenantmesh.gatewayPort,
        servername: host,
        ca,
        path: route,
        headers: { Host: host, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        timeout: 10_000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body,
            reason: String(response.headers['x-ext-auth-reason'] ?? ''),
          }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer from the gateway for ${host}`)));
    request.on('error', reject);
    request.end();
  });
}

const registeredModels = '/api/model_registry/v1/registered_models';

beforeAll(async () => {
  node = await currentNode();
  tenantmesh = await installedTenantmesh(node);
  const people = Object.values(tenants).flatMap((t) => [t.admin, t.user]);
  await apply(node, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: clients } },
    ...['platform-admin', ...people].map((name) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace: clients },
    })),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'e2e-registry-platform-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [serviceAccount('platform-admin')],
    },
  ]);
  for (const name of ['platform-admin', ...people]) {
    tokens[name] = (
      await kubectl(node, ['create', 'token', name, '-n', clients, '--audience', 'tenantmesh'])
    ).trim();
  }
  // The users' tokens for Pods in the cluster, kept out of their command lines.
  await apply(node, [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'registry-tokens', namespace: clients },
      stringData: Object.fromEntries(people.map((name) => [name, tokens[name]])),
    },
  ]);

  for (const tenant of Object.values(tenants)) {
    const created = await callApi('POST', '/v1/tenants', tokens['platform-admin']!, {
      name: tenant.name,
      hostname: tenant.hostname,
      admins: [serviceAccount(tenant.admin)],
      users: [serviceAccount(tenant.user)],
    });
    expect(created.status, created.text).toBe(201);
  }
  for (const tenant of Object.values(tenants)) {
    await kubectl(node, ['wait', '--for=condition=Ready', `tenant/${tenant.name}`, '--timeout=180s']);
    const pem = await kubectl(node, [
      'get',
      'secret',
      gatewayCredentialSecretName(tenant.name),
      '-n',
      istioNamespace,
      '-o',
      'jsonpath={.data.ca\\.crt}',
    ]);
    caOf[tenant.name] = Buffer.from(pem, 'base64').toString();
  }

  // A version published through the management API's upload path, with its format. The admin's RoleBinding may
  // reach the API's authorizer a moment after the tenant is Ready: 403/404 are retried (nothing was written).
  let upload = { status: 0, text: '' };
  await waitFor(
    async () => {
      upload = await callApi(
        'PUT',
        `/v1/tenants/${tenants.a.name}/models/${uploaded.model}/versions/${uploaded.version}/files/model.onnx?modelFormatName=onnx&modelFormatVersion=1`,
        tokens[tenants.a.admin]!,
        Buffer.from('weights'),
        'application/octet-stream',
      );
      return upload.status !== 403 && upload.status !== 404;
    },
    { description: 'the tenant admin’s upload to be authorized', timeoutMs: 60_000, intervalMs: 500 },
  );
  expect(upload.status, upload.text).toBe(201);

  // The gateway serves the registry host once istiod has pushed the tenant's Gateway and VirtualService,
  // Authorino has its AuthConfig and the RoleBinding reached the authorizer.
  let last = '';
  await waitFor(
    async () => {
      const answer = await gatewayCall(
        registryHostOf(tenants.a),
        caOf[tenants.a.name]!,
        registeredModels,
        tokens[tenants.a.user],
      );
      last = `${answer.status} ${answer.reason} ${answer.body.slice(0, 200)}`;
      return answer.status === 200;
    },
    { description: `the gateway to serve ${registryHostOf(tenants.a)}`, timeoutMs: 120_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last answer: ${last}`);
  });
}, 600_000);

afterAll(async () => {
  if (!tenantmesh) return;
  for (const tenant of Object.values(tenants)) {
    await callApi('DELETE', `/v1/tenants/${tenant.name}`, tokens['platform-admin'] ?? '').catch(
      () => undefined,
    );
  }
  for (const tenant of Object.values(tenants)) {
    await kubectl(node, ['wait', '--for=delete', `tenant/${tenant.name}`, '--timeout=120s']).catch(
      () => undefined,
    );
  }
  await kubectl(node, ['delete', 'clusterrolebinding', 'e2e-registry-platform-admin', '--ignore-not-found']);
  await kubectl(node, ['delete', 'namespace', clients, '--ignore-not-found', '--wait=false']);
}, 300_000);

interface FlowSummary {
  registered: string;
  listed: string[];
  uploaded: { uri: string; modelFormatName: string; modelFormatVersion: string; state: string };
}

const lastJsonLine = (output: string) => JSON.parse(output.trim().split('\n').pop()!) as FlowSummary;

describe('a tenant’s Kubeflow Model Registry on the node, with the upstream Python client', () => {
  it('serves the user flow at registry.<tenant hostname> through the Istio ingress gateway (TLS, bearer token, Authorino)', async () => {
    const python = assetPath(await provisionAssets(['model-registry-client']), 'model-registry-python');
    const caFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'registry-ca-')), 'ca.pem');
    writeFileSync(caFile, caOf[tenants.a.name]!);
    const host = registryHostOf(tenants.a);
    const { stdout } = await run(python, [flowScript], {
      env: {
        ...process.env,
        REGISTRY_URL: `https://${host}`,
        REGISTRY_PORT: '443',
        CONNECT_TO: `127.0.0.1:${tenantmesh.gatewayPort}`,
        REGISTRY_CA: caFile,
        REGISTRY_TOKEN: tokens[tenants.a.user]!,
        MODEL_NAME: 'via-gateway',
        UPLOADED_MODEL: uploaded.model,
        UPLOADED_VERSION: uploaded.version,
      },
      timeout: 120_000,
    }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `the Python flow through the gateway failed:\n${error.stderr ?? ''}\n${error.stdout ?? ''}`,
      );
    });
    const summary = lastJsonLine(stdout);
    expect(summary.registered).toBe('via-gateway');
    expect(summary.listed).toEqual(['uploaded', 'via-gateway']);
    expect(summary.uploaded).toEqual({
      uri: `s3://${bucketName(tenants.a.name)}/models/${uploaded.model}/${uploaded.version}/`,
      modelFormatName: 'onnx',
      modelFormatVersion: '1',
      state: 'LIVE',
    });
  }, 180_000);

  it('serves the integration test’s whole user flow through the gateway too (tenant B, its own user)', async () => {
    const python = assetPath(await provisionAssets(['model-registry-client']), 'model-registry-python');
    const caFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'registry-ca-')), 'ca.pem');
    writeFileSync(caFile, caOf[tenants.b.name]!);
    const { stdout } = await run(python, [fullUserFlow], {
      env: {
        ...process.env,
        REGISTRY_SCHEME: 'https',
        REGISTRY_HOST: registryHostOf(tenants.b),
        REGISTRY_PORT: '443',
        CONNECT_TO: `127.0.0.1:${tenantmesh.gatewayPort}`,
        REGISTRY_CA: caFile,
        REGISTRY_TOKEN: tokens[tenants.b.user]!,
        REGISTRY_BUCKET: bucketName(tenants.b.name),
      },
      timeout: 240_000,
    }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `the full user flow through the gateway failed:\n${error.stderr ?? ''}\n${error.stdout ?? ''}`,
      );
    });
    // fraud-detector and twelve more, listed in every order with pages of 5.
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ listed: 13 });
  }, 300_000);

  it('serves the same flow at <t>.<serving namespace>.svc to a Pod in the cluster (the client image on Debian’s Python)', async () => {
    const output = await runPod(node, {
      namespace: clients,
      name: 'registry-flow-in-cluster',
      image: node.images['model-registry-client']!,
      command: ['python3', '-c', readFileSync(flowScript, 'utf8')],
      env: [
        { name: 'REGISTRY_URL', value: `http://${tenants.a.name}.${servingNamespace}.svc` },
        { name: 'REGISTRY_PORT', value: '80' },
        {
          name: 'REGISTRY_TOKEN',
          valueFrom: { secretKeyRef: { name: 'registry-tokens', key: tenants.a.user } },
        },
        { name: 'MODEL_NAME', value: 'in-cluster' },
        { name: 'UPLOADED_MODEL', value: uploaded.model },
        { name: 'UPLOADED_VERSION', value: uploaded.version },
      ],
      timeoutMs: 120_000,
    });
    const summary = lastJsonLine(output);
    // What the first client registered through the gateway is here too: one registry, two ways in.
    expect(summary.listed).toEqual(['in-cluster', 'uploaded', 'via-gateway']);
    expect(summary.uploaded.uri).toBe(`s3://${bucketName(tenants.a.name)}/models/uploaded/7/`);
    expect(summary.uploaded.modelFormatName).toBe('onnx');
  }, 180_000);

  it('refuses at the gateway a token without rights on the tenant (403), no token (401), and another tenant’s registry host (403)', async () => {
    const a = registryHostOf(tenants.a);
    const b = registryHostOf(tenants.b);
    const otherTenantsUser = await gatewayCall(
      a,
      caOf[tenants.a.name]!,
      registeredModels,
      tokens[tenants.b.user],
    );
    expect(otherTenantsUser.status, otherTenantsUser.body).toBe(403);
    // Authorino's message (the API words its refusals differently): the gateway refused, before the API.
    expect(`${otherTenantsUser.reason} ${otherTenantsUser.body}`).toContain(
      `you may not use the model registry of tenant ${tenants.a.name}`,
    );

    const anonymous = await gatewayCall(a, caOf[tenants.a.name]!, registeredModels);
    expect(anonymous.status, anonymous.body).toBe(401);

    // Tenant A's user, allowed on A's registry a moment ago, asks B's registry host.
    const otherRegistry = await gatewayCall(
      b,
      caOf[tenants.b.name]!,
      registeredModels,
      tokens[tenants.a.user],
    );
    expect(otherRegistry.status, otherRegistry.body).toBe(403);
    expect(`${otherRegistry.reason} ${otherRegistry.body}`).toContain(
      `you may not use the model registry of tenant ${tenants.b.name}`,
    );
    // …while B's own user is served there.
    const own = await gatewayCall(b, caOf[tenants.b.name]!, registeredModels, tokens[tenants.b.user]);
    expect(own.status, own.body).toBe(200);
  }, 60_000);

  it('refuses another tenant’s user at the in-cluster Service name too (the API checks again)', async () => {
    const output = await runPod(node, {
      namespace: clients,
      name: 'registry-refused-in-cluster',
      image: node.images['model-registry-client']!,
      env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'registry-tokens', key: tenants.b.user } } }],
      command: [
        'python3',
        '-c',
        [
          'import os, urllib.error, urllib.request',
          `request = urllib.request.Request('http://${tenants.a.name}.${servingNamespace}.svc${registeredModels}',`,
          "    headers={'Authorization': 'Bearer ' + os.environ['TOKEN']})",
          'try:',
          "    print('status', urllib.request.urlopen(request, timeout=30).status)",
          'except urllib.error.HTTPError as error:',
          "    print('status', error.code)",
        ].join('\n'),
      ],
    });
    expect(output).toContain('status 403');
  }, 120_000);
});
