/**
 * Operator benchmark: N tenants × M endpoints against a real apiserver (src/testenv). Reports, side by side, a
 * baseline that server-side-applies the same rendered objects directly at the same concurrency, and the
 * operator (in a child process, so its peak RSS is its own) converging the same state twice: end to end, with
 * the custom resources created while it runs (their writes count against it), and alone, starting on custom
 * resources that already exist. Also: reconciles, writes, the writes of a no-op resync, and the CPU seconds of
 * every component per phase, so a difference can be traced to who spent it.
 * Usage: npm run bench:operator -- --tenants 200 --endpoints 5 --concurrency 16
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  platformConfig,
  type InferenceEndpoint,
  type PlatformConfig,
  type ServingRuntime,
  type Tenant,
} from '../src/domain/index.ts';
import { Informer, createKube, type Kube, type KubeObject } from '../src/kube/index.ts';
import { startOperator } from '../src/operator/main.ts';
import type { EnvironmentInfo, RunningEnvironment } from '../src/testenv/environment.ts';
import { renderTenant } from '../src/render/index.ts';
import { parse } from 'yaml';

const { values } = parseArgs({
  options: {
    tenants: { type: 'string', default: '200' },
    endpoints: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    // Which operator phases to run besides the baseline: live, restart (default both).
    phases: { type: 'string', default: 'live,restart' },
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
    metadata: { name: `${t}-e${e}`, namespace },
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
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'resync') {
      await running.operator.idle();
      const before = await running.operator.metrics.writeCount();
      const byKindBefore = await countsByLabels(running.operator.metrics.writes);
      running.operator.resyncAll();
      await running.operator.idle();
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

/** A counter's values by its two labels, e.g. writes by operation and kind. */
async function countsByLabels(counter: {
  get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }>;
}) {
  const metric = await counter.get();
  return new Map(metric.values.map((v) => [Object.values(v.labels).map(String).join(' '), v.value]));
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kib / 1024;
}

/** User plus system CPU seconds a process has used so far (0 once it is gone). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
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
 * BENCH_APISERVER_PROFILE=<dir>: a 30 s Go CPU profile of the apiserver from the start of each phase, to see
 * where the time goes (`go tool pprof -top -diff_base <baseline> <phase>`).
 */
async function profileApiserver(info: EnvironmentInfo, phase: string): Promise<void> {
  const dir = process.env['BENCH_APISERVER_PROFILE'];
  if (!dir) return;
  const response = await new Promise<Buffer>((resolve, reject) => {
    https
      .get(
        new URL('/debug/pprof/profile?seconds=30', info.apiserverUrl),
        { ca: info.caPem, headers: { authorization: `Bearer ${info.staticUsers['admin']!.token}` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        },
      )
      .on('error', reject);
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `apiserver-${phase}.pprof`), response);
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

const COMPONENTS = ['kube-apiserver', 'etcd', 'kube-controller-manager', 'authorino'];

/** One phase's cluster: a fresh local platform with the default runtime installed. */
interface Phase {
  env: RunningEnvironment;
  kube: Kube;
  platform: PlatformConfig;
  applyAll(objects: KubeObject[]): Promise<void>;
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
    components: ['etcd', 'kubernetes', 'minio', 'authorino', 'istio-crds'],
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
      applyAll: (objects) =>
        pool(objects, concurrency, (object) => kube.applyObject(object, { fieldManager: manager })),
      cpuNow(operatorPid) {
        const usage = Object.fromEntries(COMPONENTS.map((c) => [c, cpuSeconds(env.supervisor.pid(c))]));
        const self = process.cpuUsage();
        usage['bench client'] = (self.user + self.system) / 1e6;
        usage['operator'] = operatorPid === undefined ? 0 : cpuSeconds(operatorPid);
        return usage;
      },
    };
    await settle(phase);
    return await measure(phase);
  } finally {
    await env.stop();
  }
}

/** Waits until the cluster's components are idle (under 0.15 CPU seconds in a second), at most 120 s. */
async function settle(phase: Phase): Promise<void> {
  const deadline = performance.now() + 120_000;
  let last = phase.cpuNow();
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const now = phase.cpuNow();
    const used = COMPONENTS.reduce((sum, name) => sum + now[name]! - last[name]!, 0);
    if (used < 0.15) return;
    last = now;
  }
  console.warn('the cluster did not settle within 120 s; measuring anyway');
}

/** The objects the operator renders for the benchmark's tenants, with placeholder key material. */
function renderedObjects(prefix: string, tenants: number, endpoints: number, platform: PlatformConfig) {
  const objects: KubeObject[] = [];
  for (let i = 0; i < tenants; i++) {
    const t = `${prefix}${i}`;
    objects.push(
      ...(renderTenant({
        tenant: tenantObject(t),
        endpoints: Array.from({ length: endpoints }, (_, e) => ({
          resource: endpointObject(t, e, platform.servingNamespace),
          modelVersion: 'v1',
        })),
        runtimes: [runtime()],
        platform,
        capabilities: { istio: true, authorino: true, openshift: false },
        secrets: {
          caCertificatePem: 'ca',
          servingCertificatePem: 'cert',
          servingPrivateKeyPem: 'key',
          storage: { accessKey: 'a', secretKey: 'b', sessionToken: 'c', expiresAt: '2030-01-01T00:00:00Z' },
        },
      }) as unknown as KubeObject[]),
    );
  }
  return objects;
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
  const rss = peakRssMiB(proc.pid!);
  // Closing stdin lets the child stop the operator and exit on its own (which also writes its profile).
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.stdin!.end();
  const stopTimer = setTimeout(() => proc.kill('SIGTERM'), 15_000);
  await exited;
  clearTimeout(stopTimer);
  return { writes: writes!, reconciles: reconciles!, resyncWrites, rss };
}

async function main(): Promise<void> {
  if (values.child) return child();
  const tenants = Number(values.tenants);
  const endpoints = Number(values.endpoints);
  const concurrency = Number(values.concurrency);

  // Baseline: the same rendered objects, applied directly.
  const baseline = await inFreshCluster(concurrency, async (phase) => {
    const objects = renderedObjects('bench', tenants, endpoints, phase.platform);
    const apiserverProfile = profileApiserver(phase.env.info, 'baseline');
    const cpuBefore = phase.cpuNow();
    const start = performance.now();
    await phase.applyAll(objects);
    const ms = performance.now() - start;
    const cpu = cpuSince(cpuBefore, phase.cpuNow());
    await apiserverProfile;
    return { ms, cpu, writes: objects.length };
  });

  const wanted = new Set(values.phases.split(','));
  const columns: { title: string; result: OperatorResult; crWrites: number }[] = [];

  /**
   * Times `act` until every tenant has converged, then reads the operator's counters (and, with `resync`,
   * a no-op resync's writes). `act` returns the operator it started, or the one already `running`.
   */
  const measure = async (
    phase: Phase,
    label: string,
    options: { running?: ReturnType<typeof spawnOperator>; resync: boolean },
    act: () => Promise<ReturnType<typeof spawnOperator>>,
  ): Promise<OperatorResult> => {
    const watch = convergence(phase.kube, 'bench', tenants, endpoints);
    const apiserverProfile = profileApiserver(phase.env.info, label);
    const cpuBefore = phase.cpuNow(options.running?.proc.pid);
    const start = performance.now();
    const operator = await act();
    await watch.converged;
    const ms = performance.now() - start;
    const cpu = cpuSince(cpuBefore, phase.cpuNow(operator.proc.pid));
    const counts = await finishOperator(operator, options.resync);
    await apiserverProfile;
    return { ms, cpu, ...counts };
  };
  const createCustomResources = (phase: Phase) =>
    phase.applyAll(customResources('bench', tenants, endpoints, phase.platform.servingNamespace));

  // Operator, end to end: the user creates the custom resources while the operator runs, and their writes
  // count against it.
  if (wanted.has('live')) {
    const result = await inFreshCluster(concurrency, async (phase) => {
      const running = spawnOperator(phase, concurrency);
      await running.next('ready');
      return measure(phase, 'live', { running, resync: true }, async () => {
        await createCustomResources(phase);
        return running;
      });
    });
    columns.push({ title: 'operator, CRs created live', result, crWrites: tenants * (endpoints + 1) });
  }

  // Operator alone: the custom resources exist (a restart, a fail-over, a bulk import); timed from the
  // operator's start, cache sync included, until every tenant has converged.
  if (wanted.has('restart')) {
    const result = await inFreshCluster(concurrency, async (phase) => {
      await createCustomResources(phase);
      await settle(phase);
      return measure(phase, 'restart', { resync: false }, async () => spawnOperator(phase, concurrency));
    });
    columns.push({ title: 'operator, CRs present', result, crWrites: 0 });
  }

  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  const rows: string[][] = [
    ['tenants × endpoints', `${tenants} × ${endpoints}`, ...columns.map(() => `${tenants} × ${endpoints}`)],
    ['concurrency', String(concurrency), ...columns.map(() => String(concurrency))],
    [
      'time to converge (s)',
      seconds(baseline.ms),
      ...columns.map(({ result }) => `${seconds(result.ms)} (${(result.ms / baseline.ms).toFixed(2)}×)`),
    ],
    [
      'writes to converge',
      String(baseline.writes),
      ...columns.map(({ result, crWrites }) => `${result.writes}${crWrites ? ` + ${crWrites} CRs` : ''}`),
    ],
    ['reconciles to converge', 'n/a', ...columns.map(({ result }) => String(result.reconciles))],
    [
      'writes in a no-op resync',
      'n/a',
      ...columns.map(({ result }) =>
        result.resyncWrites === undefined ? 'n/a' : String(result.resyncWrites),
      ),
    ],
    ...[...COMPONENTS, 'operator', 'bench client'].map((name) => [
      `CPU s: ${name}`,
      name === 'operator' ? 'n/a' : (baseline.cpu[name] ?? 0).toFixed(1),
      ...columns.map(({ result }) => (result.cpu[name] ?? 0).toFixed(1)),
    ]),
    ['operator peak RSS (MiB)', 'n/a', ...columns.map(({ result }) => result.rss.toFixed(0))],
  ];
  const width = [30, 14, ...columns.map(() => 26)];
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join(' | ');
  console.log(row(['', 'direct apply', ...columns.map(({ title }) => title)]));
  console.log(width.map((w) => '-'.repeat(w)).join('-+-'));
  for (const r of rows) console.log(row(r));
}

/** One operator phase's measurements. */
interface OperatorResult {
  ms: number;
  cpu: Record<string, number>;
  writes: number;
  reconciles: number;
  resyncWrites: number | undefined;
  rss: number;
}

await main();
