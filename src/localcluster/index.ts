import os from 'node:os';
import path from 'node:path';
import { appComponents, meshComponents, nodeComponents, provisionAssets } from '../testenv/provision.ts';
import { installAuthorino } from './authorino.ts';
import {
  buildImages,
  meshImageSpecs,
  minioImageSpec,
  mlserverImageSpec,
  dexImageSpec,
  modelRegistryClientImageSpec,
  nodeImageSpecs,
} from './images.ts';
import { postgresqlImageSpec } from './registry-database.ts';
import { installMesh } from './mesh.ts';
import { nodeLayout } from './layout.ts';
import { tenantmeshImageSpec } from './tenantmesh-image.ts';
import { nodeUnavailableReason, startNode, type RunningNode } from './node.ts';

export { nodeUnavailableReason } from './node.ts';
export type { NodeInfo, RunningNode } from './node.ts';
export { cleanHost, isCleanupEmpty, type CleanupReport } from './host.ts';
export { nodeLayout, nodePaths, type NodeLayout } from './layout.ts';

/** The platform's state directory: the node's root and lock live here (outside any repository). */
export function defaultStateRoot(): string {
  return process.env['TENANTMESH_STATE'] ?? '/var/lib/tenantmesh';
}

function cacheRoot(): string {
  return (
    process.env['TENANTMESH_CACHE'] ??
    path.join(process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'), 'tenantmesh')
  );
}

export interface LocalClusterOptions {
  /** Where component logs go; kept after stop. */
  logDir: string;
  stateRoot?: string;
  log?: (line: string) => void;
  handleSignals?: boolean;
  apiserverHostPort?: number;
  /** How long to wait for another process's node to stop before failing (0 = fail at once, the default). */
  lockWaitMs?: number;
  /** Install Istio (istiod, the ingress gateway, sidecar injection) from Istio's charts and Authorino; default true. */
  mesh?: boolean;
  /**
   * Build the tenantmesh image from the working tree, MinIO's and PostgreSQL's (what the chart needs around it),
   * the model registry Python client's and MLServer's (the `mlserver` runtime), and import them (for
   * `helm install charts/tenantmesh` and endpoints that serve).
   */
  tenantmeshImage?: boolean;
}

/**
 * The local one-node cluster `npm start` and the e2e tests run: provisions the components, builds the images
 * (reused while their inputs are unchanged), and brings up the node. Fails at once with a one-line reason where a
 * node cannot run (not Linux, not root).
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<RunningNode> {
  const reason = nodeUnavailableReason();
  if (reason) throw new Error(reason);
  const log = options.log ?? (() => {});
  const provisioned = Date.now();
  const withMesh = options.mesh ?? true;
  const assets = await provisionAssets([
    ...nodeComponents,
    ...(withMesh ? meshComponents : []),
    ...(options.tenantmeshImage ? appComponents : []),
  ]);
  log(`[node] components provisioned in ${((Date.now() - provisioned) / 1000).toFixed(1)} s`);
  const built = Date.now();
  const images = await buildImages(nodeImageSpecs(assets), cacheRoot());
  const meshImages = withMesh ? await buildImages(meshImageSpecs(assets), cacheRoot()) : undefined;
  const appImages = options.tenantmeshImage
    ? await buildImages(
        {
          tenantmesh: await tenantmeshImageSpec(assets, cacheRoot(), log),
          minio: minioImageSpec(assets),
          postgresql: await postgresqlImageSpec(assets),
          'model-registry-client': modelRegistryClientImageSpec(assets),
          mlserver: mlserverImageSpec(assets),
          dex: dexImageSpec(assets),
        },
        cacheRoot(),
      )
    : {};
  log(`[node] images ready in ${((Date.now() - built) / 1000).toFixed(1)} s`);
  const node = await startNode({
    layout: nodeLayout(options.stateRoot ?? defaultStateRoot()),
    assets,
    images,
    extraImages: { ...meshImages, ...appImages },
    logDir: options.logDir,
    log,
    ...(options.handleSignals === undefined ? {} : { handleSignals: options.handleSignals }),
    ...(options.apiserverHostPort === undefined ? {} : { apiserverHostPort: options.apiserverHostPort }),
    ...(options.lockWaitMs === undefined ? {} : { lockWaitMs: options.lockWaitMs }),
  });
  if (!meshImages) return node;
  try {
    const started = Date.now();
    await installMesh({
      kube: node.kube,
      assets,
      images: meshImages,
      kubeconfig: node.info.adminKubeconfigPath,
      workDir: options.logDir,
      log,
    });
    log(`[node] mesh installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await installAuthorino({ kube: node.kube, assets, image: meshImages.authorino.reference, log });
  } catch (error) {
    const tails = node.supervisor.tails(20);
    await node.stop();
    throw new Error(
      `installing Istio and Authorino on the local node failed: ${(error as Error).message}\n${tails}`,
      {
        cause: error,
      },
    );
  }
  return node;
}
