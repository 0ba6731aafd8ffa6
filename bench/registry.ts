/**
 * Model registry benchmark against a real PostgreSQL (src/testenv). Seeds `--tenants` × `--models` registered
 * models × `--versions` versions, then measures at a fixed request rate over loopback keep-alive connections,
 * latency taken from the scheduled send time:
 *  - a list page of 100 registered models (random tenant, random order key and direction),
 *  - a find by name (random tenant and model),
 *  - the Python client's `register_model` call sequence (find model, create model, find version, create
 *    version, create artifact: five calls in a row), at 50 sequences per second,
 * each beside the same request pattern answered by a bare Koa route in the same server process.
 * The server runs in a child process, so the load generator does not share its event loop. Authentication and
 * the access decision are stubbed (their cost, a JWT check and a cached SubjectAccessReview, is what
 * `npm run bench:api` measures); everything else is the production route table, repository and database.
 * Usage: npm run bench:registry -- --tenants 100 --models 1000 --versions 10 --seconds 10
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import type pg from 'pg';
import { pino } from 'pino';
import { buildApp } from '../src/api/app.ts';
import { listen } from '../src/api/server.ts';
import { createRegistryPool } from '../src/registry/database.ts';
import { migrate } from '../src/registry/migrate.ts';
import { RegistryRepository } from '../src/registry/repository.ts';
import { startPostgresql, type PostgresEndpoint } from '../src/testenv/postgresql.ts';
import { ProcessSupervisor } from '../src/testenv/processes.ts';
import { provisionAssets } from '../src/testenv/provision.ts';
import { fixedRate as fixedRateOf, type RateResult } from './load.ts';

const { values } = parseArgs({
  options: {
    tenants: { type: 'string', default: '100' },
    models: { type: 'string', default: '1000' },
    versions: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '200' },
    child: { type: 'string' },
  },
});

const SERVING_NAMESPACE = 'tenantmesh-serving';
const V1 = '/api/model_registry/v1';
const hostOf = (tenant: number) => `bench-${tenant}.${SERVING_NAMESPACE}.svc`;

if (values.child) await runChild(JSON.parse(values.child) as PostgresEndpoint);
else await runParent();

/** The registry as the API serves it, and a bare Koa route; prints their URL as one JSON line. */
async function runChild(database: PostgresEndpoint): Promise<void> {
  const pool = createRegistryPool({ ...database, maxConnections: 20 });
  const identity = { kind: 'oidc' as const, username: 'bench', groups: [], extra: {} };
  const { app } = buildApp({
    authenticator: { authenticate: async () => identity },
    authorizer: { can: async () => ({ allowed: true, reason: 'bench' }) },
    tenants: {
      list: async () => [],
      get: async () => {
        throw new Error('unused');
      },
      create: async () => {
        throw new Error('unused');
      },
      update: async () => {
        throw new Error('unused');
      },
      delete: async () => undefined,
    },
    visibility: { candidates: () => undefined },
    runtimes: { list: async () => [] },
    caValidator: { validate: async () => ({ fingerprint: '' }) },
    readiness: {},
    logger: pino({ level: 'silent' }),
    audit: { record: () => undefined },
    registry: {
      repository: new RegistryRepository(pool),
      tenantForHost: async (host) => /^(bench-[0-9]+)\./.exec(host)?.[1],
      access: async () => ({ allowed: true, reason: 'bench' }),
    },
  });
  const api = await listen(app, { port: 0, host: '127.0.0.1' });
  // The bare route answers with the very bytes the registry sends: a real list page (seeded tenant 0) for list
  // paths, one real registered model for every other call, so the baseline moves the same bytes.
  const page = JSON.stringify(
    await call(new http.Agent(), api.url, hostOf(0), 'GET', `${V1}/registered_models?pageSize=100`),
  );
  const entity = JSON.stringify((JSON.parse(page) as { items: unknown[] }).items[0]);
  const bare = new Koa();
  bare.use((ctx) => {
    ctx.status = ctx.method === 'POST' ? 201 : 200;
    ctx.type = 'application/json';
    ctx.body = ctx.method === 'GET' && ctx.path.endsWith('s') ? page : entity;
  });
  const bareServer = await listen(bare, { port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ api: api.url, bare: bareServer.url })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

async function runParent(): Promise<void> {
  const tenants = Number(values.tenants);
  const models = Number(values.models);
  const versions = Number(values.versions);
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-env-bench-registry-'));
  const supervisor = new ProcessSupervisor(runDir);
  let child: ReturnType<typeof spawn> | undefined;
  try {
    process.stderr.write('starting PostgreSQL…\n');
    const database = await startPostgresql(supervisor, await provisionAssets(['postgresql']), runDir);
    const pool = createRegistryPool(database);
    await migrate(pool);
    process.stderr.write(`seeding ${tenants} tenants × ${models} models × ${versions} versions…\n`);
    const seeded = performance.now();
    await seed(pool, tenants, models, versions);
    const rows = (await pool.query<{ n: string }>('SELECT count(*) AS n FROM registry_entity')).rows[0]!.n;
    process.stderr.write(`${rows} rows in ${((performance.now() - seeded) / 1000).toFixed(0)} s\n`);
    await pool.end();

    child = spawn(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--child', JSON.stringify(database)],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const urls = await new Promise<{ api: string; bare: string }>((resolve, reject) => {
      createInterface({ input: child!.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
      child!.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const random = (n: number) => Math.floor(Math.random() * n);
    const orders = ['ID', 'CREATE_TIME', 'LAST_UPDATE_TIME'];
    const listPage = (base: string) => () =>
      call(
        agent,
        base,
        hostOf(random(tenants)),
        'GET',
        `${V1}/registered_models?pageSize=100&orderBy=${orders[random(3)]}&sortOrder=${random(2) ? 'ASC' : 'DESC'}`,
      );
    const findByName = (base: string) => () =>
      call(
        agent,
        base,
        hostOf(random(tenants)),
        'GET',
        `${V1}/registered_model?name=model-${random(models)}`,
      );
    let sequence = 0;
    const registerModel = (base: string) => async () => {
      const host = hostOf(random(tenants));
      const name = `registered-${process.pid}-${base.length}-${sequence++}`;
      await call(agent, base, host, 'GET', `${V1}/registered_model?name=${name}`, undefined, 404);
      const model = await call(
        agent,
        base,
        host,
        'POST',
        `${V1}/registered_models`,
        { name, owner: 'bench' },
        201,
      );
      const modelId = (model as { id?: string }).id ?? '1';
      await call(
        agent,
        base,
        host,
        'GET',
        `${V1}/model_version?name=1&parentResourceId=${modelId}`,
        undefined,
        404,
      );
      const version = await call(
        agent,
        base,
        host,
        'POST',
        `${V1}/model_versions`,
        {
          name: '1',
          registeredModelId: modelId,
          author: 'bench',
          customProperties: { accuracy: { metadataType: 'MetadataDoubleValue', double_value: 0.9 } },
        },
        201,
      );
      const versionId = (version as { id?: string }).id ?? '1';
      await call(
        agent,
        base,
        host,
        'POST',
        `${V1}/model_versions/${versionId}/artifacts`,
        {
          artifactType: 'model-artifact',
          name,
          uri: `s3://bench/${name}/1/`,
          modelFormatName: 'onnx',
          modelFormatVersion: '1',
        },
        201,
      );
    };

    const loadAtStart = os.loadavg()[0]!;
    process.stderr.write(`measuring, ${seconds} s per row…\n`);
    await fixedRate(listPage(urls.api), 50, 1); // warm-up
    await fixedRate(findByName(urls.api), 50, 1);
    const results: Array<[string, RateResult, RateResult]> = [];
    results.push([
      'list page of 100',
      await fixedRate(listPage(urls.api), rate, seconds),
      await fixedRate(listPage(urls.bare), rate, seconds),
    ]);
    results.push([
      'find by name',
      await fixedRate(findByName(urls.api), rate, seconds),
      await fixedRate(findByName(urls.bare), rate, seconds),
    ]);
    results.push([
      'register_model sequence (5 calls)',
      await fixedRate(registerModel(urls.api), 50, seconds),
      await fixedRate(registerModel(urls.bare), 50, seconds),
    ]);

    const cell = (r: RateResult) =>
      `${r.throughput.toFixed(0).padStart(5)}/s p50 ${r.p50.toFixed(2).padStart(7)} ms p99 ${r.p99.toFixed(2).padStart(7)} ms${r.errors ? ` errors ${r.errors}` : ''}`;
    console.log(
      `\n${rows} rows (${tenants} tenants × ${models} models × ${versions} versions), ${os.cpus().length} cores, load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end`,
    );
    console.log(`${''.padEnd(36)} ${'registry (PostgreSQL)'.padEnd(42)} bare Koa route`);
    for (const [name, api, bare] of results)
      console.log(`${name.padEnd(36)} ${cell(api).padEnd(42)} ${cell(bare)}`);
    agent.destroy();
  } finally {
    child?.stdin?.end();
    child?.kill();
    await supervisor.stopAll();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** Bulk rows straight in SQL (what the API would write, without a million HTTP calls). */
async function seed(pool: pg.Pool, tenants: number, models: number, versions: number): Promise<void> {
  const now = Date.now();
  for (let t = 0; t < tenants; t++) {
    await pool.query(
      `INSERT INTO registry_entity (tenant, kind, name, state, properties, custom_properties, create_time, update_time)
       SELECT $1, 'registered-model', 'model-' || m, 'LIVE', '{"owner": "bench"}',
              jsonb_build_object('accuracy', jsonb_build_object('metadataType', 'MetadataDoubleValue', 'double_value', m / 1000.0)),
              $2::bigint + m, $2::bigint + m
       FROM generate_series(0, $3::int - 1) AS m`,
      [`bench-${t}`, now, models],
    );
    await pool.query(
      `INSERT INTO registry_entity (tenant, kind, parent_id, name, state, properties, create_time, update_time)
       SELECT m.tenant, 'model-version', m.id, 'v' || v, 'LIVE', '{"author": "bench"}', m.create_time + v, m.create_time + v
       FROM registry_entity m, generate_series(1, $2::int) AS v
       WHERE m.tenant = $1 AND m.kind = 'registered-model'`,
      [`bench-${t}`, versions],
    );
  }
  // Steady state before measuring: the bulk load would otherwise trigger an autovacuum in the middle of a run.
  await pool.query('VACUUM (ANALYZE) registry_entity');
}

/** Runs `operation` `rate` times per second for `seconds`, on schedule (bench/load.ts), and collects latencies. */
function fixedRate(operation: () => Promise<unknown>, rate: number, seconds: number): Promise<RateResult> {
  let failed = 0;
  const call = async () => {
    try {
      await operation();
    } catch (error) {
      if (failed++ === 0)
        process.stderr.write(`first failure: ${error instanceof Error ? error.message : String(error)}\n`);
      throw error;
    }
  };
  return fixedRateOf(call, rate, seconds);
}

/** One request; rejects unless the status is `expected` (the bare route answers 200/201 to anything). */
function call(
  agent: http.Agent,
  base: string,
  host: string,
  method: string,
  path: string,
  json?: unknown,
  expected = method === 'POST' ? 201 : 200,
): Promise<unknown> {
  const payload = json === undefined ? undefined : JSON.stringify(json);
  return new Promise((resolve, reject) => {
    const request = http.request(
      new URL(path, base),
      {
        method,
        agent,
        headers: {
          Host: host,
          Authorization: 'Bearer bench',
          ...(payload ? { 'Content-Type': 'application/json' } : {}),
        },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          const ok = response.statusCode === expected || (response.statusCode ?? 0) < 300;
          if (!ok)
            return reject(new Error(`${method} ${path}: ${response.statusCode} ${body.slice(0, 200)}`));
          try {
            resolve(body ? JSON.parse(body) : undefined);
          } catch {
            resolve(undefined);
          }
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}
