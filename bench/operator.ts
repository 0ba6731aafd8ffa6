/**
 * Operator benchmark: N tenants × M endpoints against a real apiserver (src/testenv). Reports, side by side,
 * the time to converge with the operator (in a child process, so its peak RSS is its own) and a baseline that
 * server-side-applies the same rendered objects directly at the same concurrency, plus the writes a no-op
 * resync performs. Usage: npm run bench:operator -- --tenants 200 --endpoints 5 --concurrency 16
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  platformConfig,
  type InferenceEndpoint,
  type ServingRuntime,
  type Tenant,
} from '../src/domain/index.ts';
import { createKube, type Kube, type KubeObject } from '../src/kube/index.ts';
import { startOperator } from '../src/operator/main.ts';
import { renderTenant } from '../src/render/index.ts';
import { parse } from 'yaml';

const { values } = parseArgs({
  options: {
    tenants: { type: 'string', default: '200' },
    endpoints: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
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
      const byKindBefore = await writesByKind(running.operator.metrics.writes);
      running.operator.resyncAll();
      await running.operator.idle();
      const byKindAfter = await writesByKind(running.operator.metrics.writes);
      for (const [key, count] of byKindAfter) {
        const delta = count - (byKindBefore.get(key) ?? 0);
        if (delta > 0) process.stderr.write(`resync wrote ${delta} × ${key}\n`);
      }
      process.stdout.write(`resync-writes ${(await running.operator.metrics.writeCount()) - before}\n`);
    }
    if (line === 'writes') process.stdout.write(`writes ${await running.operator.metrics.writeCount()}\n`);
  }
  await running.stop();
  process.exit(0);
}

/** Writes so far per operation and kind, to say what a resync wrote when it wrote anything. */
async function writesByKind(counter: {
  get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }>;
}) {
  const metric = await counter.get();
  return new Map(
    metric.values.map((v) => [`${String(v.labels['operation'])} ${String(v.labels['kind'])}`, v.value]),
  );
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kib / 1024;
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

async function converged(kube: Kube, prefix: string, tenants: number, endpoints: number): Promise<boolean> {
  const list = await kube.list<Tenant & KubeObject>(GV, 'Tenant');
  const ours = list.items.filter((t) => t.metadata.name.startsWith(prefix));
  return (
    ours.length === tenants &&
    ours.every(
      (t) => t.status?.hosts?.length === endpoints && t.status.observedGeneration === t.metadata.generation,
    )
  );
}

async function main(): Promise<void> {
  if (values.child) return child();
  const tenants = Number(values.tenants);
  const endpoints = Number(values.endpoints);
  const concurrency = Number(values.concurrency);
  // Loaded here, not at the top: the operator child runs this same file, and testenv pulls in the Kubernetes
  // client library the operator itself no longer needs; a static import would bill its memory to the operator.
  const { startEnvironment } = await import('../src/testenv/environment.ts');
  const env = await startEnvironment({
    components: ['etcd', 'kubernetes', 'minio', 'authorino', 'istio-crds'],
  });
  try {
    const info = env.info;
    const kube = createKube({ kubeconfigPath: info.adminKubeconfigPath });
    const platform = platformConfig({
      servingNamespace: info.namespaces.serving,
      gatewayNamespace: info.namespaces.gateway,
    });
    await kube.applyObject(runtime() as unknown as KubeObject, { fieldManager: manager });

    // Baseline: the same rendered objects, applied directly.
    const baselineObjects: KubeObject[] = [];
    for (let i = 0; i < tenants; i++) {
      const t = `base${i}`;
      baselineObjects.push(
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
    const baselineStart = performance.now();
    await pool(baselineObjects, concurrency, (object) => kube.applyObject(object, { fieldManager: manager }));
    const baselineMs = performance.now() - baselineStart;

    // Operator, in a child process.
    // The operator's production heap settings, so its peak RSS is measured as it runs in the cluster.
    const heapFlags = ['--max-semi-space-size=4', '--max-old-space-size=160'];
    // BENCH_PROFILE=<dir> writes a CPU profile of the operator child there.
    const profile = process.env['BENCH_PROFILE']
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`]
      : [];
    const childArgs = [
      ...heapFlags,
      ...profile,
      '--import',
      'tsx',
      new URL(import.meta.url).pathname,
      '--child',
    ];
    const proc = spawn(process.execPath, childArgs, {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...process.env,
        KUBECONFIG: info.adminKubeconfigPath,
        BENCH_PLATFORM: JSON.stringify({
          servingNamespace: platform.servingNamespace,
          gatewayNamespace: platform.gatewayNamespace,
        }),
        BENCH_S3: JSON.stringify(info.s3),
        BENCH_WORKERS: String(concurrency),
      },
    });
    const next = lines(proc);
    await next('ready');
    const operatorStart = performance.now();
    const work: KubeObject[] = [];
    for (let i = 0; i < tenants; i++) {
      work.push(tenantObject(`op${i}`) as unknown as KubeObject);
      for (let e = 0; e < endpoints; e++)
        work.push(endpointObject(`op${i}`, e, platform.servingNamespace) as unknown as KubeObject);
    }
    await pool(work, concurrency, (object) => kube.applyObject(object, { fieldManager: manager }));
    while (!(await converged(kube, 'op', tenants, endpoints))) await new Promise((r) => setTimeout(r, 250));
    const operatorMs = performance.now() - operatorStart;
    proc.stdin!.write('writes\n');
    const writes = Number(await next('writes'));
    proc.stdin!.write('resync\n');
    const resyncWrites = Number(await next('resync-writes'));
    const rss = peakRssMiB(proc.pid!);
    // Closing stdin lets the child stop the operator and exit on its own (which also writes its profile).
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.stdin!.end();
    const stopTimer = setTimeout(() => proc.kill('SIGTERM'), 15_000);
    await exited;
    clearTimeout(stopTimer);

    const rows: [string, string, string][] = [
      ['tenants × endpoints', `${tenants} × ${endpoints}`, `${tenants} × ${endpoints}`],
      ['concurrency', String(concurrency), String(concurrency)],
      ['objects', String(baselineObjects.length), `${baselineObjects.length} + CA Secrets + status`],
      ['time to converge (s)', (baselineMs / 1000).toFixed(1), (operatorMs / 1000).toFixed(1)],
      ['writes to converge', String(baselineObjects.length), String(writes)],
      ['writes in a no-op resync', 'n/a', String(resyncWrites)],
      ['operator peak RSS (MiB)', 'n/a', rss.toFixed(0)],
    ];
    const width = [28, 14, 34];
    const row = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join(' | ');
    console.log(row(['', 'direct apply', 'operator']));
    console.log(width.map((w) => '-'.repeat(w)).join('-+-'));
    for (const r of rows) console.log(row(r));
  } finally {
    await env.stop();
  }
}

await main();
