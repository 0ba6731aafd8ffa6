import { spawn } from 'node:child_process';
import { provisionScript } from './versions.ts';

/** Paths of every provisioned artefact, keyed by name (etcd, kube-apiserver, istio-crds.yaml, …). */
export type Assets = Record<string, string>;

/** The components `npm start` and the integration tests need. */
export const allComponents = [
  'etcd',
  'kubernetes',
  'minio',
  'authorino',
  'istio-crds',
  'istioctl',
  'envoy',
  'schemathesis',
  'dex',
  'chromium',
  'postgresql',
  'model-registry-client',
] as const;

/** What the local one-node cluster needs: node binaries, host packages, the inputs of its own images. */
export const nodeComponents = [
  'etcd',
  'kubernetes',
  'kube-node',
  'node-packages',
  'pause',
  'coredns',
  'debian-rootfs',
] as const;

/** What the mesh on the local node needs on top: istiod and its proxy, Istio's charts and CRDs, Helm, Authorino. */
export const meshComponents = ['envoy', 'istio-node', 'istio-crds', 'helm', 'authorino'] as const;
/** Provisioned only for the tests that need them (slow to install, not part of the platform). */
export const optionalComponents = ['sklearn', 'kserve-client'] as const;
/**
 * The inputs of the node's application images built on request: MinIO, PostgreSQL, the model registry client, and
 * MLServer (the `mlserver` runtime).
 */
export const appComponents = ['minio', 'postgresql', 'model-registry-client', 'mlserver', 'dex'] as const;
export type Component =
  | (typeof allComponents)[number]
  | (typeof nodeComponents)[number]
  | (typeof meshComponents)[number]
  | (typeof optionalComponents)[number]
  | (typeof appComponents)[number];

/**
 * Runs scripts/testenv/provision.sh, which builds or installs each component into the version-keyed cache (a warm
 * cache answers in seconds), and returns where each artefact is. Build progress goes to our stderr.
 */
export async function provisionAssets(components: readonly Component[] = allComponents): Promise<Assets> {
  const child = spawn('bash', [provisionScript, ...components], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    process.stderr.write(chunk);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) {
    throw new Error(`provisioning the test components failed (exit ${code}):\n${stderr.trim()}`);
  }
  const assets: Assets = {};
  for (const line of stdout.split('\n')) {
    const index = line.indexOf('=');
    if (index > 0) assets[line.slice(0, index)] = line.slice(index + 1);
  }
  return assets;
}

/** Returns the path of one artefact, failing with a message that names it when it was not provisioned. */
export function assetPath(assets: Assets, name: string): string {
  const path = assets[name];
  if (!path) throw new Error(`test component ${name} was not provisioned (see scripts/testenv/provision.sh)`);
  return path;
}
