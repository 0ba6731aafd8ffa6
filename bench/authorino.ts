/**
 * Authorino's CPU per decision for the tenant AuthConfig tenantmesh renders, against a real Authorino run as a
 * process by src/testenv (no node, no gateway): Checks shaped like the Istio ingress gateway's (every header, the
 * verified client certificate in X-Forwarded-Client-Cert) for an endpoint with allowed client subjects, so every
 * rule a certificate call meets runs, from `--concurrency` callers on one channel. Authorino's CPU time is read
 * from /proc/<pid>/stat around each phase; the decisions are cached (the default TTL), as on the data path.
 *
 * Variants, each its own tenant (hosts), in alternating phases so the machine's load falls on all alike:
 *  - `rendered`: this checkout's renderAuthConfig;
 *  - `floor`: only the x509 identity and the cached SubjectAccessReview, no rules: Authorino's own cost;
 *  - `baseline` with `--baseline <dir>`: the renderAuthConfig of another checkout of tenantmesh (e.g. main's, from
 *    `git worktree add <dir> main`), fed the same tenant context.
 * Usage: npm run bench:authorino -- --calls 4000 --concurrency 8 --rounds 2 [--baseline <dir>]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { authConfigName, endpointResourceName, platformConfig } from '../src/domain/index.ts';
import type { InferenceEndpoint, KubeObject, PlatformConfig, Tenant } from '../src/domain/index.ts';
import { createKube, type Kube, type KubeObject as WireObject } from '../src/kube/index.ts';
import { createTenantCa, issueClientCertificate, issueServingCertificate } from '../src/pki/index.ts';
import { renderAuthConfig } from '../src/render/authconfig.ts';
import { tenantContext } from '../src/render/context.ts';
import { renderTenant } from '../src/render/index.ts';
import type { TenantContext, TenantRenderInput } from '../src/render/types.ts';
import { startEnvironment } from '../src/testenv/environment.ts';
import { localOidcIssuer } from '../src/testenv/oidc-issuer.ts';
import { waitFor } from '../src/testenv/wait.ts';
import { createExtAuthzClient } from '../test/support/ext-authz.ts';
import { gatewayHeaders, xfccFor } from '../test/support/gateway-check.ts';
import { parse } from 'yaml';
import { cpuSeconds, loadAverages } from './proc.ts';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '200' },
    baseline: { type: 'string' },
  },
});
const CALLS = Number(values.calls);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const WARMUP = Number(values.warmup);

const DOMAIN = 'authorino-bench.tenantmesh.test';
const ENDPOINT = 'e0';
const CLIENT = 'bench-client';
const FIELD_MANAGER = 'tenantmesh-operator';

type Renderer = (ctx: TenantContext) => KubeObject;

/** The rendered AuthConfig minus every rule: the certificate identity and the cached review only. */
function floorAuthConfig(ctx: TenantContext): KubeObject {
  const full = renderAuthConfig(ctx) as KubeObject & { spec: Record<string, Record<string, unknown>> };
  const identity = { ...(full.spec.authentication!['client-certificate'] as Record<string, unknown>) };
  delete identity['when'];
  return {
    ...full,
    spec: {
      ...full.spec,
      authentication: { 'client-certificate': identity },
      authorization: { 'tenant-rbac': full.spec.authorization!['tenant-rbac'] },
    },
  } as KubeObject;
}

async function loadRenderer(dir: string): Promise<Renderer> {
  const module = (await import(path.resolve(dir, 'src/render/authconfig.ts'))) as {
    renderAuthConfig: Renderer;
  };
  return module.renderAuthConfig;
}

function tenantResource(name: string): Tenant {
  return {
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'Tenant',
    metadata: { name, generation: 1 },
    spec: {},
  };
}

function endpointResource(platform: PlatformConfig, tenant: string): InferenceEndpoint {
  return {
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'InferenceEndpoint',
    metadata: {
      name: endpointResourceName(tenant, ENDPOINT),
      namespace: platform.servingNamespace,
      generation: 1,
    },
    spec: {
      tenant,
      model: { name: 'm', version: 'v1' },
      runtime: 'triton',
      allowedClientSubjects: [CLIENT, 'another-client'],
    },
  };
}

interface Variant {
  name: string;
  host: string;
  headers: Record<string, string>;
}

/** Applies the tenant's objects with `render`'s AuthConfig; returns what a Check for its endpoint needs. */
async function prepareVariant(
  kube: Kube,
  platform: PlatformConfig,
  name: string,
  tenant: string,
  render: Renderer,
): Promise<Variant> {
  const now = new Date();
  const ca = await createTenantCa({ tenant, now });
  const hostname = `${tenant}.${DOMAIN}`;
  const serving = await issueServingCertificate(ca, { hosts: [`*.${hostname}`], validityDays: 1, now });
  const runtime = parse(
    readFileSync(new URL('../charts/tenantmesh/runtimes/triton.yaml', import.meta.url), 'utf8'),
  ) as TenantRenderInput['runtimes'][number];
  const input: TenantRenderInput = {
    tenant: tenantResource(tenant),
    endpoints: [{ resource: endpointResource(platform, tenant), modelVersion: 'v1' }],
    runtimes: [runtime],
    platform,
    capabilities: { istio: true, authorino: true, openshift: false },
    secrets: {
      caCertificatePem: ca.certPem,
      servingCertificatePem: serving.certPem,
      servingPrivateKeyPem: serving.keyPem,
      storage: { accessKey: 'read', secretKey: 'only', sessionToken: '', expiresAt: '2030-01-01T00:00:00Z' },
    },
  };
  const authConfig = render(tenantContext(input));
  const objects = renderTenant(input).map((object) =>
    object.kind === 'AuthConfig' && object.metadata.name === authConfigName(tenant) ? authConfig : object,
  );
  for (const object of objects)
    await kube.applyObject(object as WireObject, { fieldManager: FIELD_MANAGER, force: true });
  await waitFor(
    async () => {
      const config = await kube.get<WireObject & { status?: { summary?: { ready?: boolean } } }>(
        'authorino.kuadrant.io/v1beta3',
        'AuthConfig',
        authConfigName(tenant),
        platform.servingNamespace,
      );
      return config?.status?.summary?.ready === true;
    },
    { description: `AuthConfig of ${tenant} Ready`, timeoutMs: 30_000, intervalMs: 200 },
  );
  const client = await issueClientCertificate(ca, { commonName: CLIENT, tenant, validityDays: 1, now });
  return {
    name,
    host: `${ENDPOINT}.${hostname}`,
    headers: gatewayHeaders({ 'x-forwarded-client-cert': xfccFor(client.certPem) }),
  };
}

interface PhaseResult {
  callsPerSecond: number;
  cpuMsPerCall: number;
  p50: number;
  p99: number;
  refused: number;
}

async function phase(
  check: ReturnType<typeof createExtAuthzClient>['check'],
  variant: Variant,
  calls: number,
  pid: number,
): Promise<PhaseResult> {
  const latencies: number[] = [];
  let refused = 0;
  let next = 0;
  const cpuBefore = cpuSeconds(pid);
  const start = performance.now();
  const caller = async () => {
    while (next < calls) {
      next += 1;
      const sent = performance.now();
      const result = await check({
        host: variant.host,
        path: '/inference.GRPCInferenceService/ModelInfer',
        headers: variant.headers,
      });
      latencies.push(performance.now() - sent);
      if (result.code !== 0) refused += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(pid) - cpuBefore;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    callsPerSecond: calls / seconds,
    cpuMsPerCall: (cpu * 1000) / calls,
    p50: at(0.5),
    p99: at(0.99),
    refused,
  };
}

async function main(): Promise<void> {
  const env = await startEnvironment({ minio: false, postgresql: false, controllerManager: false });
  try {
    const pid = env.supervisor.pid('authorino');
    if (pid === undefined) throw new Error('Authorino is not running');
    const info = env.info;
    const platform = platformConfig({
      domain: DOMAIN,
      servingNamespace: info.namespaces.serving,
      gatewayNamespace: info.namespaces.gateway,
      oidcIssuers: [localOidcIssuer(info.oidc)],
      serviceAccountTokenAudiences: ['tenantmesh'],
    });
    const kube = createKube({ kubeconfigPath: info.adminKubeconfigPath });
    const renderers: [string, Renderer][] = [
      ['rendered', renderAuthConfig],
      ['floor', floorAuthConfig],
    ];
    if (values.baseline) renderers.push(['baseline', await loadRenderer(values.baseline)]);
    const variants: Variant[] = [];
    for (const [name, render] of renderers)
      variants.push(await prepareVariant(kube, platform, name, `bench-${name}`, render));

    const client = createExtAuthzClient(info.authorino.grpcAddress);
    const results = new Map<string, PhaseResult[]>(variants.map((variant) => [variant.name, []]));
    try {
      for (const variant of variants) await phase(client.check, variant, WARMUP, pid);
      for (let round = 0; round < ROUNDS; round++) {
        for (const variant of variants) {
          const result = await phase(client.check, variant, CALLS, pid);
          results.get(variant.name)!.push(result);
          console.log(
            `[bench] round ${round + 1} ${variant.name}: ${result.cpuMsPerCall.toFixed(3)} ms CPU/call, ` +
              `${result.callsPerSecond.toFixed(0)} calls/s`,
          );
        }
      }
    } finally {
      client.close();
    }

    const load = loadAverages();
    console.log(
      `\nAuthorino ${CALLS} Checks per phase, ${CONCURRENCY} callers, ${ROUNDS} rounds, load average ${load}`,
    );
    console.log('| AuthConfig | Authorino CPU ms/call | calls/s | p50 ms | p99 ms | refused |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const [name, phases] of results) {
      const mean = (pick: (r: PhaseResult) => number) =>
        phases.reduce((sum, r) => sum + pick(r), 0) / phases.length;
      console.log(
        `| ${name} | ${mean((r) => r.cpuMsPerCall).toFixed(3)} | ${mean((r) => r.callsPerSecond).toFixed(0)} | ` +
          `${mean((r) => r.p50).toFixed(2)} | ${mean((r) => r.p99).toFixed(2)} | ` +
          `${phases.reduce((sum, r) => sum + r.refused, 0)} |`,
      );
    }
  } finally {
    await env.stop();
  }
}

await main();
