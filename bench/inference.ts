/**
 * `npm run bench:inference`: what the data path costs. One scikit-learn model served by MLServer on the local
 * node, called with KServe v2 gRPC ModelInfer two ways in the same run:
 *
 * - through the platform: the Istio ingress gateway (mutual TLS with a tenant client certificate), Authorino's
 *   decision (a SubjectAccessReview, cached or not), the Pod's sidecar (mesh mTLS) to MLServer;
 * - directly: the same image, model and puller in a Pod without a sidecar, reached in plain text through a
 *   loopback forward (the baseline);
 * - through one sidecar: that copy again with the mesh's sidecar, in plain text, so one Envoy hop measured on
 *   this machine, the unit of the latency Istio publishes (calibration: the platform path's added latency is
 *   also printed in these hops).
 *
 * Last, what each part of the platform path adds (a decomposition the platform never runs as): the same path with
 * Authorino without its sidecar, reached in plain text, and then with no Authorino at all (the gateway and the
 * model's sidecar alone), each in turn with the direct path.
 *
 * Prints the throughput of each at saturation and their ratio, and p50/p90/p99 latency at fixed rates with the
 * added latency (direct and through the gateway measured in turn, in slices of about 2 s), with Authorino's decision cache on (the platform default, 30 s) and off (TTL 0), and with a new
 * connection (TLS handshake) per call at the lowest rate; and where the CPU of each saturated phase went (each Pod of
 * the node, from its cgroup, and the bench process). Numbers from a 2-core machine that also runs the whole
 * node are an upper bound of the cost; compare them side by side only.
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  EXT_AUTHZ_POLICY_NAME,
  authConfigName,
  endpointPodSelector,
  endpointResourceName,
} from '../src/domain/index.ts';
import { createInferClient, type InferClient } from '../src/infer/index.ts';
import type { KubeObject } from '../src/kube/index.ts';
import {
  authorinoDeployment,
  authorinoMeshTransport,
  authorinoNamespace,
  authorinoPodSelector,
} from '../src/localcluster/authorino.ts';
import { startLocalCluster, type RunningNode } from '../src/localcluster/index.ts';
import { waitForRollout } from '../src/localcluster/node.ts';
import { gatewayRelease, istioNamespace } from '../src/localcluster/mesh.ts';
import {
  demoAdminToken,
  installTenantmesh,
  runHelm,
  tenantmeshChart,
  tenantmeshRelease,
  type ReleaseTarget,
} from '../src/localcluster/release.ts';
import { assetPath, provisionAssets } from '../src/testenv/provision.ts';
import { waitFor } from '../src/testenv/wait.ts';
import { runCli } from '../test/integration/cli/run-cli.ts';
import { trainSklearnModel } from '../test/support/sklearn-model.ts';
import { fixedRate, interleavedFixedRate, saturate, type Call, type RateResult } from './load.ts';
import { cpuSince, podCpuSeconds } from './pod-cpu.ts';
import { loadAverages } from './proc.ts';

const { values: options } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '50,200' },
    concurrency: { type: 'string', default: '8' },
  },
});
const seconds = Number(options.seconds);
/** Fixed rates to measure latency at, calls per second (comma-separated). */
const rates = options.rate.split(',').map(Number);
const concurrency = Number(options.concurrency);

const tenant = 'bench';
const model = 'iris';
const { namespace, servingNamespace, apiService } = tenantmeshRelease;

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The calibration path: what one Envoy (a sidecar on the inbound, plain text) adds on this machine. */
const oneSidecar = 'direct through one sidecar';
/** The decomposition's paths (see the end of `run`): never how the platform runs. */
const authorinoWithoutSidecar = 'gateway, Authorino without its sidecar (plain text)';
const withoutAuthorino = 'gateway and model sidecar, no Authorino';

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-bench-inference-'));
  log(`[bench] logs and scratch files in ${work}`);
  const node = await startLocalCluster({ logDir: work, log, tenantmeshImage: true, lockWaitMs: 30 * 60_000 });
  try {
    await run(node, work);
  } finally {
    await node.stop();
  }
}

async function run(node: RunningNode, work: string): Promise<void> {
  const target: ReleaseTarget = {
    kubeconfig: node.info.adminKubeconfigPath,
    helm: assetPath(await provisionAssets(['helm']), 'helm'),
    images: Object.fromEntries(
      Object.entries(node.info.images).map(([role, image]) => [role, image.reference]),
    ),
    workDir: work,
  };
  const { valuesFile } = await installTenantmesh(target, log);
  const clusterIp = async (ns: string, name: string) =>
    (await node.kube.get<KubeObject & { spec: { clusterIP: string } }>('v1', 'Service', name, ns))!.spec
      .clusterIP;
  const apiPort = await node.forward(apiService, await clusterIp(namespace, apiService), 80);
  const gatewayPort = await node.forward(
    gatewayRelease,
    await clusterIp(istioNamespace, gatewayRelease),
    443,
  );
  const env = {
    TENANTMESH_CONFIG_DIR: path.join(work, 'cli'),
    TENANTMESH_SERVER: `http://127.0.0.1:${apiPort}`,
    TENANTMESH_TOKEN: await demoAdminToken(target, node.info.kubectl),
  };
  const cli = async (...args: string[]) => {
    const result = await runCli(args, env);
    if (result.code !== 0) throw new Error(`tenantmesh ${args.join(' ')}: ${result.stderr}${result.stdout}`);
    return result.stdout;
  };

  // The model, served through the platform the way a user sets it up.
  const trained = await trainSklearnModel(path.join(work, 'iris.joblib'));
  await cli('tenants', 'create', tenant);
  await waitForCondition(node, 'tenant', tenant, undefined);
  await cli('models', 'upload', tenant, model, '1', trained.path);
  await cli('endpoints', 'create', tenant, model, '--model', `${model}:1`, '--runtime', 'mlserver');
  await waitForCondition(node, 'inferenceendpoint', endpointResourceName(tenant, model), servingNamespace);
  const certificates = path.join(work, 'certs');
  await cli('certificates', 'issue', tenant, 'bench', '--generate-key', '--out-dir', certificates);
  const shown = JSON.parse(await cli('-o', 'json', 'endpoints', 'get', tenant, model)) as {
    status: { url: string };
  };
  const host = new URL(shown.status.url).hostname;
  const platformClientOptions = {
    address: `127.0.0.1:${gatewayPort}`,
    authority: host,
    tls: {
      caPem: readFileSync(path.join(certificates, 'ca.crt'), 'utf8'),
      certPem: readFileSync(path.join(certificates, 'bench.crt'), 'utf8'),
      keyPem: readFileSync(path.join(certificates, 'bench.key'), 'utf8'),
      serverName: host,
    },
  };
  const throughPlatform = createInferClient(platformClientOptions);

  // The baseline: the operator's own Deployment of the endpoint, copied without a sidecar and outside the
  // endpoint's Service, so only the gateway, Authorino and the sidecars are missing from its path.
  const directIp = await startCopy(node, 'bench-direct', { sidecar: false });
  const direct = createInferClient({
    address: `127.0.0.1:${await node.forward('bench-direct', directIp, 8081)}`,
  });
  // One Envoy hop on this machine, the unit Istio's published figure is in: the same copy behind its sidecar.
  const oneHopIp = await startCopy(node, 'bench-one-hop', { sidecar: true });
  const oneHop = createInferClient({
    address: `127.0.0.1:${await node.forward('bench-one-hop', oneHopIp, 8081)}`,
  });

  const row = trained.inputs[0]!;
  const infer =
    (client: InferClient): Call =>
    async () => {
      const answer = await client.kserve.modelInfer({
        model,
        inputs: [{ name: 'input-0', datatype: 'FP64', shape: [1, row.length], data: row }],
      });
      if (answer.outputs[0]?.data[0] !== trained.predictions[0]) throw new Error('wrong prediction');
    };
  await waitUntilAnswering(infer(throughPlatform), 'the gateway route');
  await waitUntilAnswering(infer(direct), 'the direct copy');
  await waitUntilAnswering(infer(oneHop), 'the copy behind one sidecar');

  const results: Record<string, Measured> = {};
  // Names for the Pods' UIDs, taken after each phase (the decomposition replaces Authorino's Pod); the numbers
  // print without them rather than not at all.
  const podNames = new Map<string, string>();
  const rememberPodNames = async () => {
    const pods = await node.kube
      .list<KubeObject & { metadata: { uid: string } }>('v1', 'Pod')
      .then((list) => list.items)
      .catch(() => []);
    for (const pod of pods) podNames.set(pod.metadata.uid, podLabel(pod));
  };
  /** Saturation with the CPU it cost, then, unless `fixedRates` is empty, the fixed rates one after the other. */
  const measure = async (name: string, call: Call, fixedRates = rates) => {
    log(`[bench] ${name}: measuring`);
    await saturate(call, concurrency, 3); // warm-up: connections, Authorino's cache, MLServer's first calls
    const podsBefore = podCpuSeconds();
    const benchBefore = process.cpuUsage();
    const saturated = await saturate(call, concurrency, seconds);
    const benchUsed = process.cpuUsage(benchBefore);
    const cpu = {
      pods: cpuSince(podsBefore, podCpuSeconds()),
      bench: (benchUsed.user + benchUsed.system) / 1e6,
      calls: saturated.throughput * seconds,
      load: loadAverages(),
    };
    const fixed: Record<number, RateResult> = {};
    for (const rate of fixedRates) fixed[rate] = await fixedRate(call, rate, seconds);
    results[name] = { saturated, fixed, cpu };
    await rememberPodNames();
    log(
      `[bench] ${name}: ${saturated.throughput.toFixed(0)} calls/s saturated, load average ${loadAverages()}`,
    );
  };
  const callDirect = infer(direct);
  const callGateway = infer(throughPlatform);
  const callOneHop = infer(oneHop);
  const slices = Math.max(1, Math.round(seconds / 2));
  await measure('direct', callDirect, []);
  await measure(oneSidecar, callOneHop, []);
  await measure('gateway, Authorino cache on', callGateway, []);
  // The added latency is a difference of two measurements: taken in turn, in slices of about two seconds, so
  // whatever else the machine does meanwhile falls on all alike.
  for (const rate of rates) {
    log(`[bench] direct, one sidecar and gateway in turn at ${rate} calls/s`);
    const inTurn = await interleavedFixedRate(
      { direct: callDirect, oneHop: callOneHop, gateway: callGateway },
      rate,
      seconds,
      slices,
    );
    results['direct']!.fixed[rate] = inTurn.direct;
    results[oneSidecar]!.fixed[rate] = inTurn.oneHop;
    results['gateway, Authorino cache on']!.fixed[rate] = inTurn.gateway;
  }
  /** Saturation, then the fixed rates in turn with the direct path, which this path's added latency is against. */
  const measureInTurnWithDirect = async (name: string, call: Call) => {
    await measure(name, call, []);
    const directInTurn: Record<number, RateResult> = {};
    for (const rate of rates) {
      log(`[bench] direct and ${name} in turn at ${rate} calls/s`);
      const inTurn = await interleavedFixedRate({ direct: callDirect, path: call }, rate, seconds, slices);
      results[name]!.fixed[rate] = inTurn.path;
      directInTurn[rate] = inTurn.direct;
    }
    results[name]!.directInTurn = directInTurn;
  };
  // Connection reuse: every call on a new client, so a new TCP connection and mTLS handshake to the gateway
  // (each client keeps its own connection); at the lowest rate only, since the handshakes cost the most CPU.
  await measure(
    'gateway, cache on, new connection per call',
    async () => {
      const client = createInferClient(platformClientOptions);
      try {
        await infer(client)();
      } finally {
        client.close();
      }
    },
    rates.slice(0, 1),
  );

  // Authorino's decision cache off: the platform's TTL 0 renders AuthConfigs without a cache.
  const upgradeRelease = async (...set: string[]) => {
    const flags = set.flatMap((value) => ['--set', value]);
    await runHelm(target, [
      'upgrade',
      tenantmeshRelease.name,
      tenantmeshChart,
      '-n',
      namespace,
      '--values',
      valuesFile,
      ...flags,
      '--wait',
    ]);
  };
  const untilAuthConfigCaches = (cached: boolean) =>
    waitFor(
      async () => {
        const config = await node.kube.get<KubeObject & { spec: { authorization: Record<string, object> } }>(
          'authorino.kuadrant.io/v1beta3',
          'AuthConfig',
          authConfigName(tenant),
          servingNamespace,
        );
        return config !== undefined && 'cache' in (config.spec.authorization['tenant-rbac'] ?? {}) === cached;
      },
      {
        description: `the AuthConfig re-rendered ${cached ? 'with' : 'without'} a cache`,
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
  await upgradeRelease('authorizationCacheTtlSeconds=0');
  await untilAuthConfigCaches(false);
  await waitUntilAnswering(callGateway, 'the gateway route after the change');
  await measure('gateway, Authorino cache off', callGateway);

  // What each part of the platform path adds, with the cache on again: first Authorino without its sidecar (the
  // gateway's Checks in plain text, which authorino/mesh-transport.yaml forbids the platform), then the gateway
  // and the model's sidecar alone (the platform-wide CUSTOM policy deleted, the operator stopped so it does not
  // restore it). Each beside the direct path in turn, as above. The node is discarded afterwards.
  await upgradeRelease();
  await untilAuthConfigCaches(true);
  const untilNoPods = (ns: string, labelSelector: string) =>
    waitFor(
      async () => (await node.kube.list('v1', 'Pod', { namespace: ns, labelSelector })).items.length === 0,
      {
        description: `no Pods ${labelSelector} in ${ns}`,
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
  await applyAsBench(node, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'tenantmesh-operator', namespace },
    spec: { replicas: 0 },
  });
  await untilNoPods(namespace, 'app.kubernetes.io/component=operator');
  // The shipped mesh transport undone: its PeerAuthentication deleted, its DestinationRule in plain text.
  for (const object of authorinoMeshTransport()) {
    if (object.kind === 'PeerAuthentication') {
      await node.kube.delete(object.apiVersion, object.kind, object.metadata.name, object.metadata.namespace);
    } else {
      await applyAsBench(node, {
        ...object,
        spec: { ...(object['spec'] as object), trafficPolicy: { tls: { mode: 'DISABLE' } } },
      });
    }
  }
  await applyAsBench(node, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: authorinoDeployment, namespace: authorinoNamespace },
    spec: { template: { metadata: { labels: { 'sidecar.istio.io/inject': 'false' } } } },
  });
  await waitForRollout(node.kube, authorinoNamespace, authorinoDeployment, 180_000);
  await waitUntilAnswering(callGateway, 'the gateway route with Authorino in plain text');
  await measureInTurnWithDirect(authorinoWithoutSidecar, callGateway);
  await node.kube.delete(
    'security.istio.io/v1',
    'AuthorizationPolicy',
    EXT_AUTHZ_POLICY_NAME,
    istioNamespace,
  );
  // Authorino stopped too: once calls are answered again, the gateway no longer asks it.
  await applyAsBench(node, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: authorinoDeployment, namespace: authorinoNamespace },
    spec: { replicas: 0 },
  });
  await untilNoPods(authorinoNamespace, authorinoPodSelector);
  await waitUntilAnswering(callGateway, 'the gateway route without the CUSTOM policy');
  await measureInTurnWithDirect(withoutAuthorino, callGateway);
  throughPlatform.close();
  direct.close();
  oneHop.close();
  print(results, podNames);
}

/** Server-side apply as the benchmark's own field manager, taking over fields another manager set. */
function applyAsBench(node: RunningNode, object: object): Promise<KubeObject> {
  return node.kube.applyObject(object as KubeObject, { fieldManager: 'tenantmesh-bench', force: true });
}

/** A Pod as `<namespace>/<name>` without the hashes a Deployment's Pod names carry. */
function podLabel(pod: KubeObject): string {
  const name = pod.metadata.name.replace(/(-[a-z0-9]{8,10})?-[a-z0-9]{5}$/, '');
  return `${pod.metadata.namespace}/${name}`;
}

interface Measured {
  saturated: RateResult;
  /** By fixed rate (calls per second). */
  fixed: Record<number, RateResult>;
  /** The direct path measured in turn with this one; without it, added latency is against the first figures. */
  directInTurn?: Record<number, RateResult>;
  /** CPU seconds during the saturated phase: per Pod (UID) of the node and the bench process itself. */
  cpu: { pods: Map<string, number>; bench: number; calls: number; load: string };
}

function print(results: Record<string, Measured>, podNames: Map<string, string>): void {
  const baseline = results['direct']!;
  const ms = (value: number) => value.toFixed(2);
  const lines = [
    '',
    `bench:inference — KServe v2 gRPC ModelInfer, one row of 4 FP64 features, scikit-learn on MLServer`,
    `saturation: ${concurrency} callers × ${seconds} s`,
    '',
    '| path | calls/s (saturated) | × direct |',
    '| --- | --- | --- |',
  ];
  for (const [name, { saturated }] of Object.entries(results)) {
    lines.push(
      `| ${name} | ${saturated.throughput.toFixed(0)} | ${(saturated.throughput / baseline.saturated.throughput).toFixed(2)} |`,
    );
  }
  lines.push(
    '',
    `fixed rate × ${seconds} s, latency from each call's due time (ms); direct and gateway with the cache on in turn,`,
    'in slices of about 2 s; the others after them, against the same direct figures',
    '',
    '| path | rate | p50 | p90 | p99 | added p50 | added p90 | added p99 | sent late p99 | errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const [name, { fixed, directInTurn }] of Object.entries(results)) {
    for (const rate of rates) {
      const at = fixed[rate];
      const base = (directInTurn ?? baseline.fixed)[rate]!;
      if (!at) continue;
      lines.push(
        `| ${name} | ${rate}/s | ${ms(at.p50)} | ${ms(at.p90)} | ${ms(at.p99)} | ${ms(at.p50 - base.p50)} | ` +
          `${ms(at.p90 - base.p90)} | ${ms(at.p99 - base.p99)} | ${ms(at.sentLateP99)} | ${at.errors} |`,
      );
    }
  }
  const nearSaturation = rates.filter((rate) => rate > 0.8 * baseline.saturated.throughput);
  if (nearSaturation.length > 0) {
    lines.push(
      '',
      `note: the direct path saturated at ${baseline.saturated.throughput.toFixed(0)} calls/s here, so at ` +
        `${nearSaturation.map((rate) => `${rate}/s`).join(', ')} every path queues: those latencies are the ` +
        "machine's limit, not a path's cost",
    );
  }
  const hop = results[oneSidecar];
  const platform = results['gateway, Authorino cache on'];
  if (hop && platform) {
    lines.push(
      '',
      "the platform path's added latency in units of one sidecar's on this machine (Istio publishes 2.65 ms at p90",
      'for one Envoy hop on its hardware; the machine here scales both):',
      '',
    );
    for (const rate of rates.filter((rate) => !nearSaturation.includes(rate))) {
      const base = baseline.fixed[rate];
      const [viaHop, viaPlatform] = [hop.fixed[rate], platform.fixed[rate]];
      if (!base || !viaHop || !viaPlatform) continue;
      // A hop that measured no added latency (within the noise) is no unit.
      const inHops = (key: 'p50' | 'p90') =>
        viaHop[key] - base[key] > 0.05
          ? ((viaPlatform[key] - base[key]) / (viaHop[key] - base[key])).toFixed(1)
          : 'n/a';
      lines.push(`- ${rate}/s: p50 ${inHops('p50')} hops, p90 ${inHops('p90')} hops`);
    }
  }
  lines.push(
    '',
    'CPU per call in the saturated phase, ms (Pods with all their containers, from their cgroups; the bench',
    "process is the client and the forwarder's host side); load average (1, 5, 15 min) at its end",
    '',
    '| path | load | CPU | ms per call |',
    '| --- | --- | --- | --- |',
  );
  for (const [name, { cpu }] of Object.entries(results)) {
    const perCall = (seconds: number) => ((seconds * 1000) / cpu.calls).toFixed(2);
    const pods = [...cpu.pods]
      .map(([uid, seconds]) => [podNames.get(uid) ?? uid, seconds] as const)
      .filter(([, seconds]) => (seconds * 1000) / cpu.calls >= 0.05)
      .sort((a, b) => b[1] - a[1]);
    const total = [...cpu.pods.values()].reduce((sum, seconds) => sum + seconds, 0);
    lines.push(`| ${name} | ${cpu.load} | all Pods of the node | ${perCall(total)} |`);
    for (const [pod, seconds] of pods) lines.push(`| ${name} | | ${pod} | ${perCall(seconds)} |`);
    lines.push(`| ${name} | | bench process | ${perCall(cpu.bench)} |`);
  }
  for (const [name, { saturated, fixed }] of Object.entries(results)) {
    const failures = Object.assign({}, saturated.failures, ...Object.values(fixed).map((r) => r.failures));
    if (Object.keys(failures).length > 0) lines.push(`failures of ${name}: ${JSON.stringify(failures)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * The endpoint's Deployment, copied with labels no Service or policy of the platform selects: `sidecar: false`
 * without a sidecar (the baseline), `sidecar: true` with the mesh's sidecar on the inbound only, reached in
 * plain text (a workload PeerAuthentication makes just this copy PERMISSIVE in the STRICT namespace) through a
 * Service of its own that names the port gRPC, as the endpoint's does. Resolves to the Ready Pod's IP.
 */
async function startCopy(node: RunningNode, name: string, options: { sidecar: boolean }): Promise<string> {
  const selector = endpointPodSelector(tenant, model);
  const deployments = await node.kube.list<
    KubeObject & { spec: { template: { metadata: { labels?: Record<string, string> } } } }
  >('apps/v1', 'Deployment', {
    namespace: servingNamespace,
    labelSelector: Object.entries(selector)
      .map(([key, value]) => `${key}=${value}`)
      .join(','),
  });
  const original = deployments.items[0];
  if (!original) throw new Error(`no Deployment of ${tenant}/${model}`);
  const labels = { app: name };
  const spec = structuredClone(original.spec) as Record<string, unknown> & {
    replicas?: number;
    selector: unknown;
    template: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } };
  };
  spec.replicas = 1;
  spec.selector = { matchLabels: labels };
  // Istio's injector decides by this label (the operator sets it `true` on the endpoint's Pods).
  spec.template.metadata = {
    labels: { ...labels, 'sidecar.istio.io/inject': String(options.sidecar) },
    annotations: spec.template.metadata.annotations ?? {},
  };
  if (options.sidecar) {
    await applyAsBench(node, {
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: { name, namespace: servingNamespace },
      spec: { selector: { matchLabels: labels }, mtls: { mode: 'PERMISSIVE' } },
    });
    await applyAsBench(node, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: servingNamespace },
      spec: {
        selector: labels,
        ports: [{ name: 'grpc', port: 8081, targetPort: 8081, appProtocol: 'grpc' }],
      },
    });
  }
  await applyAsBench(node, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: servingNamespace },
    spec,
  });
  let podIp = '';
  await waitFor(
    async () => {
      const pods = await node.kube.list<
        KubeObject & {
          status?: { podIP?: string; conditions?: { type: string; status: string }[] };
        }
      >('v1', 'Pod', { namespace: servingNamespace, labelSelector: `app=${name}` });
      const ready = pods.items.find((pod) =>
        pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      podIp = ready?.status?.podIP ?? '';
      return podIp !== '';
    },
    { description: `the copy ${name} of the model Pod Ready`, timeoutMs: 300_000, intervalMs: 1_000 },
  );
  return podIp;
}

async function waitForCondition(
  node: RunningNode,
  kind: 'tenant' | 'inferenceendpoint',
  name: string,
  ns: string | undefined,
): Promise<void> {
  const kindName = kind === 'tenant' ? 'Tenant' : 'InferenceEndpoint';
  await waitFor(
    async () => {
      const object = await node.kube.get<
        KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
      >('tenantmesh.io/v1alpha1', kindName, name, ns);
      return object?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    },
    { description: `${kindName} ${name} Ready`, timeoutMs: 300_000, intervalMs: 1_000 },
  );
}

async function waitUntilAnswering(call: Call, what: string): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      try {
        await call();
        return true;
      } catch (error) {
        last = (error as Error).message;
        return false;
      }
    },
    { description: `${what} to answer (last: ${last})`, timeoutMs: 120_000, intervalMs: 1_000 },
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
