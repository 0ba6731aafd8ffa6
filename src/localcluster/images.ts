import path from 'node:path';
import { assetPath, type Assets } from '../testenv/provision.ts';
import { buildImage, type BuiltImage, type ImageSpec } from './image-archive.ts';

/** Repository prefix of the images the node builds itself; a user pushing them elsewhere overrides it in values. */
export const localRegistry = 'tenantmesh.local';

/** The node's own images by role; each value is an image reference tagged by the digest of its inputs. */
export interface NodeImages {
  pause: BuiltImage;
  coredns: BuiltImage;
  /** Debian with python3: test Pods and the base of the libc-needing images. */
  debian: BuiltImage;
}

/** The mesh's images (Istio's named as its charts name them) and Authorino, which the gateway calls. */
export interface MeshImages {
  /** istiod: pilot-discovery. */
  pilot: BuiltImage;
  /** Istio's proxy: pilot-agent with the upstream Envoy and Istio's bootstrap template. */
  proxyv2: BuiltImage;
  /** Authorino's static binary, nothing else. */
  authorino: BuiltImage;
}

const defaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const rootfsOf = (assets: Assets) => ({ kind: 'tar' as const, path: assetPath(assets, 'rootfs.tar') });
const binaryOf = (assets: Assets) => (asset: string, target: string) => ({
  source: assetPath(assets, asset),
  target,
});

/** What each node image is made of: provisioned binaries and the Debian root filesystem, nothing pulled. */
export function nodeImageSpecs(assets: Assets): Record<keyof NodeImages, ImageSpec> {
  const rootfs = rootfsOf(assets);
  const binary = binaryOf(assets);
  return {
    pause: {
      repository: `${localRegistry}/pause`,
      layers: [{ kind: 'files', files: [binary('pause', '/pause')] }],
      config: { entrypoint: ['/pause'], user: '65535:65535' },
    },
    coredns: {
      repository: `${localRegistry}/coredns`,
      layers: [{ kind: 'files', files: [binary('coredns', '/coredns')] }],
      config: { entrypoint: ['/coredns'] },
    },
    debian: {
      repository: `${localRegistry}/debian`,
      layers: [rootfs],
      config: { cmd: ['/bin/bash'], env: [defaultPath] },
    },
  };
}

/** What each mesh image is made of. */
export function meshImageSpecs(assets: Assets): Record<keyof MeshImages, ImageSpec> {
  const rootfs = rootfsOf(assets);
  const binary = binaryOf(assets);
  return {
    pilot: {
      repository: `${localRegistry}/pilot`,
      layers: [
        rootfs,
        { kind: 'files', files: [binary('pilot-discovery', '/usr/local/bin/pilot-discovery')] },
      ],
      config: { entrypoint: ['/usr/local/bin/pilot-discovery'], user: '1337:1337', env: [defaultPath] },
    },
    proxyv2: {
      repository: `${localRegistry}/proxyv2`,
      layers: [
        rootfs,
        {
          kind: 'files',
          files: [
            binary('pilot-agent', '/usr/local/bin/pilot-agent'),
            binary('envoy', '/usr/local/bin/envoy'),
            binary('envoy_bootstrap.json', '/var/lib/istio/envoy/envoy_bootstrap_tmpl.json'),
          ],
        },
      ],
      config: {
        entrypoint: ['/usr/local/bin/pilot-agent'],
        user: '1337:1337',
        env: [defaultPath, 'ISTIO_META_ISTIO_PROXY_SHA=upstream-envoy'],
      },
    },
    authorino: {
      repository: `${localRegistry}/authorino`,
      layers: [{ kind: 'files', files: [binary('authorino', '/authorino')] }],
      config: { entrypoint: ['/authorino'], user: '65532:65532' },
    },
  };
}

/** Builds (or finds in the cache) every image of a set of specs. */
export async function buildImages<K extends string>(
  specs: Record<K, ImageSpec>,
  cacheDir: string,
): Promise<Record<K, BuiltImage>> {
  const images = {} as Record<K, BuiltImage>;
  for (const [role, spec] of Object.entries(specs) as [K, ImageSpec][]) {
    images[role] = await buildImage(spec, path.join(cacheDir, 'images'));
  }
  return images;
}

/** MinIO's static binary: the object store the tenantmesh chart's storage settings point at. */
export function minioImageSpec(assets: Assets): ImageSpec {
  return {
    repository: `${localRegistry}/minio`,
    layers: [{ kind: 'files', files: [binaryOf(assets)('minio', '/minio')] }],
    config: { entrypoint: ['/minio'], user: '65532:65532' },
  };
}

/** Dex's static binary (web templates built in): the identity provider of the node's console (opt-in). */
export function dexImageSpec(assets: Assets): ImageSpec {
  return {
    repository: `${localRegistry}/dex`,
    layers: [{ kind: 'files', files: [binaryOf(assets)('dex', '/dex')] }],
    config: { entrypoint: ['/dex'], user: '65532:65532' },
  };
}

/**
 * The upstream Kubeflow Model Registry Python client (the provisioned `model-registry` virtualenv's packages) on
 * Debian's Python: a Pod on the node can use a tenant's registry by its in-cluster Service name, as a notebook or
 * pipeline step would. The virtualenv was made by the host's Python of the same Debian release as the image's.
 */
export function modelRegistryClientImageSpec(assets: Assets): ImageSpec {
  const venv = path.join(path.dirname(assetPath(assets, 'model-registry-python')), 'venv');
  const sitePackages = '/opt/model-registry/site-packages';
  return {
    repository: `${localRegistry}/model-registry-client`,
    layers: [
      rootfsOf(assets),
      {
        kind: 'files',
        files: [{ source: path.join(venv, 'lib/python3.11/site-packages'), target: sitePackages }],
      },
    ],
    config: {
      cmd: ['python3'],
      user: '65532:65532',
      env: [defaultPath, `PYTHONPATH=${sitePackages}`, 'PYTHONDONTWRITEBYTECODE=1'],
    },
  };
}

const mlserverSitePackages = '/opt/mlserver/site-packages';

/**
 * MLServer, the KServe v2 runtime of the chart's `mlserver` ServingRuntime: the Debian root file system (its
 * python3) with MLServer and its scikit-learn runtime from PyPI (provisioned with pinned versions, byte-compiled)
 * and an `mlserver` command on PATH. Nothing in it writes to the root file system, which serving Pods mount
 * read-only; the runtime's environment points MLServer's own directories at /tmp.
 */
export function mlserverImageSpec(assets: Assets): ImageSpec {
  const binary = binaryOf(assets);
  return {
    repository: `${localRegistry}/mlserver`,
    layers: [
      rootfsOf(assets),
      {
        kind: 'files',
        files: [
          binary('mlserver-site-packages', mlserverSitePackages),
          binary('mlserver', '/usr/local/bin/mlserver'),
        ],
      },
    ],
    config: {
      entrypoint: ['/usr/local/bin/mlserver'],
      cmd: ['start', '/models'],
      workingDir: '/tmp',
      user: '65532:65532',
      env: [
        defaultPath,
        `PYTHONPATH=${mlserverSitePackages}`,
        'PYTHONDONTWRITEBYTECODE=1',
        'PYTHONUNBUFFERED=1',
        'HOME=/tmp',
      ],
    },
  };
}
