/**
 * Operator benchmark: N tenants × M endpoints against a real apiserver (src/testenv). Every phase runs on a
 * fresh local platform, in one run:
 *  - objects only: the rendered objects server-side applied directly at the same concurrency (the old baseline);
 *  - fair baseline: every write the operator makes to converge, made directly in the operator's order and at
 *    its concurrency (custom resources, finalizers, the tenant's bucket and storage read credentials in the object
 *    store, CA Secrets, rendered objects, statuses);
 *  - the operator (in a child process, so its peak RSS is its own) converging with the custom resources created
 *    while it runs; then a no-op resync, one endpoint changed at a time while the other tenants sit idle, and
 *    a restart with everything present (time to idle, writes);
 *  - the operator starting on custom resources that already exist.
 * Reports both ratios, writes, reconciles and CPU seconds of every component per phase.
 * Usage: npm run bench:operator -- --tenants 200 --endpoints 5 --concurrency 16
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  caKeySecretName,
  commonLabels,
  endpointResourceName,
  platformConfig,
  type InferenceEndpoint,
  type PlatformConfig,
  type ServingRuntime,
  type Tenant,
} from '../src/domain/index.ts';
import { Informer, createKube, stripManagedFields, type Kube, type KubeObject } from '../src/kube/index.ts';
import type { Operator } from '../src/operator/controller.ts';
import { startOperator } from '../src/operator/main.ts';
import type { EnvironmentInfo, RunningEnvironment } from '../src/testenv/environment.ts';
import { cpuSeconds, residentBytes, settle } from './proc.ts';
import { storagePortFrom } from '../src/operator/ports.ts';
import {
  CLEANUP_FINALIZER,
  DEFAULT_STORAGE_CREDENTIAL_TTL_SECONDS,
  tenantOwnerReference,
  withOwner,
} from '../src/operator/reconciler.ts';
import { withDesiredHash } from '../src/operator/compare.ts';
import { createModelStore } from '../src/storage/store.ts';
import { createTenantCa, issueServingCertificate } from '../src/pki/index.ts';
import { renderPlatform, renderTenant, type TenantSecretMaterial } from '../src/render/index.ts';
import { parse } from 'yaml';

const { values } = parseArgs({
  options: {
    tenants: { type: 'string', default: '200' },
    endpoints: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    // Which phases to run: objects, fair (the baselines), live, restart (default all).
    phases: { type: 'string', default: 'objects,fair,live,restart' },
    // Endpoint changes timed one at a time while every other tenant is idle.
    changes: { type: 'string', default: '50' },
    // Runs the phases this many times in turn, each on a fresh platform, and prints every round's ratios and
    // their median: the machine's own variation between two runs of one phase is as large as the gap measured.
    rounds: { type: 'string', default: '1' },
    // How many Tenants and InferenceEndpoints the user creates at once in the live phase (default: --concurrency).
    'user-concurrency': { type: 'string' },
    child: { type: 'boolean', default: false },
  },
});

const GV = 'tenantmesh.io/v1alpha1';
const manager = 'tenantmesh-bench';

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

function runtime(): ServingRuntime {
  const text = readFileSync(
    new URL('../charts/tenantmesh/runtimes/tensorflow-serving.yaml', import.meta.url),
    'utf8',
  );
  return parse(text) as ServingRuntime;
}

function tenantObject(name: string): Tenant {
  return {
    apiVersion: GV,
    kind: 'Tenant',
    metadata: { name },
    spec: { users: [{ kind: 'Group', name: 'bench' }] },
  };
}

function endpointObject(t: string, e: number, namespace: string): InferenceEndpoint {
  return {
    apiVersion: GV,
    kind: 'InferenceEndpoint',
    metadata: { name: endpointResourceName(t, `e${e}`), namespace },
    spec: { tenant: t, model: { name: 'mnist', version: 'v1' }, runtime: 'tensorflow-serving' },
  };
}

/** The child: runs the operator and answers "resync" on stdin with the writes a no-op pass made. */
async function child(): Promise<void> {
  const running = await startOperator({
    kubeconfigPath: process.env['KUBECONFIG']!,
    platform: JSON.parse(process.env['BENCH_PLATFORM']!) as Record<string, never>,
    s3: JSON.parse(process.env['BENCH_S3']!) as never,
    workers: Number(process.env['BENCH_WORKERS']),
    leaderElection: false,
    probePort: 0,
  });
  process.stdout.write(`ready ${running.probeUrl}\n`);
  if (process.env['BENCH_TRACE']) traceEverySecond(running.operator);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'await-idle') {
      // Synced caches first: before its first list the operator has nothing queued and looks idle.
      while (!running.operator.isReady()) await new Promise((resolve) => setTimeout(resolve, 20));
      await running.operator.idle();
      process.stdout.write(`idle ${await running.operator.metrics.writeCount()}\n`);
    }
    if (line === 'resync-start') {
      // A full pass queued and left running: the background work a relist or a periodic resync makes.
      running.operator.resyncAll();
      process.stdout.write('resync-started\n');
    }
    if (line === 'resync') {
      await running.operator.idle();
      const before = await running.operator.metrics.writeCount();
      const byKindBefore = await countsByLabels(running.operator.metrics.writes);
      const passStart = performance.now();
      running.operator.resyncAll();
      await running.operator.idle();
      process.stdout.write(`resync-ms ${performance.now() - passStart}\n`);
      const byKindAfter = await countsByLabels(running.operator.metrics.writes);
      for (const [key, count] of byKindAfter) {
        const delta = count - (byKindBefore.get(key) ?? 0);
        if (delta > 0) process.stderr.write(`resync wrote ${delta} × ${key}\n`);
      }
      process.stdout.write(`resync-writes ${(await running.operator.metrics.writeCount()) - before}\n`);
    }
    if (line === 'writes') {
      const reconciles = await running.operator.metrics.reconcileTotal.get();
      const total = reconciles.values.reduce((sum, v) => sum + v.value, 0);
      process.stdout.write(`writes ${await running.operator.metrics.writeCount()} ${total}\n`);
      if (process.env['BENCH_EVENTS']) {
        for (const [key, count] of await countsByLabels(running.operator.metrics.events)) {
          process.stderr.write(`events ${key}: ${count}\n`);
        }
      }
    }
  }
  await running.stop();
  process.exit(0);
}

/**
 * BENCH_TRACE=1: every second the operator's queue depth, reconciles so far, the event loop's worst delay and
 * heap in use (stderr), to line up with the changes the benchmark times.
 */
function traceEverySecond(operator: Operator): void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  setInterval(() => {
    void (async () => {
      const depth = (await operator.metrics.queueDepth.get()).values[0]?.value ?? 0;
      const reconciles = (await operator.metrics.reconcileTotal.get()).values.reduce(
        (s, v) => s + v.value,
        0,
      );
      const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
      process.stderr.write(
        `trace ${new Date().toISOString()} queued ${depth} reconciles ${reconciles} ` +
          `loop-delay-max ${(delay.max / 1e6).toFixed(0)} ms heap ${heapMiB.toFixed(0)} MiB\n`,
      );
      delay.reset();
    })();
  }, 1000).unref();
}

/** A counter's values by its two labels, e.g. writes by operation and kind. */
async function countsByLabels(counter: {
  get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }>;
}) {
  const metric = await counter.get();
  return new Map(metric.values.map((v) => [Object.values(v.labels).map(String).join(' '), v.value]));
}

function lines(proc: ChildProcess): (prefix: string) => Promise<string> {
  const seen: string[] = [];
  const waiting: { prefix: string; resolve: (rest: string) => void }[] = [];
  const deliver = () => {
    for (const waiter of [...waiting]) {
      const index = seen.findIndex((line) => line.startsWith(waiter.prefix));
      if (index < 0) continue;
      const [line] = seen.splice(index, 1);
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(line!.slice(waiter.prefix.length).trim());
    }
  };
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    seen.push(line);
    deliver();
  });
  return (prefix) =>
    new Promise((resolve) => {
      waiting.push({ prefix, resolve });
      deliver();
    });
}

/**
 * Resolves once every tenant named `<prefix><i>` reports all its endpoints' hosts for its current generation.
 * Watches instead of polling, so measuring costs the apiserver next to nothing.
 */
function convergence(kube: Kube, prefix: string, tenants: number, endpoints: number) {
  const done = new Set<string>();
  let resolve!: () => void;
  const converged = new Promise<void>((r) => (resolve = r));
  const check = (tenant: Tenant & KubeObject) => {
    const name = tenant.metadata.name;
    if (!name.startsWith(prefix) || done.has(name)) return;
    if (
      tenant.status?.hosts?.length === endpoints &&
      tenant.status.observedGeneration === tenant.metadata.generation
    ) {
      done.add(name);
      if (done.size === tenants) resolve();
    }
  };
  const informer = new Informer<Tenant & KubeObject>(
    kube.listWatch<Tenant & KubeObject>(GV, 'Tenant'),
    { onAdd: check, onUpdate: (_old, tenant) => check(tenant) },
    { resyncIntervalMs: 0 },
  );
  informer.start();
  return {
    converged: converged.finally(() => informer.stop()),
  };
}

/**
 * BENCH_APISERVER_PROFILE=<dir>: Go CPU profiles of the apiserver covering the whole phase, in 30 s windows back
 * to back (`apiserver-<phase>-<n>.pprof`; pprof merges several: `go tool pprof -top -diff_base 'fair-*' live-*`).
 * `stop()` ends after the window under way and saves the apiserver's metrics (`apiserver-<phase>.metrics`) and its
 * allocations since it started (`apiserver-<phase>.allocs.pprof`; `-sample_index=alloc_space`).
 */
function profileApiserver(info: EnvironmentInfo, phase: string): { stop: () => Promise<void> } {
  const dir = process.env['BENCH_APISERVER_PROFILE'];
  if (!dir) return { stop: async () => undefined };
  mkdirSync(dir, { recursive: true });
  let stopped = false;
  const get = (route: string) =>
    new Promise<Buffer>((resolve, reject) => {
      https
        .get(
          new URL(route, info.apiserverUrl),
          { ca: info.caPem, headers: { authorization: `Bearer ${info.staticUsers['admin']!.token}` } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => resolve(Buffer.concat(chunks)));
          },
        )
        .on('error', reject);
    });
  const loop = (async () => {
    for (let n = 0; !stopped; n++) {
      writeFileSync(
        path.join(dir, `apiserver-${phase}-${n}.pprof`),
        await get('/debug/pprof/profile?seconds=30'),
      );
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      // Requests by verb and resource, to tell who asked what (`apiserver_request_total`).
      writeFileSync(path.join(dir, `apiserver-${phase}.metrics`), await get('/metrics'));
      // Every allocation since the apiserver started (each phase has its own): where the bytes came from.
      writeFileSync(path.join(dir, `apiserver-${phase}.allocs.pprof`), await get('/debug/pprof/allocs'));
    },
  };
}

/** The Tenant and InferenceEndpoints a user creates for `tenants` × `endpoints`. */
function customResources(
  prefix: string,
  tenants: number,
  endpoints: number,
  namespace: string,
): KubeObject[] {
  const objects: KubeObject[] = [];
  for (let i = 0; i < tenants; i++) {
    objects.push(tenantObject(`${prefix}${i}`) as unknown as KubeObject);
    for (let e = 0; e < endpoints; e++) {
      objects.push(endpointObject(`${prefix}${i}`, e, namespace) as unknown as KubeObject);
    }
  }
  return objects;
}

const MIB = 1024 * 1024;
const COMPONENTS = ['kube-apiserver', 'etcd', 'kube-controller-manager', 'authorino', 'minio'];

/** One phase's cluster: a fresh local platform with the default runtime installed. */
interface Phase {
  env: RunningEnvironment;
  kube: Kube;
  platform: PlatformConfig;
  /** Server-side applies `objects`, `concurrency` at a time (default: the phase's). */
  applyAll(objects: KubeObject[], concurrency?: number): Promise<void>;
  /** CPU seconds used so far by each component (and the operator child, given its pid). */
  cpuNow(operatorPid?: number): Record<string, number>;
}

function cpuSince(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, s]) => [name, s - (before[name] ?? 0)]));
}

/**
 * Runs `measure` on a cluster of its own, started fresh and quiet, so no phase inherits another's objects
 * (several apiserver costs grow with what exists, e.g. a Service's cluster IP allocation) or its aftermath.
 */
async function inFreshCluster<T>(concurrency: number, measure: (phase: Phase) => Promise<T>): Promise<T> {
  // Loaded here, not at the top: the operator child runs this same file, and testenv pulls in the Kubernetes
  // client library the operator itself no longer needs; a static import would bill its memory to the operator.
  const { startEnvironment } = await import('../src/testenv/environment.ts');
  const env = await startEnvironment({
    // Dex too: the apiserver trusts it as an issuer, so the environment always starts it.
    components: ['etcd', 'kubernetes', 'minio', 'authorino', 'istio-crds', 'dex'],
  });
  try {
    const kube = createKube({ kubeconfigPath: env.info.adminKubeconfigPath });
    const platform = platformConfig({
      servingNamespace: env.info.namespaces.serving,
      gatewayNamespace: env.info.namespaces.gateway,
    });
    await kube.applyObject(runtime() as unknown as KubeObject, { fieldManager: manager });
    const phase: Phase = {
      env,
      kube,
      platform,
      applyAll: (objects, atOnce = concurrency) =>
        pool(objects, atOnce, (object) => kube.applyObject(object, { fieldManager: manager })),
      cpuNow(operatorPid) {
        const usage = Object.fromEntries(COMPONENTS.map((c) => [c, cpuSeconds(env.supervisor.pid(c))]));
        const self = process.cpuUsage();
        usage['bench client'] = (self.user + self.system) / 1e6;
        usage['operator'] = operatorPid === undefined ? 0 : cpuSeconds(operatorPid);
        return usage;
      },
    };
    await settleCluster(phase);
    return await measure(phase);
  } finally {
    await env.stop();
  }
}

/** Waits until the cluster's components are idle (under 0.15 CPU seconds in a second), at most 120 s. */
async function settleCluster(phase: Phase): Promise<void> {
  if (!(await settle(() => COMPONENTS.map((c) => phase.env.supervisor.pid(c))))) {
    console.warn('the cluster did not settle within 120 s; measuring anyway');
  }
}

const CAPABILITIES = { istio: true, authorino: true, openshift: false };

/**
 * The key material the rendered Secrets carry. Real PEMs and credentials, not placeholders: the apiserver parses
 * every apply body, so a baseline with shorter Secrets than the operator's would be cheaper for that alone.
 */
async function benchMaterial(): Promise<{
  ca: { certPem: string; keyPem: string };
  secrets: TenantSecretMaterial;
}> {
  const now = new Date();
  const ca = await createTenantCa({ tenant: 'bench', now });
  const serving = await issueServingCertificate(ca, {
    hosts: ['*.bench.example.test'],
    validityDays: 90,
    now,
  });
  return {
    ca,
    secrets: {
      caCertificatePem: ca.certPem,
      servingCertificatePem: serving.certPem,
      servingPrivateKeyPem: serving.keyPem,
      storage: { accessKey: 'a', secretKey: 'b', sessionToken: 'c', expiresAt: '2030-01-01T00:00:00Z' },
    },
  };
}

/** The objects the operator renders for one of the benchmark's tenants. */
function renderedFor(
  t: string,
  endpoints: number,
  platform: PlatformConfig,
  secrets: TenantSecretMaterial,
): KubeObject[] {
  return renderTenant({
    tenant: tenantObject(t),
    endpoints: Array.from({ length: endpoints }, (_, e) => ({
      resource: endpointObject(t, e, platform.servingNamespace),
      modelVersion: 'v1',
    })),
    runtimes: [runtime()],
    platform,
    capabilities: CAPABILITIES,
    secrets,
  }) as unknown as KubeObject[];
}

/** The objects the operator renders for the benchmark's tenants. */
function renderedObjects(
  prefix: string,
  tenants: number,
  endpoints: number,
  platform: PlatformConfig,
  secrets: TenantSecretMaterial,
) {
  return Array.from({ length: tenants }, (_, i) =>
    renderedFor(`${prefix}${i}`, endpoints, platform, secrets),
  ).flat();
}

const condition = (type: string, status: string, reason: string) => ({
  type,
  status,
  reason,
  message: 'benchmark',
  lastTransitionTime: '2026-01-01T00:00:00Z',
  observedGeneration: 1,
});

/**
 * The fair baseline: every write the operator makes to converge, made directly, in its order and with its
 * parallelism: `concurrency` tenants at a time, each: the Tenant and its endpoints (the user's writes), the
 * finalizer, the CA Secret, the rendered objects (in parallel, as the reconciler applies them) and the
 * statuses; the platform objects once. Returns the writes made.
 */
async function applyAsTheOperatorWould(
  phase: Phase,
  prefix: string,
  tenants: number,
  endpoints: number,
  concurrency: number,
): Promise<number> {
  const { kube, platform } = phase;
  const namespace = platform.servingNamespace;
  const { ca, secrets } = await benchMaterial();
  // The operator's object-store calls too: each tenant's bucket and its serving Pods' read credentials.
  const store = storagePortFrom(createModelStore(phase.env.info.s3));
  let writes = 0;
  const write = async <T>(call: Promise<T>) => {
    const result = await call;
    writes++;
    return result;
  };
  for (const object of renderPlatform(platform, CAPABILITIES) as unknown as KubeObject[]) {
    await write(kube.applyObject(object, { fieldManager: manager, force: true }));
  }
  const names = Array.from({ length: tenants }, (_, i) => `${prefix}${i}`);
  await pool(names, concurrency, async (t) => {
    const tenant = await write(
      kube.applyObject(tenantObject(t) as unknown as KubeObject, { fieldManager: manager }),
    );
    const created = await Promise.all(
      Array.from({ length: endpoints }, (_, e) =>
        write(
          kube.applyObject(endpointObject(t, e, namespace) as unknown as KubeObject, {
            fieldManager: manager,
          }),
        ),
      ),
    );
    const endpointsByShortName = new Map(
      created.map((endpoint, e) => [`e${e}`, endpoint as unknown as InferenceEndpoint] as const),
    );
    await write(
      kube.patchMerge(GV, 'Tenant', t, undefined, {
        metadata: { resourceVersion: tenant.metadata.resourceVersion, finalizers: [CLEANUP_FINALIZER] },
      }),
    );
    await store.ensureBucket(t);
    const storage = await store.issueReadCredentials(t, DEFAULT_STORAGE_CREDENTIAL_TTL_SECONDS);
    await write(
      kube.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: caKeySecretName(t),
          namespace,
          labels: commonLabels('pki', t),
          ownerReferences: [tenantOwnerReference(tenant as unknown as Tenant)],
        },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': Buffer.from(ca.certPem).toString('base64'),
          'tls.key': Buffer.from(ca.keyPem).toString('base64'),
        },
      }),
    );
    await Promise.all(
      // As the operator sends them: owned by the Tenant or the endpoint, with the desired-state hash.
      renderedFor(t, endpoints, platform, { ...secrets, storage }).map((object) =>
        write(
          kube.applyObject(
            withDesiredHash(withOwner(object, tenant as unknown as Tenant, endpointsByShortName, namespace)),
            { fieldManager: manager, force: true },
          ),
        ),
      ),
    );
    const conditions = [
      condition('Ready', 'True', 'Reconciled'),
      condition('Progressing', 'False', 'Reconciled'),
      condition('Degraded', 'False', 'AsExpected'),
    ];
    await Promise.all(
      Array.from({ length: endpoints }, (_, e) =>
        write(
          kube.applyStatus(
            {
              apiVersion: GV,
              kind: 'InferenceEndpoint',
              metadata: { name: endpointResourceName(t, `e${e}`), namespace },
              status: {
                observedGeneration: 1,
                conditions,
                url: `e${e}.${t}.example.test`,
                readyReplicas: 0,
                servedModelVersion: 'v1',
                selector: `tenantmesh.io/tenant=${t},tenantmesh.io/endpoint=e${e}`,
              },
            },
            { fieldManager: manager, force: true },
          ),
        ),
      ),
    );
    await write(
      kube.applyStatus(
        {
          apiVersion: GV,
          kind: 'Tenant',
          metadata: { name: t },
          status: {
            observedGeneration: 1,
            conditions,
            bucket: `tenantmesh-${t}`,
            hosts: Array.from({ length: endpoints }, (_, e) => `e${e}.${t}.example.test`).sort(),
            caFingerprint: 'a'.repeat(64),
          },
        },
        { fieldManager: manager, force: true },
      ),
    );
  });
  return writes;
}

/** The heap flags the chart gives the operator (`operator.nodeOptions`), so RSS is measured as deployed. */
function chartNodeOptions(): string[] {
  const values = parse(
    readFileSync(new URL('../charts/tenantmesh/values.yaml', import.meta.url), 'utf8'),
  ) as { operator: { nodeOptions: string } };
  return values.operator.nodeOptions.split(/\s+/).filter(Boolean);
}

/** Starts the operator in a child process with the chart's heap settings, so its peak RSS is its own. */
function spawnOperator(phase: Phase, workers: number) {
  const heapFlags = chartNodeOptions();
  // BENCH_PROFILE=<dir> writes a CPU profile of the operator child there.
  const profile = process.env['BENCH_PROFILE']
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`]
    : [];
  const proc = spawn(
    process.execPath,
    [...heapFlags, ...profile, '--import', 'tsx', new URL(import.meta.url).pathname, '--child'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...process.env,
        KUBECONFIG: phase.env.info.adminKubeconfigPath,
        BENCH_PLATFORM: JSON.stringify({
          servingNamespace: phase.platform.servingNamespace,
          gatewayNamespace: phase.platform.gatewayNamespace,
        }),
        BENCH_S3: JSON.stringify(phase.env.info.s3),
        BENCH_WORKERS: String(workers),
      },
    },
  );
  return { proc, next: lines(proc) };
}

/** Reads the child's counters (and a no-op resync's writes), then lets it stop and exit. */
async function finishOperator({ proc, next }: ReturnType<typeof spawnOperator>, resync: boolean) {
  proc.stdin!.write('writes\n');
  const [writes, reconciles] = (await next('writes')).split(' ').map(Number);
  let resyncWrites: number | undefined;
  if (resync) {
    proc.stdin!.write('resync\n');
    resyncWrites = Number(await next('resync-writes'));
  }
  const rss = residentBytes(proc.pid!, 'peak') / MIB;
  // Closing stdin lets the child stop the operator and exit on its own (which also writes its profile).
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.stdin!.end();
  const stopTimer = setTimeout(() => proc.kill('SIGTERM'), 15_000);
  await exited;
  clearTimeout(stopTimer);
  return { writes: writes!, reconciles: reconciles!, resyncWrites, rss };
}

/**
 * Changes one endpoint at a time (replicas to `replicas`, a different tenant each time) while every other tenant
 * sits idle, or after `before` (e.g. starting a resync pass), and times each until its Deployment carries the
 * change (watched, not polled). Milliseconds, sorted: until the Deployment shows it, and of that the user's
 * own PATCH (the apiserver's share, for reference).
 */
async function timeEndpointChanges(
  phase: Phase,
  prefix: string,
  tenants: number,
  samples: number,
  { replicas, before }: { replicas: number; before?: () => Promise<void> },
) {
  const namespace = phase.platform.servingNamespace;
  const waiting = new Map<string, () => void>();
  const seenChange = (deployment: KubeObject) => {
    if ((deployment['spec'] as { replicas?: number } | undefined)?.replicas === replicas) {
      waiting.get(deployment.metadata.name)?.();
    }
  };
  const informer = new Informer<KubeObject>(
    phase.kube.listWatch('apps/v1', 'Deployment', { namespace }),
    { onAdd: seenChange, onUpdate: (_old, deployment) => seenChange(deployment) },
    { resyncIntervalMs: 0, transform: stripManagedFields },
  );
  informer.start();
  await informer.waitForSync();
  const latencies: number[] = [];
  const patches: number[] = [];
  try {
    for (let k = 0; k < Math.min(samples, tenants); k++) {
      const name = endpointResourceName(
        `${prefix}${Math.floor((k * tenants) / Math.min(samples, tenants))}`,
        'e0',
      );
      await before?.();
      let timer: NodeJS.Timeout | undefined;
      const applied = new Promise<boolean>((resolve) => {
        waiting.set(name, () => resolve(true));
        timer = setTimeout(() => resolve(false), 30_000);
      });
      const start = performance.now();
      await phase.kube.patchMerge(
        GV,
        'InferenceEndpoint',
        name,
        namespace,
        { spec: { replicas } },
        {
          fieldManager: manager,
        },
      );
      patches.push(performance.now() - start);
      const ok = await applied;
      clearTimeout(timer);
      waiting.delete(name);
      latencies.push(ok ? performance.now() - start : Number.POSITIVE_INFINITY);
      if (process.env['BENCH_TRACE']) {
        process.stderr.write(
          `change ${new Date().toISOString()} ${name} ${latencies.at(-1)!.toFixed(0)} ms\n`,
        );
      }
    }
  } finally {
    informer.stop();
  }
  const ascending = (values: number[]) => values.sort((a, b) => a - b);
  return { latencies: ascending(latencies), patches: ascending(patches) };
}

/** Quantile of ascending-sorted values. */
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;

async function main(): Promise<void> {
  if (values.child) return child();
  const tenants = Number(values.tenants);
  const endpoints = Number(values.endpoints);
  const concurrency = Number(values.concurrency);
  const wanted = new Set(values.phases.split(','));
  const started = performance.now();
  const log = (text: string) =>
    process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${text}\n`);

  type Column = {
    title: string;
    ms: number;
    cpu: Record<string, number>;
    writes: string;
    reconciles?: number;
    resyncWrites?: number;
    rss?: number;
  };
  const extra: string[] = [];
  /** One pass over the wanted phases; the live phase's further measurements (resync, changes, restart) run in the first only. */
  const runRound = async (round: number) => {
    const first = round === 0;
    // Profiles of later rounds carry the round in their names (`fair-r2`).
    const label = (phase: string) => (first ? phase : `${phase}-r${round + 1}`);
    const columns: Column[] = [];

    // Baseline 1: the rendered objects only, applied directly.
    let objectsOnly: Column | undefined;
    if (wanted.has('objects')) {
      log('phase: objects only');
      objectsOnly = await inFreshCluster(concurrency, async (phase) => {
        const objects = renderedObjects(
          'bench',
          tenants,
          endpoints,
          phase.platform,
          (await benchMaterial()).secrets,
        );
        const apiserverProfile = profileApiserver(phase.env.info, label('objects'));
        const cpuBefore = phase.cpuNow();
        const start = performance.now();
        await phase.applyAll(objects);
        const ms = performance.now() - start;
        const cpu = cpuSince(cpuBefore, phase.cpuNow());
        await apiserverProfile.stop();
        return { title: 'objects only (direct)', ms, cpu, writes: String(objects.length) };
      });
      columns.push(objectsOnly);
    }

    // Baseline 2 (fair): every write the operator makes, applied directly.
    let fair: Column | undefined;
    if (wanted.has('fair')) {
      log('phase: fair baseline');
      fair = await inFreshCluster(concurrency, async (phase) => {
        const apiserverProfile = profileApiserver(phase.env.info, label('fair'));
        const cpuBefore = phase.cpuNow();
        const start = performance.now();
        const writes = await applyAsTheOperatorWould(phase, 'bench', tenants, endpoints, concurrency);
        const ms = performance.now() - start;
        const cpu = cpuSince(cpuBefore, phase.cpuNow());
        await apiserverProfile.stop();
        return { title: 'every write (direct)', ms, cpu, writes: String(writes) };
      });
      columns.push(fair);
    }

    /**
     * Times `act` until every tenant has converged and reads the operator's writes and reconciles. `act` returns
     * the operator it started, or the one already `running`.
     */
    const measure = async (
      phase: Phase,
      phaseLabel: string,
      options: { running?: ReturnType<typeof spawnOperator> },
      act: () => Promise<ReturnType<typeof spawnOperator>>,
    ) => {
      const watch = convergence(phase.kube, 'bench', tenants, endpoints);
      const apiserverProfile = profileApiserver(phase.env.info, label(phaseLabel));
      const cpuBefore = phase.cpuNow(options.running?.proc.pid);
      const start = performance.now();
      const operator = await act();
      await watch.converged;
      const ms = performance.now() - start;
      const cpu = cpuSince(cpuBefore, phase.cpuNow(operator.proc.pid));
      await apiserverProfile.stop();
      return { operator, ms, cpu };
    };
    const userConcurrency = Number(values['user-concurrency'] ?? concurrency);
    const createCustomResources = (phase: Phase) =>
      phase.applyAll(
        customResources('bench', tenants, endpoints, phase.platform.servingNamespace),
        userConcurrency,
      );

    // Operator, end to end: the user creates the custom resources while the operator runs, and their writes
    // count against it. Then: a no-op resync, single endpoint changes, and a restart with everything present.
    if (wanted.has('live')) {
      log('phase: operator, CRs created live');
      const column = await inFreshCluster(concurrency, async (phase) => {
        const running = spawnOperator(phase, concurrency);
        await running.next('ready');
        const { operator, ms, cpu } = await measure(phase, 'live', { running }, async () => {
          await createCustomResources(phase);
          return running;
        });
        if (!first) {
          const counts = await finishOperator(operator, false);
          return {
            title: 'operator, CRs created live',
            ms,
            cpu,
            writes: `${counts.writes} + ${tenants * (endpoints + 1)} CRs`,
            reconciles: counts.reconciles,
            rss: counts.rss,
          };
        }
        log('converged; a no-op resync, then single endpoint changes');
        operator.proc.stdin!.write('writes\n');
        const [writes, reconciles] = (await operator.next('writes')).split(' ').map(Number);
        operator.proc.stdin!.write('resync\n');
        const resyncMs = Number(await operator.next('resync-ms'));
        const resyncWrites = Number(await operator.next('resync-writes'));
        extra.push(`a no-op resync of all ${tenants} tenants took ${(resyncMs / 1000).toFixed(1)} s`);
        const idle = await timeEndpointChanges(phase, 'bench', tenants, Number(values.changes), {
          replicas: 2,
        });
        const changes = idle.latencies;
        extra.push(
          `one endpoint changed while ${tenants - 1} tenants sit idle, until its Deployment shows it ` +
            `(${changes.length} changes): p50 ${quantile(changes, 0.5).toFixed(0)} ms, ` +
            `p99 ${quantile(changes, 0.99).toFixed(0)} ms, max ${changes.at(-1)!.toFixed(0)} ms ` +
            `(the user's PATCH alone: p50 ${quantile(idle.patches, 0.5).toFixed(0)} ms, ` +
            `p99 ${quantile(idle.patches, 0.99).toFixed(0)} ms)`,
        );
        // The same while a full pass over every tenant is queued (what a relist does every 10 minutes).
        const { latencies: duringResync } = await timeEndpointChanges(
          phase,
          'bench',
          tenants,
          Math.min(10, Number(values.changes)),
          {
            replicas: 3,
            before: async () => {
              operator.proc.stdin!.write('resync-start\n');
              await operator.next('resync-started');
            },
          },
        );
        extra.push(
          `one endpoint changed right after a resync of all ${tenants} tenants was queued ` +
            `(${duringResync.length} changes): p50 ${quantile(duringResync, 0.5).toFixed(0)} ms, ` +
            `max ${duringResync.at(-1)!.toFixed(0)} ms`,
        );
        const counts = await finishOperator(operator, false);
        log('restarting the operator with everything present');
        const restartStart = performance.now();
        const restarted = spawnOperator(phase, concurrency);
        restarted.proc.stdin!.write('await-idle\n');
        const idleWrites = Number(await restarted.next('idle'));
        const restartMs = performance.now() - restartStart;
        const afterRestart = await finishOperator(restarted, false);
        extra.push(
          `operator restart with everything present: idle after ${(restartMs / 1000).toFixed(1)} s ` +
            `(process start, cache sync and one reconcile of every tenant), ${idleWrites} writes, ` +
            `peak RSS ${afterRestart.rss.toFixed(0)} MiB`,
        );
        return {
          title: 'operator, CRs created live',
          ms,
          cpu,
          writes: `${writes} + ${tenants * (endpoints + 1)} CRs`,
          reconciles,
          resyncWrites,
          rss: counts.rss,
        };
      });
      columns.push(column);
    }

    // Operator alone: the custom resources exist (a fail-over, a bulk import); timed from the operator's start,
    // cache sync included, until every tenant has converged.
    if (wanted.has('restart')) {
      log('phase: operator, CRs present');
      const column = await inFreshCluster(concurrency, async (phase) => {
        await createCustomResources(phase);
        await settleCluster(phase);
        const { operator, ms, cpu } = await measure(phase, 'restart', {}, async () =>
          spawnOperator(phase, concurrency),
        );
        const counts = await finishOperator(operator, false);
        return {
          title: 'operator, CRs present',
          ms,
          cpu,
          writes: String(counts.writes),
          reconciles: counts.reconciles,
          rss: counts.rss,
        };
      });
      columns.push(column);
    }
    return { columns, objectsOnly, fair };
  };

  const results = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    if (Number(values.rounds) > 1) log(`round ${r + 1} of ${values.rounds}`);
    results.push(await runRound(r));
  }
  const { columns, objectsOnly, fair } = results[0]!;

  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  const ratios = (column: Column) => {
    if (column === fair || column === objectsOnly) {
      return column === objectsOnly || !objectsOnly
        ? ''
        : ` (${(column.ms / objectsOnly.ms).toFixed(2)}× objects)`;
    }
    const parts = [
      fair ? `${(column.ms / fair.ms).toFixed(2)}× fair` : '',
      objectsOnly ? `${(column.ms / objectsOnly.ms).toFixed(2)}× objects` : '',
    ].filter(Boolean);
    return parts.length > 0 ? ` (${parts.join(', ')})` : '';
  };
  const na = (value: number | undefined, digits = 0) => (value === undefined ? 'n/a' : value.toFixed(digits));
  const rows: string[][] = [
    ['tenants × endpoints', ...columns.map(() => `${tenants} × ${endpoints}`)],
    ['concurrency', ...columns.map(() => String(concurrency))],
    ['time to converge (s)', ...columns.map((c) => `${seconds(c.ms)}${ratios(c)}`)],
    ['writes to converge', ...columns.map((c) => c.writes)],
    ['reconciles to converge', ...columns.map((c) => na(c.reconciles))],
    ['writes in a no-op resync', ...columns.map((c) => na(c.resyncWrites))],
    ...[...COMPONENTS, 'operator', 'bench client'].map((name) => [
      `CPU s: ${name}`,
      ...columns.map((c) => (c.cpu[name] ?? 0).toFixed(1)),
    ]),
    ['operator peak RSS (MiB)', ...columns.map((c) => na(c.rss))],
  ];
  const width = [26, ...columns.map(() => 32)];
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join(' | ');
  console.log(row(['', ...columns.map(({ title }) => title)]));
  console.log(width.map((w) => '-'.repeat(w)).join('-+-'));
  for (const r of rows) console.log(row(r));
  for (const line of extra) console.log(line);
  if (results.length > 1) printRounds(results);
}

/**
 * Every round's times and ratios, then the median ratio of each operator phase over the rounds. Each phase's
 * apiserver and MinIO CPU is printed beside it: MinIO does the same work in every phase (a bucket and read
 * credentials per tenant), so its CPU moving between rounds shows the machine itself running slower or faster.
 */
function printRounds(
  results: { columns: { title: string; ms: number; cpu: Record<string, number> }[]; fair?: { ms: number } }[],
): void {
  const ratios = new Map<string, number[]>();
  results.forEach(({ columns, fair }, r) => {
    const cells = columns.map((column) => {
      const ratio = fair && column !== fair ? column.ms / fair.ms : undefined;
      if (ratio !== undefined) ratios.set(column.title, [...(ratios.get(column.title) ?? []), ratio]);
      const cpu = `CPU s apiserver ${(column.cpu['kube-apiserver'] ?? 0).toFixed(0)}, MinIO ${(column.cpu['minio'] ?? 0).toFixed(1)}`;
      return `${column.title} ${(column.ms / 1000).toFixed(1)} s${ratio ? ` (${ratio.toFixed(2)}× fair)` : ''} [${cpu}]`;
    });
    console.log(`round ${r + 1}: ${cells.join('; ')}`);
  });
  for (const [title, values] of ratios) {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length / 2;
    const median =
      sorted.length % 2 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
    console.log(`${title}: median ${median.toFixed(2)}× fair over ${sorted.length} rounds`);
  }
}

await main();
