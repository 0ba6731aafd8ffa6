import path from 'node:path';
import { Client as MinioClient } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketName, endpointResourceName } from '../../src/domain/index.ts';
import { istioNamespace } from '../../src/localcluster/mesh.ts';
import { runHelm, tenantmeshRelease } from '../../src/localcluster/release.ts';
import { provisionAssets } from '../../src/testenv/provision.ts';
import { waitFor } from '../../src/testenv/wait.ts';
import { inferWithTritonClient } from '../support/kserve-grpc-client.ts';
import { trainSklearnModel, type TrainedModel } from '../support/sklearn-model.ts';
import {
  endpointHost,
  endpointPodSelectorText,
  inferThroughGateway,
  issueClientCertificate,
  removeServingUser,
  servingUser,
  waitForEndpointReady,
  waitForGatewayRoute,
  type ClientCertificate,
  type ServingUser,
} from './serving-support.ts';
import { clusterIp, currentNode, forward, kubectl, releaseTarget, type NodeSummary } from './support.ts';

/**
 * Serving for real, the way a user works: the chart's API and operator on the node, the `tenantmesh` CLI on this
 * host talking to the API and to the Istio ingress gateway through 127.0.0.1 forwards, a scikit-learn model this
 * test trains, served by MLServer (the image the node builds from PyPI) in a meshed Pod behind Authorino.
 */
const tenant = 'e2e-serve';
const endpoint = 'iris';
const userName = 'serving';
const { namespace, servingNamespace, storageSecret } = tenantmeshRelease;
const endpointObject = endpointResourceName(tenant, endpoint);
let node: NodeSummary;
let user: ServingUser;
let certificate: ClientCertificate;
let model: TrainedModel;
/** Version 2: the same features, every class learnt as the next one, so its answers differ. */
let modelV2: TrainedModel;
/** The endpoint's host, from its status URL (`<endpoint>.<tenant>.<domain>`). */
let host: string;
/** Whether this file installed the chart (and so removes it again). */
let installedHere = false;

const podSelector = () => endpointPodSelectorText(tenant, endpoint);
const infer = (rows: number[][]) => inferThroughGateway(user, host, certificate, endpoint, rows);

beforeAll(async () => {
  node = await currentNode();
  const releases = await runHelm(await releaseTarget(node), ['list', '-n', namespace, '-q']);
  installedHere = !releases.split('\n').includes(tenantmeshRelease.name);
  user = await servingUser(node, userName);
  // The third-party client's venv is provisioned here, so a cold cache does not count against a test's time.
  [model, modelV2] = await Promise.all([
    trainSklearnModel(path.join(user.work, 'iris-1.joblib')),
    trainSklearnModel(path.join(user.work, 'iris-2.joblib'), { rotateLabels: true }),
    provisionAssets(['kserve-client']),
  ]);
}, 600_000);

afterAll(async () => {
  if (!user) return;
  await removeServingUser(user, userName);
  // Leave the node as this file found it: a later file may install the chart with `helm install`.
  if (installedHere) {
    await runHelm(await releaseTarget(node), [
      'uninstall',
      tenantmeshRelease.name,
      '-n',
      namespace,
      '--wait',
      '--timeout',
      '2m',
    ]);
  }
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

/** The objects named after the tenant: in the serving, gateway and release namespaces, and cluster-wide. */
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
  for (const ns of [servingNamespace, istioNamespace, namespace]) {
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
    await user.cli('tenants', 'create', tenant);
    await kubectl(node, ['wait', '--for=condition=Ready', `tenant/${tenant}`, '--timeout=120s']);
    expect(await user.cli('models', 'upload', tenant, 'iris', '1', model.path)).toContain('published iris:1');
    await user.cli('endpoints', 'create', tenant, endpoint, '--model', 'iris:1', '--runtime', 'mlserver');
    await waitForEndpointReady(node, tenant, endpoint);
    const shown = JSON.parse(await user.cli('-o', 'json', 'endpoints', 'get', tenant, endpoint)) as {
      status: { servedModelVersion: string };
    };
    expect(shown.status.servedModelVersion).toBe('1');
    host = await endpointHost(user, tenant, endpoint);
    expect(host.startsWith(`${endpoint}.${tenant}.`)).toBe(true);

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
    certificate = await issueClientCertificate(user, tenant, 'scorer');
    await waitForGatewayRoute(user, host, certificate, endpoint);
    const result = await infer(model.inputs);
    expect(result.outputs).toHaveLength(1);
    expect(result.outputs[0]).toMatchObject({ name: 'predict', shape: [model.inputs.length, 1] });
    expect(result.outputs[0]!.data).toEqual(model.predictions);
  });

  it('answers a third-party KServe v2 gRPC client (NVIDIA’s tritonclient) through the gateway with the tenant’s certificate', async () => {
    const answer = await inferWithTritonClient(
      {
        address: `127.0.0.1:${user.installed.gatewayPort}`,
        authority: host,
        caFile: certificate.ca,
        certFile: certificate.cert,
        keyFile: certificate.key,
      },
      endpoint,
      model.inputs,
    );
    expect(answer.ready).toBe(true);
    expect(answer.outputs['predict']).toEqual(model.predictions.map((prediction) => [prediction]));
  });

  it('scales to 2 replicas, and both Pods answer requests that come through the gateway', async () => {
    await user.cli('endpoints', 'scale', tenant, endpoint, '--replicas', '2');
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
    // The gateway balances requests over both Pods; send until each has answered some. Every answer is checked
    // after the wait, so a wrong one fails the test instead of being retried.
    const answers: number[][] = [];
    const served = await waitFor(
      async () => {
        for (let i = 0; i < 4; i++) answers.push((await infer(model.inputs)).outputs[0]!.data);
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
    for (const answer of answers) expect(answer).toEqual(model.predictions);
  });

  it('publishes version 2 and switches the endpoint to it: the Pods roll over and the answers are version 2’s', async () => {
    expect(await user.cli('models', 'upload', tenant, 'iris', '2', modelV2.path)).toContain(
      'published iris:2',
    );
    const oldPods = (await servingPods()).map((pod) => pod.metadata.name);
    await user.cli('endpoints', 'update', tenant, endpoint, '--model', 'iris:2');
    await kubectl(node, [
      'wait',
      '--for=jsonpath={.status.servedModelVersion}=2',
      `inferenceendpoint/${endpointObject}`,
      '-n',
      servingNamespace,
      '--timeout=300s',
    ]);
    await waitForEndpointReady(node, tenant, endpoint);
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

    await waitForGatewayRoute(user, host, certificate, endpoint);
    const result = await infer(modelV2.inputs);
    expect(result.outputs[0]!.data).toEqual(modelV2.predictions);
    expect(modelV2.predictions).not.toEqual(model.predictions);
  });

  it('deletes the endpoint and then the tenant: Pods, Services, mesh objects, Secrets (the gateway’s too) and the bucket go', async () => {
    const owned = await tenantObjects();
    // What there is to remove: the serving stack, the tenant's mesh objects, its gateway credential.
    for (const kind of ['deployment.apps', 'service', 'virtualservice', 'authconfig', 'gateway']) {
      expect(owned.some((name) => name.includes(`/${kind}`))).toBe(true);
    }
    expect(owned.some((name) => name.startsWith(`${istioNamespace}/secret/`))).toBe(true);
    expect(await bucketExists()).toBe(true);

    await user.cli('endpoints', 'delete', tenant, endpoint);
    await waitFor(async () => (await servingPods()).length === 0, {
      description: `the Pods of ${endpointObject} to go`,
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    await user.cli('tenants', 'delete', tenant, '--purge', '--yes');
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
