import { Registry, collectDefaultMetrics } from 'prom-client';
import { platformConfig, type PlatformConfig } from '../domain/index.ts';
import { createKube } from '../kube/index.ts';
import { createModelStore, type ModelStoreConfig } from '../storage/store.ts';
import { createOperator, type Operator } from './controller.ts';
import { storagePortFrom, type StoragePort } from './ports.ts';
import { startProbeServer } from './server.ts';

/** Options of {@link startOperator}. */
export interface StartOperatorOptions {
  /** kubeconfig file; KUBECONFIG or in-cluster configuration when absent. */
  kubeconfigPath?: string;
  platform?: Partial<PlatformConfig>;
  /** The object store the operator manages buckets in (admin credentials). */
  s3?: ModelStoreConfig;
  /** Or a ready storage port (tests, benchmarks). */
  store?: StoragePort;
  workers?: number;
  /** Port of /healthz, /readyz, /metrics (0: any free port; undefined: no server). */
  probePort?: number;
  leaderElection?: boolean;
  identity?: string;
  /** Also export Node process metrics (memory, event loop) on /metrics. */
  processMetrics?: boolean;
  log?(message: string): void;
}

/** A started operator process part. */
export interface RunningOperator {
  operator: Operator;
  /** Base URL of the probe server, when one was started. */
  probeUrl?: string;
  stop(): Promise<void>;
}

/** Starts the operator in this process (used by `npm start` and by main below). */
export async function startOperator(options: StartOperatorOptions): Promise<RunningOperator> {
  const kube = createKube(options.kubeconfigPath ? { kubeconfigPath: options.kubeconfigPath } : {});
  const store = options.store ?? (options.s3 ? storagePortFrom(createModelStore(options.s3)) : undefined);
  if (!store) throw new Error('the operator needs an object store (s3 options or a storage port)');
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const log = options.log ?? (() => undefined);
  const operator = createOperator({
    kube,
    platform: platformConfig(options.platform),
    store,
    registry,
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.leaderElection !== undefined ? { leaderElection: options.leaderElection } : {}),
    ...(options.identity !== undefined ? { identity: options.identity } : {}),
    onError: (key, err) =>
      log(`reconcile ${key} failed: ${err instanceof Error ? err.message : String(err)}`),
  });
  const probes =
    options.probePort === undefined
      ? undefined
      : await startProbeServer(
          { isAlive: () => true, isReady: operator.isReady, registry },
          options.probePort,
        );
  operator.start();
  return {
    operator,
    ...(probes ? { probeUrl: probes.url } : {}),
    async stop() {
      await operator.stop();
      await probes?.close();
    },
  };
}

/** Reads the configuration from the environment: KUBECONFIG, TENANTMESH_* and S3_* variables. */
function optionsFromEnv(env: NodeJS.ProcessEnv): StartOperatorOptions {
  const platform: Partial<PlatformConfig> = {};
  if (env['TENANTMESH_SERVING_NAMESPACE']) platform.servingNamespace = env['TENANTMESH_SERVING_NAMESPACE'];
  if (env['TENANTMESH_GATEWAY_NAMESPACE']) platform.gatewayNamespace = env['TENANTMESH_GATEWAY_NAMESPACE'];
  if (env['TENANTMESH_DOMAIN']) platform.domain = env['TENANTMESH_DOMAIN'];
  if (env['TENANTMESH_STORAGE_URL']) platform.storage = { endpoint: env['TENANTMESH_STORAGE_URL'] };
  const s3Url = new URL(env['S3_URL'] ?? 'http://127.0.0.1:9000');
  return {
    ...(env['KUBECONFIG'] ? { kubeconfigPath: env['KUBECONFIG'] } : {}),
    platform,
    s3: {
      endPoint: s3Url.hostname,
      port: Number(s3Url.port || (s3Url.protocol === 'https:' ? 443 : 80)),
      useSSL: s3Url.protocol === 'https:',
      accessKey: env['S3_ACCESS_KEY'] ?? '',
      secretKey: env['S3_SECRET_KEY'] ?? '',
    },
    workers: Number(env['TENANTMESH_WORKERS'] ?? 4),
    probePort: Number(env['TENANTMESH_PROBE_PORT'] ?? 8081),
    leaderElection: env['TENANTMESH_LEADER_ELECTION'] !== 'false',
    processMetrics: true,
    log: (message) => process.stderr.write(`${message}\n`),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const running = await startOperator(optionsFromEnv(process.env));
  const shutdown = () => {
    // SIGTERM: stop informers, drain in-flight reconciles, release the lease, then exit.
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
