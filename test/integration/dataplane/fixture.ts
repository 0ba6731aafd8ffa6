import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { inject } from 'vitest';
import { endpointResourceName, platformConfig } from '../../../src/domain/index.ts';
import type {
  InferenceEndpoint,
  KubeObject,
  PlatformConfig,
  ServingRuntime,
  Tenant,
  TenantSpec,
} from '../../../src/domain/index.ts';
import { createKube, type Kube, type KubeObject as WireObject } from '../../../src/kube/index.ts';
import {
  createCrl,
  createTenantCa,
  issueClientCertificate,
  issueServingCertificate,
} from '../../../src/pki/index.ts';
import type { IssuedCertificateWithKey, RevokedCertificate, TenantCa } from '../../../src/pki/index.ts';
import { renderExtAuthzPolicy } from '../../../src/render/authorizationpolicy.ts';
import { renderTenant } from '../../../src/render/index.ts';
import type { EnvironmentInfo } from '../../../src/testenv/environment.ts';
import { localOidcIssuer } from '../../../src/testenv/oidc-issuer.ts';
import { waitFor } from '../../../src/testenv/wait.ts';

/** Parent domain of the tenants these tests create; no other test uses it, so Authorino hosts never collide. */
export const DATAPLANE_DOMAIN = 'dataplane.tenantmesh.test';

/** gRPC status codes a real Authorino answers a Check with. */
export const OK = 0;
export const PERMISSION_DENIED = 7;
export const UNAUTHENTICATED = 16;

/**
 * What every contract test against the run's real Authorino starts from: the run's environment, an admin client,
 * the data-plane platform and its serving namespace.
 */
export function contractSetup() {
  const env = inject('env');
  const platform = dataplanePlatform(env);
  return {
    env,
    kube: createKube({ kubeconfigPath: env.adminKubeconfigPath }),
    platform,
    ns: platform.servingNamespace,
  };
}
export const FIELD_MANAGER = 'tenantmesh-operator';

/** The platform as the test environment's apiserver is configured: OIDC usernames from `email`, audience tenantmesh. */
export function dataplanePlatform(
  env: EnvironmentInfo,
  overrides: Partial<PlatformConfig> = {},
): PlatformConfig {
  return platformConfig({
    domain: DATAPLANE_DOMAIN,
    servingNamespace: env.namespaces.serving,
    gatewayNamespace: env.namespaces.gateway,
    oidcIssuers: [localOidcIssuer(env.oidc)],
    serviceAccountTokenAudiences: ['tenantmesh'],
    authorizationCacheTtlSeconds: 5,
    ...overrides,
  });
}

const runtimesDir = join(import.meta.dirname, '../../../charts/tenantmesh/runtimes');

/** A ServingRuntime shipped with the chart (`triton` speaks KServe v2, `tensorflow-serving` TF Serving). */
export function chartRuntime(name: string): ServingRuntime {
  return parse(readFileSync(join(runtimesDir, `${name}.yaml`), 'utf8')) as ServingRuntime;
}

export function tenantResource(name: string, spec: TenantSpec = {}): Tenant {
  return { apiVersion: 'tenantmesh.io/v1alpha1', kind: 'Tenant', metadata: { name, generation: 1 }, spec };
}

export function endpointResource(
  platform: PlatformConfig,
  tenant: string,
  endpoint: string,
  runtime: string,
  extra: Partial<InferenceEndpoint['spec']> = {},
): InferenceEndpoint {
  return {
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'InferenceEndpoint',
    metadata: {
      name: endpointResourceName(tenant, endpoint),
      namespace: platform.servingNamespace,
      generation: 1,
    },
    spec: { tenant, model: { name: 'double', version: 'v1' }, runtime, ...extra },
  };
}

/** A tenant's CA with the gateway's serving certificate for `*.<tenant>.<domain>`. */
export interface TenantPki {
  tenant: string;
  hostname: string;
  ca: TenantCa;
  serving: IssuedCertificateWithKey;
  client(commonName: string): Promise<IssuedCertificateWithKey>;
  crl(revoked: RevokedCertificate[]): Promise<string>;
}

export async function tenantPki(tenant: string, now = new Date()): Promise<TenantPki> {
  const hostname = `${tenant}.${DATAPLANE_DOMAIN}`;
  const ca = await createTenantCa({ tenant, now });
  const serving = await issueServingCertificate(ca, { hosts: [`*.${hostname}`], validityDays: 30, now });
  return {
    tenant,
    hostname,
    ca,
    serving,
    client: (commonName) => issueClientCertificate(ca, { commonName, tenant, validityDays: 30, now }),
    crl: (revoked) => createCrl(ca, revoked, { now }),
  };
}

/** renderTenant for a test tenant, with the secret material from its PKI, and the platform's CUSTOM policy. */
export function renderTestTenant(options: {
  platform: PlatformConfig;
  pki: TenantPki;
  spec?: TenantSpec;
  endpoints: InferenceEndpoint[];
  crlPem?: string;
}): KubeObject[] {
  const { platform, pki } = options;
  const tenantObjects = renderTenant({
    tenant: tenantResource(pki.tenant, options.spec),
    endpoints: options.endpoints.map((resource) => ({ resource, modelVersion: 'v1' })),
    runtimes: [chartRuntime('triton'), chartRuntime('tensorflow-serving')],
    platform,
    capabilities: { istio: true, authorino: true, openshift: false },
    secrets: {
      caCertificatePem: pki.ca.certPem,
      servingCertificatePem: pki.serving.certPem,
      servingPrivateKeyPem: pki.serving.keyPem,
      ...(options.crlPem !== undefined ? { crlPem: options.crlPem } : {}),
      storage: { accessKey: 'read', secretKey: 'only', sessionToken: '', expiresAt: '2030-01-01T00:00:00Z' },
    },
  });
  return [...tenantObjects, renderExtAuthzPolicy(platform)];
}

/** Server-side applies every object in order, as the operator does. */
export async function applyAll(kube: Kube, objects: KubeObject[]): Promise<void> {
  for (const object of objects)
    await kube.applyObject(object as WireObject, { fieldManager: FIELD_MANAGER, force: true });
}

export async function deleteAll(kube: Kube, objects: KubeObject[]): Promise<void> {
  for (const object of [...objects].reverse()) {
    await kube.delete(object.apiVersion, object.kind, object.metadata.name, object.metadata.namespace);
  }
}

/** Waits until Authorino reports the AuthConfig Ready (status.summary.ready), never on a sleep. */
export async function waitAuthConfigReady(kube: Kube, name: string, namespace: string): Promise<void> {
  let status: unknown;
  await waitFor(
    async () => {
      const config = await kube.get<WireObject & { status?: { summary?: { ready?: boolean } } }>(
        'authorino.kuadrant.io/v1beta3',
        'AuthConfig',
        name,
        namespace,
      );
      status = config?.status;
      return config?.status?.summary?.ready === true;
    },
    { description: `AuthConfig ${namespace}/${name} Ready`, timeoutMs: 30_000, intervalMs: 200 },
  ).catch((error: unknown) => {
    // Authorino's own status says why (a rejected expression, a host taken by another AuthConfig).
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}; status: ${JSON.stringify(status)}`,
    );
  });
}

export { GATEWAY_SPIFFE_ID, gatewayHeaders, xfccFor } from '../../support/gateway-check.ts';

/**
 * A CRL of the tenant CA that BoringSSL (Envoy, the Istio gateway) accepts. src/pki's createCrl currently
 * writes an empty crlEntryExtensions SEQUENCE per entry, which is invalid DER (RFC 5280: SIZE (1..MAX)) and
 * makes Envoy refuse the whole credential ("Failed to load CRL"); each entry here carries an invalidityDate
 * extension, so the list is never empty. Same issuer, same signature algorithm.
 */
