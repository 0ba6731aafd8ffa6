import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client as MinioClient } from 'minio';
import { bucketName, endpointPodSelector, endpointResourceName } from '../../src/domain/index.ts';
import { waitFor } from '../../src/testenv/wait.ts';
import { inferWithTritonClient } from '../support/kserve-grpc-client.ts';
import { trainSklearnModel, type TrainedModel } from '../support/sklearn-model.ts';
import { runCli } from '../integration/cli/run-cli.ts';
import { tenantmeshRelease } from '../../src/localcluster/release.ts';
import {
  apply,
  clusterIp,
  currentNode,
  forward,
  installedTenantmesh,
  kubectl,
  type NodeSummary,
} from './support.ts';

/**
 * Serving for real, the way a user works: the chart's API and operator on the node, the `tenantmesh` CLI on this
 * host talking to the API and to the Istio ingress gateway through 127.0.0.1 forwards, a scikit-learn model this
 * test trains, served by MLServer (the image the node builds from PyPI) in a meshed Pod behind Authorino.
 */
const tenant = 'e2e-serve';
const endpoint = 'iris';
const { namespace, servingNamespace, storageSecret } = tenantmeshRelease;
const endpointObject = endpointResourceName(tenant, endpoint);
const clientNamespace = 'e2e-serving-client';
let node: NodeSummary;
let work: string;
let cliEnv: Record<string, string>;
let gatewayPort: number;
let model: TrainedModel;
/** Version 2: the same features, every class learnt as the next one, so its answers differ. */
let modelV2: TrainedModel;
/** The endpoint's host, from its status URL (`<endpoint>.<tenant>.<domain>`). */
let host: string;

/** Runs `tenantmesh …` as a user would, failing with what it printed when it exits non-zero. */
async function tenantmesh(...args: string[]): Promise<string> {
  const result = await runCli(args, cliEnv);
  if (result.code !== 0) {
    throw new Error(`tenantmesh ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/** What the endpoint, its Deployment and Pods say, for a failure message. */
async function servingState(): Promise<string> {
  const show = async (args: string[]) => {
    try {
      return await kubectl(node, args);
    } catch (error) {
      return String(error);
    }
  };
  return [
    await show(['get', 'inferenceendpoint', endpointObject, '-n', servingNamespace, '-o', 'yaml']),
    await show(['describe', 'pods', '-n', servingNamespace, '-l', podSelector()]),
  ].join('\n');
}

const podSelector = () =>
  Object.entries(endpointPodSelector(tenant, endpoint))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');

async function waitForEndpointReady(): Promise<void> {
  try {
    await kubectl(node, [
      'wait',
      '--for=condition=Ready',
      `inferenceendpoint/${endpointObject}`,
      '-n',
      servingNamespace,
      '--timeout=300s',
    ]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await servingState()}`, { cause: error });
  }
}

/** `tenantmesh infer` connection flags: the gateway's loopback forward, the endpoint's host, the tenant's certificate. */
function gatewayFlags(): string[] {
  const certs = path.join(work, 'certs');
  return [
    '--address',
    `127.0.0.1:${gatewayPort}`,
    '--authority',
    host,
    '--ca',
    path.join(certs, 'ca.crt'),
    '--cert',
    path.join(certs, 'scorer.crt'),
    '--key',
    path.join(certs, 'scorer.key'),
  ];
}

/** Waits until the gateway routes to the endpoint and the model says it is ready (`tenantmesh infer kserve ready`). */
async function waitForGatewayRoute(): Promise<void> {
  let last = '';
  try {
    await waitFor(
      async () => {
        const result = await runCli(
          ['infer', ...gatewayFlags(), 'kserve', 'ready', '--model', endpoint],
          cliEnv,
        );
        last = result.stderr + result.stdout;
        return result.code === 0;
      },
      {
        description: `the gateway to route ${endpoint}.${tenant} to a ready model`,
        timeoutMs: 90_000,
        intervalMs: 1_000,
      },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last answer: ${last}`, { cause: error });
  }
}

/** `tenantmesh infer … kserve infer` of iris rows (four FP64 features each) through the gateway. */
async function inferThroughGateway(inputs: number[][]): Promise<{
  model: string;
  outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
}> {
  const stdout = await tenantmesh(
    'infer',
    ...gatewayFlags(),
    'kserve',
    'infer',
    '--model',
    endpoint,
    '--input',
    JSON.stringify({ name: 'input-0', datatype: 'FP64', shape: [inputs.length, 4], data: inputs.flat() }),
  );
  return JSON.parse(stdout);
}

beforeAll(async () => {
  node = await currentNode();
  work = mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-e2e-serving-'));
  const [installed, v1, v2] = await Promise.all([
    installedTenantmesh(node),
    trainSklearnModel(path.join(work, 'iris-1.joblib')),
    trainSklearnModel(path.join(work, 'iris-2.joblib'), { rotateLabels: true }),
  ]);
  [model, modelV2] = [v1, v2];
  gatewayPort = installed.gatewayPort;
  // The user: a platform admin's ServiceAccount, whose token the API checks with a TokenReview.
  await apply(node, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: clientNamespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'admin', namespace: clientNamespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'e2e-serving-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'admin', namespace: clientNamespace }],
    },
  ]);
  const token = (
    await kubectl(node, [
      'create',
      'token',
      'admin',
      '-n',
      clientNamespace,
      '--audience',
      'tenantmesh',
      '--duration',
      '2h',
    ])
  ).trim();
  cliEnv = {
    TENANTMESH_CONFIG_DIR: path.join(work, 'config'),
    TENANTMESH_SERVER: installed.apiUrl,
    TENANTMESH_TOKEN: token,
  };
}, 600_000);

afterAll(async () => {
  if (!node) return;
  await kubectl(node, ['delete', 'namespace', clientNamespace, '--ignore-not-found', '--wait=false']);
  await kubectl(node, ['delete', 'clusterrolebinding', 'e2e-serving-admin', '--ignore-not-found']);
}, 180_000);

interface ServingPod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: {
    initContainers: { name: string; image: string; args?: string[] }[];
    containers: { name: string; image: string }[];
  };
  status: { initContainerStatuses?: { name: string; state: { terminated?: { exitCode: number } } }[] };
}

async function servingPods(): Promise<ServingPod[]> {
  const list = JSON.parse(
    await kubectl(node, ['get', 'pods', '-n', servingNamespace, '-l', podSelector(), '-o', 'json']),
  ) as { items: ServingPod[] };
  return list.items;
}

/** Successful inferences a serving Pod's MLServer counted (its Prometheus metrics, read inside the Pod). */
async function inferencesServedBy(pod: string): Promise<number> {
  const metrics = await kubectl(node, [
    'exec',
    pod,
    '-n',
    servingNamespace,
    '-c',
    'server',
    '--',
    'python3',
    '-c',
    "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8082/metrics', timeout=10).read().decode())",
  ]);
  return metrics
    .split('\n')
    .filter(
      (line) => line.startsWith('model_infer_request_success_total{') && line.includes(`model="${endpoint}"`),
    )
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

const pullerVersion = (pod: ServingPod) =>
  pod.spec.initContainers
    .find((c) => c.name === 'model-puller')
    ?.args?.find((arg) => arg.startsWith('--version='))
    ?.slice('--version='.length);

/** Names of the objects of `kinds` in `namespaces` (and cluster-wide ones) that belong to the tenant by name. */
async function tenantObjects(): Promise<string[]> {
  const namespaced = [
    'deployments',
    'replicasets',
    'pods',
    'services',
    'secrets',
    'configmaps',
    'serviceaccounts',
    'roles',
    'rolebindings',
    'gateways.networking.istio.io',
    'virtualservices.networking.istio.io',
    'destinationrules.networking.istio.io',
    'peerauthentications.security.istio.io',
    'authorizationpolicies.security.istio.io',
    'authconfigs.authorino.kuadrant.io',
    'inferenceendpoints.tenantmesh.io',
  ].join(',');
  const names: string[] = [];
  for (const ns of [servingNamespace, chartGatewayNamespace, namespace]) {
    for (const name of (await kubectl(node, ['get', namespaced, '-n', ns, '-o', 'name'])).split('\n')) {
      if (name.includes(tenant)) names.push(`${ns}/${name}`);
    }
  }
  for (const name of (
    await kubectl(node, ['get', 'clusterroles,clusterrolebindings,tenants.tenantmesh.io', '-o', 'name'])
  ).split('\n')) {
    if (name.includes(tenant)) names.push(name);
  }
  return names;
}
const chartGatewayNamespace = 'istio-system';

/** Whether the tenant's bucket exists, asked of MinIO itself with the platform's credentials. */
async function bucketExists(): Promise<boolean> {
  const secret = (key: string) =>
    kubectl(node, ['get', 'secret', storageSecret, '-n', namespace, '-o', `jsonpath={.data.${key}}`]).then(
      (b64) => Buffer.from(b64, 'base64').toString('utf8'),
    );
  const port = await forward('minio', await clusterIp(node, namespace, 'minio'), 9000);
  const client = new MinioClient({
    endPoint: '127.0.0.1',
    port,
    useSSL: false,
    accessKey: await secret('accessKey'),
    secretKey: await secret('secretKey'),
    region: 'us-east-1',
  });
  return client.bucketExists(bucketName(tenant));
}

describe('serving a model on the local node through the API, the CLI and the Istio gateway', () => {
  it('creates a tenant, publishes a trained scikit-learn model and serves it on MLServer: a real Pod with a sidecar, the model laid out by the puller', async () => {
    await tenantmesh('tenants', 'create', tenant);
    await kubectl(node, ['wait', '--for=condition=Ready', `tenant/${tenant}`, '--timeout=120s']);
    expect(await tenantmesh('models', 'upload', tenant, 'iris', '1', model.path)).toContain(
      'published iris:1',
    );
    await tenantmesh('endpoints', 'create', tenant, endpoint, '--model', 'iris:1', '--runtime', 'mlserver');
    await waitForEndpointReady();
    const shown = JSON.parse(await tenantmesh('-o', 'json', 'endpoints', 'get', tenant, endpoint)) as {
      status: { url: string; servedModelVersion: string };
    };
    host = new URL(shown.status.url).hostname;
    expect(host.startsWith(`${endpoint}.${tenant}.`)).toBe(true);
    expect(shown.status.servedModelVersion).toBe('1');

    const pods = await servingPods();
    expect(pods).toHaveLength(1);
    const pod = pods[0]!;
    expect(pod.spec.containers.map((c) => c.name)).toEqual(['server']);
    expect(pod.spec.containers[0]!.image).toBe(node.images['mlserver']);
    // Istio's native sidecar and the puller, which ran to completion.
    expect(pod.spec.initContainers.map((c) => c.name)).toEqual(
      expect.arrayContaining(['istio-proxy', 'model-puller']),
    );
    const puller = pod.status.initContainerStatuses?.find((s) => s.name === 'model-puller');
    expect(puller?.state.terminated?.exitCode).toBe(0);
    const settings = JSON.parse(
      await kubectl(node, [
        'exec',
        pod.metadata.name,
        '-n',
        servingNamespace,
        '-c',
        'server',
        '--',
        'cat',
        '/models/iris/model-settings.json',
      ]),
    ) as { name: string; implementation: string };
    expect(settings).toMatchObject({ name: 'iris', implementation: 'mlserver_sklearn.SKLearnModel' });
  });

  it('answers `tenantmesh infer` through the ingress gateway with a client certificate of the tenant: what scikit-learn predicts', async () => {
    await tenantmesh(
      'certificates',
      'issue',
      tenant,
      'scorer',
      '--generate-key',
      '--out-dir',
      path.join(work, 'certs'),
    );
    await waitForGatewayRoute();
    const result = await inferThroughGateway(model.inputs);
    expect(result.outputs).toHaveLength(1);
    expect(result.outputs[0]).toMatchObject({ name: 'predict', shape: [model.inputs.length, 1] });
    expect(result.outputs[0]!.data).toEqual(model.predictions);
  });

  it('answers a third-party KServe v2 gRPC client (NVIDIA’s tritonclient) through the gateway with the tenant’s certificate', async () => {
    const certs = path.join(work, 'certs');
    const answer = await inferWithTritonClient(
      {
        address: `127.0.0.1:${gatewayPort}`,
        authority: host,
        caFile: path.join(certs, 'ca.crt'),
        certFile: path.join(certs, 'scorer.crt'),
        keyFile: path.join(certs, 'scorer.key'),
      },
      endpoint,
      model.inputs,
    );
    expect(answer.ready).toBe(true);
    expect(answer.outputs['predict']).toEqual(model.predictions.map((prediction) => [prediction]));
  });

  it('scales to 2 replicas, and both Pods answer requests that come through the gateway', async () => {
    await tenantmesh('endpoints', 'scale', tenant, endpoint, '--replicas', '2');
    await kubectl(node, [
      'wait',
      '--for=jsonpath={.status.readyReplicas}=2',
      `inferenceendpoint/${endpointObject}`,
      '-n',
      servingNamespace,
      '--timeout=300s',
    ]);
    const pods = (await servingPods()).map((pod) => pod.metadata.name);
    expect(pods).toHaveLength(2);
    const before = await Promise.all(pods.map(inferencesServedBy));
    // The gateway balances requests over both Pods; send until each has answered some (every answer is right).
    const served = await waitFor(
      async () => {
        for (let i = 0; i < 4; i++) {
          expect((await inferThroughGateway(model.inputs)).outputs[0]!.data).toEqual(model.predictions);
        }
        const now = await Promise.all(pods.map(inferencesServedBy));
        return now.every((count, index) => count > before[index]!) ? now : false;
      },
      {
        description: 'both replicas to answer requests through the gateway',
        timeoutMs: 180_000,
        intervalMs: 0,
      },
    );
    expect(served).toHaveLength(2);
  });

  it('publishes version 2 and switches the endpoint to it: the Pods roll over and the answers are version 2’s', async () => {
    expect(await tenantmesh('models', 'upload', tenant, 'iris', '2', modelV2.path)).toContain(
      'published iris:2',
    );
    const oldPods = (await servingPods()).map((pod) => pod.metadata.name);
    await tenantmesh('endpoints', 'update', tenant, endpoint, '--model', 'iris:2');
    await kubectl(node, [
      'wait',
      '--for=jsonpath={.status.servedModelVersion}=2',
      `inferenceendpoint/${endpointObject}`,
      '-n',
      servingNamespace,
      '--timeout=300s',
    ]);
    await waitForEndpointReady();
    for (const pod of oldPods) {
      await kubectl(node, ['wait', '--for=delete', `pod/${pod}`, '-n', servingNamespace, '--timeout=180s']);
    }
    const deployment = JSON.parse(
      await kubectl(node, ['get', 'deployments', '-n', servingNamespace, '-l', podSelector(), '-o', 'json']),
    ) as {
      items: { metadata: { annotations: Record<string, string> }; status: { readyReplicas: number } }[];
    };
    expect(deployment.items).toHaveLength(1);
    expect(deployment.items[0]!.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
    const pods = await servingPods();
    expect(pods.map(pullerVersion)).toEqual(['2', '2']);

    await waitForGatewayRoute();
    const result = await inferThroughGateway(modelV2.inputs);
    expect(result.outputs[0]!.data).toEqual(modelV2.predictions);
    expect(modelV2.predictions).not.toEqual(model.predictions);
  });

  it('deletes the endpoint and then the tenant: Pods, Services, mesh objects, Secrets (the gateway’s too) and the bucket go', async () => {
    const owned = await tenantObjects();
    // What there is to remove: the serving stack, the tenant's mesh objects, its gateway credential.
    for (const kind of ['deployment.apps', 'service', 'virtualservice', 'authconfig', 'gateway']) {
      expect(owned.some((name) => name.includes(`/${kind}`))).toBe(true);
    }
    expect(owned.some((name) => name.startsWith(`${chartGatewayNamespace}/secret/`))).toBe(true);
    expect(await bucketExists()).toBe(true);

    await tenantmesh('endpoints', 'delete', tenant, endpoint);
    await waitFor(async () => (await servingPods()).length === 0, {
      description: `the Pods of ${endpointObject} to go`,
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    await tenantmesh('tenants', 'delete', tenant, '--purge', '--yes');
    await kubectl(node, ['wait', '--for=delete', `tenant/${tenant}`, '--timeout=180s']);
    await waitFor(async () => (await tenantObjects()).length === 0, {
      description: `every object of tenant ${tenant} to go`,
      timeoutMs: 120_000,
      intervalMs: 1_000,
    }).catch(async (error: unknown) => {
      throw new Error(`${(error as Error).message}: left ${(await tenantObjects()).join(', ')}`, {
        cause: error,
      });
    });
    expect(await bucketExists()).toBe(false);
  });
});
