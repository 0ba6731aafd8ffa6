import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { createKube, type Kube, type KubeObject } from '../kube/index.ts';
import { trustIssuerCaInAuthorino } from './authorino.ts';
import {
  consoleReleaseValues,
  identityProvider,
  makeIdentityProvider,
  type NodeIdentityProvider,
} from './identity-provider.ts';
import { gatewayRelease, istioNamespace } from './mesh.ts';
import { waitForDeployment } from './node.ts';
import { renderObjectStore } from './object-store.ts';
import {
  registryDatabase,
  renderRegistryDatabase,
  renderRegistryDatabaseSecret,
} from './registry-database.ts';

const execFileAsync = promisify(execFile);

/** The chart in this repository: the node installs exactly what a user installs. */
export const tenantmeshChart = fileURLToPath(new URL('../../charts/tenantmesh', import.meta.url));

/** Names of the release on the node, fixed so tests, scripts and `npm start` agree. */
export const tenantmeshRelease = {
  name: 'tenantmesh',
  namespace: 'tenantmesh-system',
  servingNamespace: 'tenantmesh-serving',
  /** The chart's storage Secret (keys accessKey, secretKey); MinIO takes its root credentials from it too. */
  storageSecret: 'tenantmesh-storage',
  apiService: 'tenantmesh-api',
  /** The chart's `registry.databaseSecret`: how the API and the operator reach the node's PostgreSQL. */
  registryDatabaseSecret: 'tenantmesh-registry-database',
  /** ServiceAccount tokens the API accepts carry this audience (the chart's default). */
  tokenAudience: 'tenantmesh',
  /** A platform admin for demos and tests: a ServiceAccount, so a token is one `kubectl create token` away. */
  demoAdmin: { namespace: 'tenantmesh-demo', name: 'demo-admin' },
} as const;

/** Image references of the node (role → reference), as `NodeInfo.images` lists them. */
export type NodeImageReferences = Record<string, string>;

const splitReference = (reference: string) => {
  const tagAt = reference.lastIndexOf(':');
  return { repository: reference.slice(0, tagAt), tag: reference.slice(tagAt + 1) };
};

/**
 * The chart values the local node installs with: the locally built images (never pulled: tenantmesh, and MLServer
 * for the `mlserver` runtime), the gateway Istio's gateway chart created, one replica each, the demo admin
 * ServiceAccount among the platform admins, and the model registry on the node's PostgreSQL Pod. That connection
 * is plain TCP between Pods of one node (`sslMode: disable`); a production database is reached with `require`.
 */
export function renderReleaseValues(images: NodeImageReferences): Record<string, unknown> {
  const tenantmesh = images['tenantmesh'];
  if (!tenantmesh) throw new Error('the node has no tenantmesh image: start it with tenantmeshImage');
  return {
    image: { ...splitReference(tenantmesh), pullPolicy: 'Never' },
    ...(images['mlserver'] ? { runtimeImages: { mlserver: images['mlserver'] } } : {}),
    servingNamespace: tenantmeshRelease.servingNamespace,
    gateway: {
      namespace: istioNamespace,
      serviceAccount: gatewayRelease,
      selector: { istio: 'ingressgateway' },
    },
    registry: { databaseSecret: tenantmeshRelease.registryDatabaseSecret, sslMode: 'disable' },
    platformAdmins: [
      { kind: 'Group', name: 'tenantmesh:platform-admins' },
      { kind: 'ServiceAccount', ...tenantmeshRelease.demoAdmin },
    ],
    operator: { replicas: 1 },
    api: { replicas: 1 },
  };
}

/** Options of {@link installTenantmesh}. */
export interface InstallOptions {
  /**
   * Serve the web console, logging people in through Dex run as a Pod beside the chart (fresh demo users each
   * time); `publicUrl` is where the browser reaches the API.
   */
  console?: { publicUrl: string };
}

/** Where the node's release lives and how to drive helm against it. */
export interface ReleaseTarget {
  kubeconfig: string;
  helm: string;
  images: NodeImageReferences;
  /** Where the values file is written. */
  workDir: string;
}

/** Runs helm against the node; a failure carries helm's own message. */
export async function runHelm(target: ReleaseTarget, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(target.helm, [...args, '--kubeconfig', target.kubeconfig], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    throw new Error(`helm ${args.join(' ')}: ${(error as { stderr?: string }).stderr ?? String(error)}`, {
      cause: error,
    });
  }
}

/**
 * What the chart expects to exist before it is installed: its namespaces, the storage Secret (a random key made
 * once and kept, since MinIO keeps the one it started with), MinIO behind the chart's default storage
 * endpoint, and PostgreSQL with the registry's connection Secret (its password likewise made once). Returns the
 * values file for helm.
 */
export async function prepareRelease(
  target: ReleaseTarget,
  options: InstallOptions = {},
): Promise<{ valuesFile: string; identityProvider?: NodeIdentityProvider }> {
  const kube = createKube({ kubeconfigPath: target.kubeconfig });
  const { namespace, servingNamespace, storageSecret } = tenantmeshRelease;
  const apply = (object: KubeObject) =>
    kube.applyObject(object, { fieldManager: 'tenantmesh-node', force: true });
  const { demoAdmin } = tenantmeshRelease;
  for (const name of [namespace, servingNamespace, demoAdmin.namespace]) {
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { ...demoAdmin } });
  if (!(await kube.get('v1', 'Secret', storageSecret, namespace))) {
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: storageSecret, namespace },
      stringData: { accessKey: 'tenantmesh', secretKey: randomBytes(18).toString('base64url') },
    } as KubeObject);
  }
  const minio = target.images['minio'];
  if (!minio) throw new Error('the node has no minio image: start it with tenantmeshImage');
  for (const object of renderObjectStore({ image: minio, namespace, credentialsSecret: storageSecret })) {
    await apply(object);
  }
  await prepareRegistryDatabase(target, kube, apply);
  let dex: NodeIdentityProvider | undefined;
  if (options.console) {
    const image = target.images['dex'];
    if (!image) throw new Error('the node has no dex image: start it with tenantmeshImage');
    const made = await makeIdentityProvider({
      image,
      namespace,
      consolePublicUrl: options.console.publicUrl,
    });
    for (const object of made.objects) await apply(object);
    dex = made.info;
  }
  // Authorino verifies the issuer's tokens itself (discovery and JWKS over https), so it trusts Dex's CA too.
  if (dex) await trustIssuerCaInAuthorino(kube, dex.caPem);
  await waitForDeployment(kube, namespace, 'minio', 120_000);
  await waitForDeployment(kube, namespace, registryDatabase.name, 120_000);
  if (dex) await waitForDeployment(kube, namespace, identityProvider.name, 120_000);
  const valuesFile = path.join(target.workDir, 'tenantmesh-values.yaml');
  const values = renderReleaseValues(target.images);
  writeFileSync(
    valuesFile,
    stringify(
      dex && options.console
        ? { ...values, ...consoleReleaseValues(dex, options.console.publicUrl) }
        : values,
    ),
  );
  return { valuesFile, ...(dex ? { identityProvider: dex } : {}) };
}

/** PostgreSQL for the registry, and the chart's connection Secret holding the same password. */
async function prepareRegistryDatabase(
  target: ReleaseTarget,
  kube: Kube,
  apply: (object: KubeObject) => Promise<unknown>,
): Promise<void> {
  const { namespace, registryDatabaseSecret } = tenantmeshRelease;
  const image = target.images['postgresql'];
  if (!image) throw new Error('the node has no postgresql image: start it with tenantmeshImage');
  const existing = await kube.get('v1', 'Secret', registryDatabase.credentialsSecret, namespace);
  const kept = (existing?.['data'] as Record<string, string> | undefined)?.['password'];
  const password = kept ? Buffer.from(kept, 'base64').toString() : randomBytes(18).toString('base64url');
  if (!kept) {
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: registryDatabase.credentialsSecret, namespace },
      stringData: { password },
    } as KubeObject);
  }
  await apply(renderRegistryDatabaseSecret({ name: registryDatabaseSecret, namespace, password }));
  for (const object of renderRegistryDatabase({ image, namespace })) await apply(object);
}

/**
 * Installs (or upgrades to) the working tree's chart on the node and waits until the operator and the API are
 * available: what `npm start` runs and what e2e tests build on.
 */
export async function installTenantmesh(
  target: ReleaseTarget,
  log: (line: string) => void = () => {},
  options: InstallOptions = {},
): Promise<{ kube: Kube; valuesFile: string; identityProvider?: NodeIdentityProvider }> {
  const started = Date.now();
  const { valuesFile, identityProvider: dex } = await prepareRelease(target, options);
  const { name, namespace } = tenantmeshRelease;
  await runHelm(target, [
    'upgrade',
    '--install',
    name,
    tenantmeshChart,
    '-n',
    namespace,
    '--values',
    valuesFile,
    '--wait',
    '--timeout',
    '5m',
  ]);
  log(
    `[tenantmesh] chart installed, operator and API available in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return {
    kube: createKube({ kubeconfigPath: target.kubeconfig }),
    valuesFile,
    ...(dex ? { identityProvider: dex } : {}),
  };
}

/** A token of the demo platform admin for the API (a bound ServiceAccount token; `hours` long). */
export async function demoAdminToken(target: ReleaseTarget, kubectl: string, hours = 12): Promise<string> {
  const { demoAdmin, tokenAudience } = tenantmeshRelease;
  const { stdout } = await execFileAsync(kubectl, [
    '--kubeconfig',
    target.kubeconfig,
    'create',
    'token',
    demoAdmin.name,
    '-n',
    demoAdmin.namespace,
    '--audience',
    tokenAudience,
    '--duration',
    `${hours}h`,
  ]);
  return stdout.trim();
}
