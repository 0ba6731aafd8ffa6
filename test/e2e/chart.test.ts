import { describe, beforeAll, expect, it } from 'vitest';
import {
  prepareRelease,
  runHelm,
  tenantmeshChart,
  tenantmeshRelease,
  type ReleaseTarget,
} from '../../src/localcluster/release.ts';
import { apply, currentNode, kubectl, releaseTarget, runPod, type NodeSummary } from './support.ts';

const chart = tenantmeshChart;
const { name: release, namespace, servingNamespace } = tenantmeshRelease;
let node: NodeSummary;
let target: ReleaseTarget;
let valuesFile: string;

const helm = (args: string[]) => runHelm(target, args);

const jsonpath = async (args: string[], expression: string) =>
  (await kubectl(node, ['get', ...args, '-o', `jsonpath=${expression}`])).trim();

beforeAll(async () => {
  node = await currentNode();
  target = await releaseTarget(node);
  // Namespaces, the storage Secret and MinIO; the tests below install the chart themselves.
  ({ valuesFile } = await prepareRelease(target));
  // Files share the node, in Vitest's order (longest or largest first), not by name: an earlier file may have
  // installed the release (installedTenantmesh), and this file proves a fresh `helm install`.
  await helm(['uninstall', release, '-n', namespace, '--ignore-not-found', '--wait', '--timeout', '2m']);
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
