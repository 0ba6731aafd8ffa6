/**
 * Management API benchmark against a real apiserver and MinIO (src/testenv). Prints side by side, in one run:
 *  1. at a fixed request rate over loopback keep-alive connections (latency measured from the scheduled send
 *     time, so a stalled server cannot hide its queue): a bare Koa route; the full `GET /v1/tenants/{t}` and
 *     `GET /v1/tenants/{t}/endpoints/{e}` (OIDC JWT verification, cached SubjectAccessReview, the object from
 *     the informer cache); and `GET /v1/tenants` for a caller who may see 5 of 1,000 tenants, with the
 *     SubjectAccessReviews it cost; the four in turn, in one-second slices (bench/load.ts), so the bare route's
 *     tail is the harness's floor at the same moments; then the maximum throughput of the bare route and the full
 *     tenant read;
 *  2. a streamed upload through the API against minio-js straight to MinIO (SHA-256 declared and verified by
 *     the API): throughput, and the API process's RSS growth.
 * The API and the bare route run in a child process, so the RSS and CPU measured are theirs, not the load
 * generator's. Usage: npm run bench:api -- --rate 1000 --seconds 10 --tenants 1000 --upload-mib 10240
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import { Client as MinioClient } from 'minio';
import { pino } from 'pino';
import { startApi } from '../src/api/main.ts';
import { listen } from '../src/api/server.ts';
import { localOidcIssuer } from '../src/testenv/oidc-issuer.ts';
import {
  FIELD_MANAGERS,
  GROUP_VERSION,
  endpointResourceName,
  platformConfig,
  type Tenant,
} from '../src/domain/index.ts';
import { createKube } from '../src/kube/index.ts';
import { renderPlatform } from '../src/render/index.ts';
import { renderManagementRbac } from '../src/render/rbac.ts';
import { createModelStore } from '../src/storage/store.ts';
import { startEnvironment, type EnvironmentInfo } from '../src/testenv/environment.ts';
import { oidcToken } from '../src/testenv/identities.ts';
import { waitFor } from '../src/testenv/wait.ts';
import { fixedRate, interleavedFixedRate, type Call, type RateResult } from './load.ts';
import { residentBytes, settle } from './proc.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    'upload-mib': { type: 'string', default: '1024' },
    tenants: { type: 'string', default: '1000' },
    child: { type: 'string' },
  },
});

const MIB = 1024 * 1024;
/** Connections of the closed-loop (maximum throughput) measurement. */
const SATURATION_CONNECTIONS = 32;
const TENANT = 'bench';
const ENDPOINT = 'e0';
/** The list scenario's caller, bound to exactly this many of the tenants. */
const FIVE_USER = 'five@bench.test';
const VISIBLE = 5;

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
  const bareApp = new Koa();
  bareApp.use(async (ctx) => {
    ctx.body = { name: TENANT, ok: true };
  });
  const bare = await listen(bareApp, { port: 0, host: '127.0.0.1' });
  process.stdout.write(JSON.stringify({ api: api.url, bare: bare.url }) + '\n');
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
    // Dex too: the apiserver trusts it as an issuer, so the environment always starts it.
    components: ['etcd', 'kubernetes', 'minio', 'authorino', 'istio-crds', 'dex'],
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
    const tenants = Number(values.tenants);
    process.stderr.write(`creating ${tenants} tenants with their RBAC…\n`);
    const { token, fiveToken } = await prepareTenants(env, tenants);
    const urls = await new Promise<{ api: string; bare: string }>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
      child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
    });
    const tenantUrl = `${urls.api}/v1/tenants/${TENANT}`;
    const endpointUrl = `${tenantUrl}/endpoints/${ENDPOINT}`;
    const listUrl = `${urls.api}/v1/tenants`;
    let lastAnswer = '';
    await waitFor(
      async () => {
        const response = await fetch(listUrl, { headers: { Authorization: `Bearer ${fiveToken}` } });
        const text = await response.text();
        lastAnswer = `${response.status} ${text.slice(0, 300)}`;
        return response.ok && (JSON.parse(text) as { items: unknown[] }).items.length === VISIBLE;
      },
      { description: `the list caller to see ${VISIBLE} tenants`, timeoutMs: 60_000, intervalMs: 500 },
    ).catch((error: unknown) => {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}; last answer: ${lastAnswer}`,
      );
    });

    const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
    process.stderr.write(`measuring ${rate} rps for ${seconds} s on each route…\n`);
    // Creating the tenants leaves the apiserver, the controllers and the API's own caches busy for a while;
    // that work's tail is not a read's.
    const components = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'minio'] as const;
    if (!(await settle(() => [...components.map((c) => environment.supervisor.pid(c)), child.pid]))) {
      process.stderr.write('the cluster and the API did not settle within 120 s; measuring anyway\n');
    }
    const loadBeforeReads = loadavg()[0]!;
    // Warm-up at the full rate: compiled code paths, and as many keep-alive connections to each server as the
    // rate's bursts need (a connection opened during a measurement would be billed to the route measured).
    await fixedRate(httpGet(`${urls.bare}/`, undefined, agent), rate, 2);
    await fixedRate(httpGet(tenantUrl, token, agent), rate, 2);
    await fixedRate(httpGet(endpointUrl, token, agent), rate, 2);
    await fixedRate(httpGet(listUrl, fiveToken, agent), rate, 2);
    // The routes in turn, one-second slices each, so the bare route's tail is the harness's floor at the same
    // moments as the full routes'.
    let listReviews = 0;
    const reads = await interleavedFixedRate(
      {
        bare: httpGet(`${urls.bare}/`, undefined, agent),
        tenant: httpGet(tenantUrl, token, agent),
        endpoint: httpGet(endpointUrl, token, agent),
        list: httpGet(listUrl, fiveToken, agent),
      },
      rate,
      seconds,
      Math.max(1, Math.round(seconds)),
      async (name, moment) => {
        if (name === 'list') listReviews += (moment === 'after' ? 1 : -1) * (await reviewsSent(urls.api));
      },
    );
    const { bare, tenant, endpoint, list } = reads;
    const loadAfterReads = loadavg()[0]!;
    process.stderr.write(
      `measuring maximum throughput (${SATURATION_CONNECTIONS} connections, ${seconds} s each)…\n`,
    );
    const bareMax = await saturate(`${urls.bare}/`, undefined, seconds);
    const tenantMax = await saturate(tenantUrl, token, seconds);

    const { bucketPath, sha256 } = await prepareUpload(env, uploadBytes);
    process.stderr.write(`uploading ${uploadBytes / MIB} MiB through the API and straight to MinIO…\n`);
    const direct = await measureUpload(undefined, () => uploadDirect(env, uploadBytes));
    await removeObjects(env, bucketPath);
    const viaApi = await measureUpload(child.pid!, () =>
      uploadThroughApi(urls.api, token, uploadBytes, sha256),
    );
    await removeObjects(env, bucketPath);

    const row = (name: string, r: RateResult) =>
      `${name.padEnd(44)} ${r.throughput.toFixed(0).padStart(7)} rps  p50 ${r.p50.toFixed(2).padStart(7)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms  sent late p99 ${r.sentLateP99.toFixed(2)} ms  errors ${r.errors}${r.errors > 0 ? ` ${JSON.stringify(r.failures)}` : ''}`;
    console.log(
      `\nFixed rate ${rate} rps for ${seconds} s per route in one-second slices taken in turn, over loopback keep-alive, ${tenants} tenants, ${cpus().length} cores, load average ${loadBeforeReads.toFixed(1)} before, ${loadAfterReads.toFixed(1)} after`,
    );
    console.log(row('bare Koa route', bare));
    console.log(row('GET /v1/tenants/:t (full API, cached)', tenant));
    console.log(row('GET /v1/tenants/:t/endpoints/:e (cached)', endpoint));
    console.log(row(`GET /v1/tenants, caller sees ${VISIBLE} of ${tenants}`, list));
    console.log(
      `${'SubjectAccessReviews during the list run'.padEnd(44)} ${listReviews} for ${list.throughput * seconds > 0 ? Math.round(list.throughput * seconds) : 0} requests`,
    );
    console.log(`\nMaximum throughput, ${SATURATION_CONNECTIONS} keep-alive connections back to back`);
    console.log(`${'bare Koa route'.padEnd(44)} ${bareMax.toFixed(0).padStart(7)} rps`);
    console.log(
      `${'GET /v1/tenants/:t (full API, cached)'.padEnd(44)} ${tenantMax.toFixed(0).padStart(7)} rps`,
    );
    console.log(`${'full API / bare'.padEnd(44)} ${(tenantMax / bareMax).toFixed(2)}`);
    const mibps = (u: UploadResult) => uploadBytes / MIB / (u.ms / 1000);
    console.log(`\nUpload of ${uploadBytes / MIB} MiB (SHA-256 declared, verified by the API)`);
    console.log(`${'minio-js straight to MinIO'.padEnd(44)} ${mibps(direct).toFixed(1).padStart(7)} MiB/s`);
    console.log(
      `${'PUT through the API'.padEnd(44)} ${mibps(viaApi).toFixed(1).padStart(7)} MiB/s  API RSS growth ${(viaApi.rssGrowth / MIB).toFixed(0)} MiB (peak ${(viaApi.rssPeak / MIB).toFixed(0)} MiB)`,
    );
    console.log(`${'API / direct throughput'.padEnd(44)} ${(mibps(viaApi) / mibps(direct)).toFixed(2)}`);
    agent.destroy();
  } finally {
    child.stdin?.end();
    child.kill();
    await environment.stop();
  }
}

/** SubjectAccessReviews the API has sent so far, from its /metrics. */
async function reviewsSent(apiUrl: string): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('tenantmesh_api_reviews_total{kind="subjectaccessreview"}'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/**
 * Checks there is room for the upload (twice its size plus 2 GiB, though only one copy exists at a time) and
 * computes the SHA-256 of the generated bytes, which the API upload declares.
 */
async function prepareUpload(env: EnvironmentInfo, size: number) {
  const { statfs } = await import('node:fs/promises');
  const space = await statfs(env.runDir);
  const free = space.bavail * space.bsize;
  if (free < 2 * size + 2 * 1024 * MIB) {
    throw new Error(
      `only ${(free / MIB).toFixed(0)} MiB free under ${env.runDir}; the upload needs ${((2 * size) / MIB).toFixed(0)} MiB`,
    );
  }
  const hash = createHash('sha256');
  for await (const chunk of generated(size)) hash.update(chunk as Buffer);
  return { bucketPath: `tenantmesh-${TENANT}`, sha256: hash.digest('hex') };
}

/** Removes every object of the bucket (the uploads), so at most one copy of the data is on disk. */
async function removeObjects(env: EnvironmentInfo, bucket: string): Promise<void> {
  const client = new MinioClient({ ...env.s3, region: 'us-east-1' });
  const names: string[] = [];
  for await (const item of client.listObjectsV2(bucket, '', true)) if (item.name) names.push(item.name);
  if (names.length > 0) await client.removeObjects(bucket, names);
}

/**
 * Creates the benchmark tenant (admin `admin@bench.test`, one InferenceEndpoint) and `count - 1` more, each with
 * the management RBAC the operator renders; `five@bench.test` is an admin of five of them.
 */
async function prepareTenants(env: EnvironmentInfo, count: number) {
  const platform = platformConfig({
    servingNamespace: env.namespaces.serving,
    oidcIssuers: [localOidcIssuer(env.oidc)],
  });
  const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
  for (const object of renderPlatform(platform, { istio: false, authorino: false, openshift: false })) {
    await kube.applyObject(object as never, { fieldManager: FIELD_MANAGERS.operator, force: true });
  }
  const names = [TENANT, ...Array.from({ length: count - 1 }, (_, i) => `bench-${i}`)];
  // Spread over the list, and exactly VISIBLE of them (every step-th of the tenants after the first).
  const step = Math.max(1, Math.floor((count - 1) / VISIBLE));
  const fiveOf = new Set(
    names
      .slice(1)
      .filter((_, i) => i % step === 0)
      .slice(0, VISIBLE),
  );
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const admin =
          name === TENANT ? 'admin@bench.test' : fiveOf.has(name) ? FIVE_USER : `admin@${name}.test`;
        const tenant = (await kube.create(
          {
            apiVersion: GROUP_VERSION,
            kind: 'Tenant',
            metadata: { name },
            spec: { admins: [{ kind: 'User', name: admin }] },
          },
          { fieldManager: FIELD_MANAGERS.api },
        )) as unknown as Tenant;
        const ctx = { tenant, name, hostname: `${name}.test`, platform, endpoints: [] };
        for (const object of renderManagementRbac(ctx)) {
          await kube.applyObject(object as never, { fieldManager: FIELD_MANAGERS.operator, force: true });
        }
      }
    }),
  );
  await kube.create(
    {
      apiVersion: GROUP_VERSION,
      kind: 'InferenceEndpoint',
      metadata: { name: endpointResourceName(TENANT, ENDPOINT), namespace: platform.servingNamespace },
      spec: { tenant: TENANT, model: { name: 'm', version: '1' }, runtime: 'tensorflow-serving' },
    },
    { fieldManager: FIELD_MANAGERS.api },
  );
  await createModelStore({ ...env.s3, region: 'us-east-1' }).ensureBucket(TENANT);
  const token = await oidcToken(env, { sub: 'admin', email: 'admin@bench.test', groups: [] });
  const fiveToken = await oidcToken(env, { sub: 'five', email: FIVE_USER, groups: [] });
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
  return { token, fiveToken };
}

/** One GET over `agent`; a non-200 answer fails under its status code, to tell throttling from refusals. */
function httpGet(url: string, token: string | undefined, agent: http.Agent): Call {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  let failed = 0;
  return () =>
    new Promise<void>((resolve, reject) => {
      const request = http.get(url, { agent, headers }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          if (response.statusCode === 200) return resolve();
          if (failed++ === 0)
            process.stderr.write(`first failure from ${url}: ${response.statusCode} ${body.slice(0, 300)}\n`);
          reject(new Error(String(response.statusCode)));
        });
      });
      request.on('error', reject);
    });
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

/** Times `upload` and samples the RSS of process `pid` (the API's) meanwhile. */
async function measureUpload(pid: number | undefined, upload: () => Promise<void>): Promise<UploadResult> {
  const baseline = pid ? residentBytes(pid) : 0;
  let peak = baseline;
  const sampler = setInterval(() => {
    if (pid) peak = Math.max(peak, residentBytes(pid));
  }, 50);
  const started = performance.now();
  try {
    await upload();
  } finally {
    clearInterval(sampler);
  }
  return { ms: performance.now() - started, rssGrowth: peak - baseline, rssPeak: peak };
}

async function uploadThroughApi(apiUrl: string, token: string, size: number, sha256: string): Promise<void> {
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
          'X-Checksum-Sha256': sha256,
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
