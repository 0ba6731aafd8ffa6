/**
 * Management API benchmark against a real apiserver and MinIO (src/testenv). Prints side by side, in one run:
 *  1. an authenticated GET (OIDC JWT verification + cached SubjectAccessReview) against a bare Koa route in the
 *     same kind of process, at a fixed request rate over loopback keep-alive connections: throughput, p50, p99
 *     (latency measured from the scheduled send time, so a stalled server cannot hide its queue);
 *  2. a streamed upload through the API against minio-js straight to MinIO: throughput, and the API
 *     process's RSS growth.
 * The API and the bare route run in a child process, so the RSS and CPU measured are theirs, not the load
 * generator's. Usage: npm run bench:api -- --rate 1000 --seconds 10 --upload-mib 1024
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import { Client as MinioClient } from 'minio';
import { pino } from 'pino';
import { buildApp } from '../src/api/app.ts';
import { kubeSubjectAccessReviewPort, pkiCaBundleValidator } from '../src/api/kube-ports.ts';
import { oidcConfig, startApi } from '../src/api/main.ts';
import { createAuthenticator } from '../src/auth/authenticate.ts';
import { createAuthorizer } from '../src/auth/authorize.ts';
import { createOidcVerifier } from '../src/auth/jwt.ts';
import { listen } from '../src/api/server.ts';
import { FIELD_MANAGERS, GROUP_VERSION, platformConfig, type Tenant } from '../src/domain/index.ts';
import { createKube } from '../src/kube/index.ts';
import { renderPlatform } from '../src/render/index.ts';
import { renderManagementRbac } from '../src/render/rbac.ts';
import { createModelStore } from '../src/storage/store.ts';
import { startEnvironment, type EnvironmentInfo } from '../src/testenv/environment.ts';
import { oidcToken } from '../src/testenv/identities.ts';
import { localOidcIssuer } from '../src/testenv/oidc-issuer.ts';
import { waitFor } from '../src/testenv/wait.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    'upload-mib': { type: 'string', default: '1024' },
    child: { type: 'string' },
  },
});

const MIB = 1024 * 1024;
/** Connections of the closed-loop (maximum throughput) measurement. */
const SATURATION_CONNECTIONS = 32;
const TENANT = 'bench';

if (values.child) {
  await runChild(JSON.parse(readFileSync(values.child, 'utf8')) as EnvironmentInfo);
} else {
  await runParent();
}

/** The servers under test: the API wired to the cluster, and a bare Koa route, printed as one JSON line. */
async function runChild(env: EnvironmentInfo): Promise<void> {
  const platform = platformConfig({
    servingNamespace: env.namespaces.serving,
    oidcIssuers: [localOidcIssuer(env.oidc)],
  });
  const api = await startApi({
    kubeconfigPath: env.adminKubeconfigPath,
    s3: env.s3,
    serviceAccountAudiences: [env.oidc.audience],
    platform,
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    audit: { record: () => undefined },
  });
  // The same pipeline (JWT verification, cached SubjectAccessReviews, guard, problem edge, metrics) with the
  // Tenant read from memory, so the row measures authentication and authorization, not the apiserver read.
  const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
  // Read once, on first use: the parent creates the Tenant after this child has started.
  let cached: Tenant | undefined;
  const tenant = async (): Promise<Tenant> => {
    cached ??= (await kube.get(GROUP_VERSION, 'Tenant', TENANT)) as unknown as Tenant | undefined;
    if (!cached) throw new Error(`bench tenant ${TENANT} does not exist yet`);
    return cached;
  };
  const pipeline = buildApp({
    authenticator: createAuthenticator({
      oidc: [createOidcVerifier(oidcConfig(localOidcIssuer(env.oidc)))],
    }),
    authorizer: createAuthorizer(kubeSubjectAccessReviewPort(kube)),
    tenants: {
      list: async () => [await tenant()],
      get: tenant,
      create: tenant,
      update: tenant,
      delete: async () => undefined,
    },
    runtimes: { list: async () => [] },
    caValidator: pkiCaBundleValidator(),
    readiness: {},
    // stdout carries the child's URL line; errors (BENCH_DEBUG=1) go to stderr.
    logger: pino({ level: process.env['BENCH_DEBUG'] ? 'error' : 'silent' }, pino.destination(2)),
    audit: { record: () => undefined },
  });
  const authOnly = await listen(pipeline.app, { port: 0, host: '127.0.0.1' });
  const bareApp = new Koa();
  bareApp.use(async (ctx) => {
    ctx.body = { name: TENANT, ok: true };
  });
  const bare = await listen(bareApp, { port: 0, host: '127.0.0.1' });
  process.stdout.write(JSON.stringify({ api: api.url, bare: bare.url, authOnly: authOnly.url }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

async function runParent(): Promise<void> {
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const uploadBytes = Number(values['upload-mib']) * MIB;
  process.stderr.write('starting etcd, kube-apiserver and MinIO…\n');
  const environment = await startEnvironment({
    // The CRD manifests of Istio and Authorino are installed even though Authorino itself does not run.
    components: ['etcd', 'kubernetes', 'minio', 'authorino', 'istio-crds'],
    authorino: false,
    controllerManager: false,
  });
  const env = environment.info;
  const infoFile = `${env.runDir}/bench-env.json`;
  (await import('node:fs')).writeFileSync(infoFile, JSON.stringify(env), { mode: 0o600 });
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', infoFile], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const token = await prepareTenant(env);
    const urls = await new Promise<{ api: string; bare: string; authOnly: string }>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
      child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
    });

    const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
    process.stderr.write(`measuring ${rate} rps for ${seconds} s on each server…\n`);
    await fixedRate(`${urls.bare}/`, undefined, agent, Math.min(rate, 200), 1); // warm-up
    await fixedRate(`${urls.api}/v1/tenants/${TENANT}`, token, agent, Math.min(rate, 200), 1);
    await fixedRate(`${urls.authOnly}/v1/tenants/${TENANT}`, token, agent, Math.min(rate, 200), 1);
    const bare = await fixedRate(`${urls.bare}/`, undefined, agent, rate, seconds);
    const authed = await fixedRate(`${urls.authOnly}/v1/tenants/${TENANT}`, token, agent, rate, seconds);
    const fullRate = Math.min(rate, 150);
    const full = await fixedRate(`${urls.api}/v1/tenants/${TENANT}`, token, agent, fullRate, seconds);
    process.stderr.write(
      `measuring maximum throughput (${SATURATION_CONNECTIONS} connections, ${seconds} s each)…\n`,
    );
    const bareMax = await saturate(`${urls.bare}/`, undefined, seconds);
    const authedMax = await saturate(`${urls.authOnly}/v1/tenants/${TENANT}`, token, seconds);

    process.stderr.write(`uploading ${uploadBytes / MIB} MiB through the API and straight to MinIO…\n`);
    const viaApi = await measureUpload(child.pid!, () => uploadThroughApi(urls.api, token, uploadBytes));
    const direct = await measureUpload(undefined, () => uploadDirect(env, uploadBytes));

    const row = (name: string, r: RateResult) =>
      `${name.padEnd(38)} ${r.throughput.toFixed(0).padStart(7)} rps  p50 ${r.p50.toFixed(2).padStart(7)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms  errors ${r.errors}${r.errors > 0 ? ` ${JSON.stringify(r.failures)}` : ''}`;
    console.log(`\nFixed rate ${rate} rps for ${seconds} s over loopback keep-alive`);
    console.log(row('bare Koa route', bare));
    console.log(row('API pipeline, JWT + cached SAR', authed));
    console.log(
      `\nThe full route also reads the Tenant from the apiserver on every request (${fullRate} rps):`,
    );
    console.log(row('GET /v1/tenants/:t, full API', full));
    console.log(`\nMaximum throughput, ${SATURATION_CONNECTIONS} keep-alive connections back to back`);
    console.log(`${'bare Koa route'.padEnd(38)} ${bareMax.toFixed(0).padStart(7)} rps`);
    console.log(`${'API pipeline, JWT + cached SAR'.padEnd(38)} ${authedMax.toFixed(0).padStart(7)} rps`);
    console.log(`${'API pipeline / bare'.padEnd(38)} ${(authedMax / bareMax).toFixed(2)}`);
    const mibps = (u: UploadResult) => uploadBytes / MIB / (u.ms / 1000);
    console.log(`\nUpload of ${uploadBytes / MIB} MiB`);
    console.log(`${'minio-js straight to MinIO'.padEnd(38)} ${mibps(direct).toFixed(1).padStart(7)} MiB/s`);
    console.log(
      `${'PUT through the API'.padEnd(38)} ${mibps(viaApi).toFixed(1).padStart(7)} MiB/s  API RSS growth ${(viaApi.rssGrowth / MIB).toFixed(0)} MiB (peak ${(viaApi.rssPeak / MIB).toFixed(0)} MiB)`,
    );
    console.log(`${'API / direct throughput'.padEnd(38)} ${(mibps(viaApi) / mibps(direct)).toFixed(2)}`);
    agent.destroy();
  } finally {
    child.stdin?.end();
    child.kill();
    await environment.stop();
  }
}

/** Creates the benchmark tenant through the API and renders its RBAC as the operator would. */
async function prepareTenant(env: EnvironmentInfo): Promise<string> {
  const platform = platformConfig({ servingNamespace: env.namespaces.serving });
  const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
  for (const object of renderPlatform(platform, { istio: false, authorino: false, openshift: false })) {
    await kube.applyObject(object as never, { fieldManager: FIELD_MANAGERS.operator, force: true });
  }
  const tenant = (await kube.create(
    {
      apiVersion: GROUP_VERSION,
      kind: 'Tenant',
      metadata: { name: TENANT },
      spec: { admins: [{ kind: 'User', name: 'admin@bench.test' }] },
    },
    { fieldManager: FIELD_MANAGERS.api },
  )) as unknown as Tenant;
  const ctx = { tenant, name: TENANT, hostname: 'bench.test', platform, endpoints: [] };
  for (const object of renderManagementRbac(ctx)) {
    await kube.applyObject(object as never, { fieldManager: FIELD_MANAGERS.operator, force: true });
  }
  await createModelStore({ ...env.s3, region: 'us-east-1' }).ensureBucket(TENANT);
  const token = await oidcToken(env, { sub: 'admin', email: 'admin@bench.test', groups: [] });
  await waitFor(
    async () =>
      (
        await kube.createSubjectAccessReview({
          user: 'admin@bench.test',
          groups: [],
          resourceAttributes: { group: 'tenantmesh.io', resource: 'tenants', name: TENANT, verb: 'get' },
        })
      ).allowed,
    { description: 'the tenant admin to be allowed', timeoutMs: 20_000 },
  );
  return token;
}

interface RateResult {
  throughput: number;
  p50: number;
  p99: number;
  errors: number;
  /** Status codes of the non-200 answers, to tell throttling from refusals. */
  failures: Record<string, number>;
}

/** Sends `rate` GETs per second for `seconds`, on schedule whatever the answers, and collects latencies. */
async function fixedRate(
  url: string,
  token: string | undefined,
  agent: http.Agent,
  rate: number,
  seconds: number,
): Promise<RateResult> {
  const total = rate * seconds;
  const latencies: number[] = [];
  let errors = 0;
  const failures: Record<string, number> = {};
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const one = (scheduled: number) =>
    new Promise<void>((resolve) => {
      const request = http.get(url, { agent, headers }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          if (response.statusCode !== 200) {
            if (errors === 0)
              process.stderr.write(
                `first failure from ${url}: ${response.statusCode} ${body.slice(0, 300)}\n`,
              );
            errors += 1;
            failures[String(response.statusCode)] = (failures[String(response.statusCode)] ?? 0) + 1;
          }
          latencies.push(performance.now() - scheduled);
          resolve();
        });
      });
      request.on('error', (error) => {
        errors += 1;
        failures[error.message] = (failures[error.message] ?? 0) + 1;
        resolve();
      });
    });
  for (let sent = 0; sent < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) inflight.push(one(start + (sent / rate) * 1000));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((x, y) => x - y);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { throughput: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors, failures };
}

/**
 * Closed-loop load: every connection sends its next request as soon as the previous answer arrived, for
 * `seconds`; returns successful requests per second (non-200 answers do not count).
 */
async function saturate(url: string, token: string | undefined, seconds: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: SATURATION_CONNECTIONS });
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const deadline = performance.now() + seconds * 1000;
  let ok = 0;
  const once = () =>
    new Promise<void>((resolve) => {
      http
        .get(url, { agent, headers }, (response) => {
          response.resume();
          response.on('end', () => {
            if (response.statusCode === 200) ok += 1;
            resolve();
          });
        })
        .on('error', () => resolve());
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: SATURATION_CONNECTIONS }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  agent.destroy();
  return ok / ((performance.now() - started) / 1000);
}

/** `total` bytes in 1 MiB chunks, generated as they are read. */
function generated(total: number): Readable {
  let produced = 0;
  return new Readable({
    read() {
      if (produced >= total) return void this.push(null);
      const chunk = Buffer.alloc(Math.min(MIB, total - produced), (produced / MIB) & 0xff);
      produced += chunk.length;
      this.push(chunk);
    },
  });
}

interface UploadResult {
  ms: number;
  rssGrowth: number;
  rssPeak: number;
}

function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/** Times `upload` and samples the RSS of process `pid` (the API's) meanwhile. */
async function measureUpload(pid: number | undefined, upload: () => Promise<void>): Promise<UploadResult> {
  const baseline = pid ? rssOf(pid) : 0;
  let peak = baseline;
  const sampler = setInterval(() => {
    if (pid) peak = Math.max(peak, rssOf(pid));
  }, 50);
  const started = performance.now();
  try {
    await upload();
  } finally {
    clearInterval(sampler);
  }
  return { ms: performance.now() - started, rssGrowth: peak - baseline, rssPeak: peak };
}

async function uploadThroughApi(apiUrl: string, token: string, size: number): Promise<void> {
  const url = new URL(`${apiUrl}/v1/tenants/${TENANT}/models/big/versions/1/files/model.bin`);
  await new Promise<void>((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'PUT',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(size),
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () =>
          response.statusCode === 201 ? resolve() : reject(new Error(`${response.statusCode} ${text}`)),
        );
      },
    );
    request.on('error', reject);
    generated(size).pipe(request);
  });
}

async function uploadDirect(env: EnvironmentInfo, size: number): Promise<void> {
  const client = new MinioClient({ ...env.s3, region: 'us-east-1', partSize: 16 * MIB });
  await client.putObject(`tenantmesh-${TENANT}`, 'direct/model.bin', generated(size), size);
}
