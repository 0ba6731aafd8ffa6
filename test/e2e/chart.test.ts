import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderObjectStore } from '../../src/localcluster/object-store.ts';
import { assetPath, provisionAssets } from '../../src/testenv/provision.ts';
import { apply, currentNode, kubectl, runPod, type NodeSummary } from './support.ts';

const execFileAsync = promisify(execFile);
const chart = fileURLToPath(new URL('../../charts/tenantmesh', import.meta.url));
const release = 'tenantmesh';
const namespace = 'tenantmesh-system';
const servingNamespace = 'tenantmesh-serving';
const credentialsSecret = 'tenantmesh-storage';
let node: NodeSummary;
let helmPath: string;
let valuesFile: string;

async function helm(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(helmPath, [...args, '--kubeconfig', node.kubeconfig], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    throw new Error(`helm ${args.join(' ')}: ${(error as { stderr?: string }).stderr ?? String(error)}`, {
      cause: error,
    });
  }
}

const jsonpath = async (args: string[], expression: string) =>
  (await kubectl(node, ['get', ...args, '-o', `jsonpath=${expression}`])).trim();

beforeAll(async () => {
  node = await currentNode();
  helmPath = assetPath(await provisionAssets(['helm']), 'helm');
  const image = node.images['tenantmesh']!;
  const tagAt = image.lastIndexOf(':');
  // The gateway Istio's chart created on the node (release istio-ingressgateway in istio-system).
  valuesFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-chart-')), 'values.yaml');
  writeFileSync(
    valuesFile,
    stringify({
      image: { repository: image.slice(0, tagAt), tag: image.slice(tagAt + 1), pullPolicy: 'Never' },
      servingNamespace,
      gateway: {
        namespace: 'istio-system',
        serviceAccount: 'istio-ingressgateway',
        selector: { istio: 'ingressgateway' },
      },
      // No PostgreSQL on the node yet: without a database Secret the chart serves no model registry.
      registry: { databaseSecret: '' },
      operator: { replicas: 1 },
      api: { replicas: 1 },
    }),
  );
  await apply(node, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: servingNamespace } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: credentialsSecret, namespace },
      stringData: { accessKey: 'tenantmesh-e2e', secretKey: randomBytes(18).toString('base64url') },
    },
    ...renderObjectStore({ image: node.images['minio']!, namespace, credentialsSecret }),
  ]);
  await kubectl(node, ['rollout', 'status', 'deployment/minio', '-n', namespace, '--timeout=120s']);
});

describe('the tenantmesh chart on the local node', () => {
  it('passes helm lint', async () => {
    expect(await helm(['lint', chart, '--values', valuesFile])).toMatch(/0 chart\(s\) failed/);
  });

  it('installs with helm install: the operator and the API run under the chart’s RBAC and become Ready', async () => {
    await helm([
      'install',
      release,
      chart,
      '-n',
      namespace,
      '--values',
      valuesFile,
      '--wait',
      '--timeout',
      '4m',
    ]);
    for (const deployment of ['tenantmesh-operator', 'tenantmesh-api']) {
      expect(await jsonpath(['deployment', deployment, '-n', namespace], '{.status.availableReplicas}')).toBe(
        '1',
      );
      expect(
        await jsonpath(
          ['deployment', deployment, '-n', namespace],
          '{.spec.template.spec.serviceAccountName}',
        ),
      ).toBe(deployment);
    }
    expect((await jsonpath(['servingruntimes'], '{.items[*].metadata.name}')).split(' ').sort()).toEqual([
      'mlserver',
      'openvino-model-server',
      'tensorflow-serving',
      'triton',
    ]);
  });

  it('renders objects the apiserver accepts (helm template | kubectl apply --dry-run=server)', async () => {
    const rendered = await helm(['template', release, chart, '-n', namespace, '--values', valuesFile]);
    const output = await kubectl(
      node,
      ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', '-'],
      rendered,
    );
    expect(output).toMatch(/deployment.apps\/tenantmesh-api .*\(server dry run\)/);
  });

  it('applies a changed value with helm upgrade: the configuration file changes and the Pods restart on it', async () => {
    const configOf = async () =>
      JSON.parse(
        await jsonpath(['configmap', 'tenantmesh-config', '-n', namespace], '{.data.config\\.json}'),
      ) as {
        domain: string;
      };
    const podsBefore = await jsonpath(
      ['pods', '-n', namespace, '-l', 'app.kubernetes.io/name=tenantmesh'],
      '{.items[*].metadata.name}',
    );
    await helm([
      'upgrade',
      release,
      chart,
      '-n',
      namespace,
      '--values',
      valuesFile,
      '--set',
      'domain=models.e2e.test',
      '--wait',
      '--timeout',
      '4m',
    ]);
    expect((await configOf()).domain).toBe('models.e2e.test');
    await kubectl(node, [
      'rollout',
      'status',
      'deployment/tenantmesh-api',
      '-n',
      namespace,
      '--timeout=120s',
    ]);
    await kubectl(node, [
      'rollout',
      'status',
      'deployment/tenantmesh-operator',
      '-n',
      namespace,
      '--timeout=120s',
    ]);
    // The Pods from before the upgrade go (a terminating Pod still reports phase Running, so wait for it).
    for (const pod of podsBefore.split(' ')) {
      await kubectl(node, ['wait', '--for=delete', `pod/${pod}`, '-n', namespace, '--timeout=120s']);
    }
  });

  it('does its job under the chart’s RBAC: a tenant created through the API is reconciled, and deleting it removes its endpoints', async () => {
    const tenant = 'e2e-acme';
    const clientNamespace = 'e2e-chart-client';
    // The caller: a cluster admin's ServiceAccount, authenticated by the API through a TokenReview of its token.
    await apply(node, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: clientNamespace } },
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'e2e-admin', namespace: clientNamespace },
      },
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'e2e-nobody', namespace: clientNamespace },
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'e2e-admin' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'e2e-admin', namespace: clientNamespace }],
      },
    ]);
    const tokenOf = async (serviceAccount: string) =>
      (
        await kubectl(node, [
          'create',
          'token',
          serviceAccount,
          '-n',
          clientNamespace,
          '--audience',
          'tenantmesh',
        ])
      ).trim();
    await apply(node, [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'e2e-tokens', namespace: clientNamespace },
        stringData: { admin: await tokenOf('e2e-admin'), nobody: await tokenOf('e2e-nobody') },
      },
    ]);
    const callApi = (name: string, method: string, route: string, body?: unknown, caller = 'admin') =>
      runPod(node, {
        namespace: clientNamespace,
        name,
        image: node.images['debian']!,
        env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'e2e-tokens', key: caller } } }],
        command: [
          'python3',
          '-c',
          [
            'import json, os, urllib.error, urllib.request',
            `request = urllib.request.Request('http://tenantmesh-api.${namespace}/v1${route}', method='${method}',`,
            `    data=${body === undefined ? 'None' : `json.dumps(${JSON.stringify(body)}).encode()`},`,
            "    headers={'Authorization': 'Bearer ' + os.environ['TOKEN'], 'Content-Type': 'application/json'})",
            'try:',
            '    response = urllib.request.urlopen(request, timeout=30)',
            "    print('status', response.status)",
            'except urllib.error.HTTPError as error:',
            "    print('status', error.code, error.read().decode())",
          ].join('\n'),
        ],
      });

    // A caller the cluster grants nothing is refused; the admin is not.
    expect(await callApi('create-tenant-refused', 'POST', '/tenants', { name: tenant }, 'nobody')).toContain(
      'status 403',
    );
    expect(await callApi('create-tenant', 'POST', '/tenants', { name: tenant })).toContain('status 201');
    await kubectl(node, ['wait', '--for=condition=Ready', `tenant/${tenant}`, '--timeout=120s']);
    // An endpoint the operator must delete itself when the tenant goes (its finalizer, under its ClusterRole).
    await apply(node, [
      {
        apiVersion: 'tenantmesh.io/v1alpha1',
        kind: 'InferenceEndpoint',
        metadata: { name: `${tenant}--web`, namespace: servingNamespace },
        spec: { tenant, model: { name: 'iris' }, runtime: 'mlserver' },
      },
    ]);
    expect(await callApi('delete-tenant', 'DELETE', `/tenants/${tenant}`)).toContain('status 202');
    await kubectl(node, ['wait', '--for=delete', `tenant/${tenant}`, '--timeout=120s']);
    expect(
      await jsonpath(['inferenceendpoints', '-n', servingNamespace], '{.items[*].metadata.name}'),
    ).not.toContain(tenant);
  });

  it('removes what it installed with helm uninstall', async () => {
    await helm(['uninstall', release, '-n', namespace, '--wait', '--timeout', '2m']);
    expect(
      await jsonpath(['deployments', '-n', namespace, '-l', 'app.kubernetes.io/name=tenantmesh'], '{.items}'),
    ).toBe('[]');
    expect(await kubectl(node, ['get', 'clusterroles', '-o', 'name'])).not.toMatch(
      /tenantmesh-(api|operator)\b/,
    );
  });
});
