import { parseArgs } from 'node:util';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { loadConfigFile, objectStoreCredentials } from '../config/file.ts';
import { platformConfig, type PlatformConfig } from '../domain/index.ts';
import { createKube } from '../kube/index.ts';
import {
  createRegistryPool,
  databaseConfigFromEnv,
  type RegistryDatabaseConfig,
} from '../registry/database.ts';
import { migrate } from '../registry/migrate.ts';
import { RegistryRepository } from '../registry/repository.ts';
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
  /** The model registry's PostgreSQL: when given, every InferenceEndpoint is mirrored into its tenant's registry. */
  registryDatabase?: RegistryDatabaseConfig;
  workers?: number;
  /** Port of /healthz, /readyz, /metrics (0: any free port; undefined: no server). */
  probePort?: number;
  /** Address the probe server binds (default 127.0.0.1; in a Pod all addresses, for the kubelet). */
  probeHost?: string;
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
  const pool = options.registryDatabase ? createRegistryPool(options.registryDatabase) : undefined;
  if (pool) {
    // The API migrates too; whichever starts first applies the schema, the other waits on the same lock.
    try {
      await migrate(pool);
    } catch (error) {
      await pool.end();
      throw error;
    }
  }
  const operator = createOperator({
    kube,
    platform: platformConfig(options.platform),
    store,
    registry,
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.leaderElection !== undefined ? { leaderElection: options.leaderElection } : {}),
    ...(options.identity !== undefined ? { identity: options.identity } : {}),
    ...(pool ? { registryMirror: new RegistryRepository(pool) } : {}),
    onError: (key, err) =>
      log(`reconcile ${key} failed: ${err instanceof Error ? err.message : String(err)}`),
  });
  const probes =
    options.probePort === undefined
      ? undefined
      : await startProbeServer(
          { isAlive: () => true, isReady: operator.isReady, registry },
          options.probePort,
          options.probeHost,
        );
  operator.start();
  return {
    operator,
    ...(probes ? { probeUrl: probes.url } : {}),
    async stop() {
      await operator.stop();
      await probes?.close();
      await pool?.end();
    },
  };
}

const usage = `Usage: tenantmesh-server operator --config <file> [--kubeconfig <file>]

  --config <file>       the platform configuration file (the chart's ConfigMap; docs/configuration.md)
  --kubeconfig <file>   the operator's kubeconfig (default: KUBECONFIG or in-cluster)

The object store's credentials come from TENANTMESH_S3_ACCESS_KEY and TENANTMESH_S3_SECRET_KEY; POD_NAME
names this replica in the leader-election lease. With PGHOST (and PGPORT, PGUSER, PGPASSWORD, PGDATABASE,
PGSSLMODE) set, every InferenceEndpoint is mirrored into its tenant's model registry.`;

/** Parses the command line into {@link StartOperatorOptions}; everything else comes from the file. */
export function operatorOptions(argv: string[], env: NodeJS.ProcessEnv): StartOperatorOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      kubeconfig: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  if (!values.config) throw new Error(`--config <file> is required\n\n${usage}`);
  const config = loadConfigFile(values.config);
  const kubeconfigPath = values.kubeconfig ?? env['KUBECONFIG'];
  return {
    ...(kubeconfigPath ? { kubeconfigPath } : {}),
    platform: config.platform,
    s3: { ...config.objectStore, ...objectStoreCredentials(env) },
    workers: config.operator.workers,
    probePort: config.operator.probePort,
    probeHost: config.operator.probeHost,
    leaderElection: config.operator.leaderElection,
    ...(env['POD_NAME'] ? { identity: env['POD_NAME'] } : {}),
    ...((db) => (db ? { registryDatabase: db } : {}))(databaseConfigFromEnv(env)),
    processMetrics: true,
    log: (message) => process.stderr.write(`${message}\n`),
  };
}

/** `tenantmesh-server operator …`: runs until SIGTERM/SIGINT, then drains and releases the lease. */
export async function runOperatorCommand(argv: string[]): Promise<void> {
  const options = operatorOptions(argv, process.env);
  if (options === 'help') return void console.log(usage);
  const running = await startOperator(options);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // Stop informers, drain in-flight reconciles, release the lease.
  await running.stop();
}
