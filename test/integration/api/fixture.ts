import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { inject } from 'vitest';
import type { AuditEvent } from '../../../src/api/audit.ts';
import { startApi, type RunningApi, type StartApiOptions } from '../../../src/api/main.ts';
import {
  FIELD_MANAGERS,
  GROUP_VERSION,
  caKeySecretName,
  platformConfig,
  type ServingRuntime,
  type Tenant,
} from '../../../src/domain/index.ts';
import { createKube, type Kube } from '../../../src/kube/index.ts';
import { createTenantCa } from '../../../src/pki/index.ts';
import { renderPlatform } from '../../../src/render/index.ts';
import { renderManagementRbac } from '../../../src/render/rbac.ts';
import type { TenantContext } from '../../../src/render/types.ts';
import { createModelStore, type ModelStore } from '../../../src/storage/store.ts';
import type { EnvironmentInfo } from '../../../src/testenv/environment.ts';
import { oidcToken, serviceAccountToken } from '../../../src/testenv/identities.ts';
import { localOidcIssuer } from '../../../src/testenv/oidc-issuer.ts';
import { waitFor } from '../../../src/testenv/wait.ts';

export const env: EnvironmentInfo = inject('env');
export const controlUrl: string = inject('controlUrl');
export const platform = platformConfig({
  servingNamespace: env.namespaces.serving,
  oidcIssuers: [localOidcIssuer(env.oidc)],
});
export const PLATFORM_ADMINS_GROUP = 'tenantmesh:platform-admins';
export const RUNTIME = 'api-test-runtime';

/** How long the API under test reuses a decision: RBAC changes in these tests must show within moments. */
export const AUTHORIZATION_CACHE_TTL_MS = 1000;

/** A short random suffix, so runs and files never collide on names. */
export const suffix = (): string => randomBytes(3).toString('hex');

/** The API under test, started in-process on loopback against the run's apiserver and MinIO. */
export interface ApiUnderTest {
  api: RunningApi;
  kube: Kube;
  store: ModelStore;
  audit: AuditEvent[];
  /** `fetch` against the API with an optional bearer token. */
  call(
    method: string,
    path: string,
    options?: { token?: string; json?: unknown; body?: Buffer | string; headers?: Record<string, string> },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read response bodies loosely
  ): Promise<{ status: number; text: string; json: () => any; headers: Headers }>;
}

/** Starts the API exactly as `npm start` would wire it, trusting the run's OIDC issuer like the apiserver. */
export async function startApiUnderTest(overrides: Partial<StartApiOptions> = {}): Promise<ApiUnderTest> {
  const audit: AuditEvent[] = [];
  const api = await startApi({
    kubeconfigPath: env.adminKubeconfigPath,
    s3: env.s3,
    serviceAccountAudiences: [env.oidc.audience],
    platform,
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    audit: { record: (event) => audit.push({ schema_version: 1, time: '', ...event }) },
    // RBAC changes in these tests must show within moments.
    authorizationCacheTtlMs: AUTHORIZATION_CACHE_TTL_MS,
    ...(env.postgresql ? { registryDatabase: env.postgresql } : {}),
    ...overrides,
  });
  const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
  await kube.applyObject(runtime() as never, { fieldManager: 'api-tests' });
  return {
    api,
    kube,
    store: createModelStore({ ...env.s3, region: 'us-east-1' }),
    audit,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token) headers['Authorization'] = `Bearer ${options.token}`;
      let body: Buffer | string | undefined = options.body;
      if (options.json !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(options.json);
      }
      const response = await fetch(api.url + path, { method: method.toUpperCase(), headers, body });
      const text = await response.text();
      return { status: response.status, text, headers: response.headers, json: () => JSON.parse(text) };
    },
  };
}

function runtime(): ServingRuntime {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'ServingRuntime',
    metadata: { name: RUNTIME },
    spec: {
      protocols: ['kserve-v2-grpc'],
      ports: { grpc: 9000 },
      container: {
        image: 'example.test/runtime:1',
        resources: { requests: { cpu: '500m', memory: '256Mi' } },
      },
      modelPath: { mountPath: '/models', template: '{model}/{version}' },
    },
  };
}

/** The callers of the cross-tenant checks: tokens as the apiserver would authenticate them. */
export interface Callers {
  platformAdmin: string;
  tenantAdmin: string;
  tenantUser: string;
  serviceAccount: string;
  serviceAccountSubject: { kind: 'ServiceAccount'; name: string; namespace: string };
}

/** OIDC users (username = email claim, groups claim) and a ServiceAccount for one tenant. */
export async function callersOf(tenant: string): Promise<Callers> {
  const email = (who: string) => `${who}@${tenant}.example.test`;
  const saName = `${tenant}-pipeline`;
  return {
    platformAdmin: await oidcToken(env, {
      sub: 'root',
      email: 'root@platform.example.test',
      groups: [PLATFORM_ADMINS_GROUP],
    }),
    tenantAdmin: await oidcToken(env, { sub: `${tenant}-admin`, email: email('admin'), groups: [] }),
    tenantUser: await oidcToken(env, {
      sub: `${tenant}-user`,
      email: email('user'),
      groups: [`${tenant}-users`],
    }),
    serviceAccount: await serviceAccountToken(env, env.namespaces.serving, saName, {
      audiences: [env.oidc.audience],
    }),
    serviceAccountSubject: { kind: 'ServiceAccount', name: saName, namespace: env.namespaces.serving },
  };
}

/** The admin username of `callersOf(tenant).tenantAdmin`. */
export const tenantAdminUser = (tenant: string): string => `admin@${tenant}.example.test`;

/** Applies the platform-admin RBAC the operator would render. */
export async function applyPlatformRbac(kube: Kube): Promise<void> {
  for (const object of renderPlatform(platform, { istio: false, authorino: false, openshift: false })) {
    await kube.applyObject(object as never, { fieldManager: FIELD_MANAGERS.operator, force: true });
  }
}

/**
 * Does what the operator does for a new tenant that the API tests rely on: the management-plane RBAC
 * (rendered by src/render), the bucket, and a generated CA Secret when none was provided.
 */
export async function actAsOperator(harness: ApiUnderTest, name: string): Promise<Tenant> {
  const tenant = (await harness.kube.get(GROUP_VERSION, 'Tenant', name)) as unknown as Tenant;
  const ctx: TenantContext = { tenant, name, hostname: `${name}.example.test`, platform, endpoints: [] };
  for (const object of renderManagementRbac(ctx)) {
    await harness.kube.applyObject(object as never, { fieldManager: FIELD_MANAGERS.operator, force: true });
  }
  await harness.store.ensureBucket(name);
  if (!tenant.spec.ca?.secretRef) {
    const ca = await createTenantCa({ tenant: name, now: new Date() });
    await harness.kube.applyObject(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: caKeySecretName(name), namespace: platform.caNamespace },
        type: 'kubernetes.io/tls',
        stringData: { 'tls.crt': ca.certPem, 'tls.key': ca.keyPem },
      },
      { fieldManager: FIELD_MANAGERS.operator, force: true },
    );
  }
  return tenant;
}

/** Waits until RBAC lets `token` see tenant `name` through the API (bindings reach the authorizer async). */
export async function waitUntilVisible(harness: ApiUnderTest, name: string, token: string): Promise<void> {
  await waitFor(async () => (await harness.call('get', `/v1/tenants/${name}`, { token })).status === 200, {
    description: `tenant ${name} to be visible to its caller`,
    timeoutMs: 20_000,
    intervalMs: 200,
  });
}

/** Creates a tenant through the API as platform admin, then plays the operator for it. */
export async function createTenant(
  harness: ApiUnderTest,
  callers: Callers,
  name: string,
  body: Record<string, unknown> = {},
): Promise<Tenant> {
  const created = await harness.call('post', '/v1/tenants', {
    token: callers.platformAdmin,
    json: {
      name,
      admins: [{ kind: 'User', name: tenantAdminUser(name) }],
      users: [callers.serviceAccountSubject],
      ...body,
    },
  });
  if (created.status !== 201) throw new Error(`creating tenant ${name}: ${created.status} ${created.text}`);
  const tenant = await actAsOperator(harness, name);
  await waitUntilVisible(harness, name, callers.tenantAdmin);
  await waitUntilVisible(harness, name, callers.serviceAccount);
  return tenant;
}

/** Removes what a test tenant left behind (the operator's finalizer would do it in a real platform). */
export async function removeTenant(harness: ApiUnderTest, name: string): Promise<void> {
  await harness.kube.delete(GROUP_VERSION, 'Tenant', name).catch(() => undefined);
  const endpoints = await harness.kube.list(GROUP_VERSION, 'InferenceEndpoint', {
    namespace: platform.servingNamespace,
  });
  for (const e of endpoints.items.filter((x) => (x['spec'] as { tenant?: string }).tenant === name)) {
    await harness.kube.delete(GROUP_VERSION, 'InferenceEndpoint', e.metadata.name, platform.servingNamespace);
  }
  await harness.store.removeBucket(name, { purge: true }).catch(() => undefined);
}

/** Stops or starts the run's MinIO through the global setup's control endpoint. */
export async function minio(action: 'stop' | 'start'): Promise<void> {
  const response = await fetch(`${controlUrl}/minio/${action}`, { method: 'POST' });
  if (response.status !== 204)
    throw new Error(`minio ${action}: ${response.status} ${await response.text()}`);
}
