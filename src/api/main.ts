/**
 * Starts the management API against a real cluster and object store: `startApi(options)` for `npm start` and
 * tests, and `tenantmesh-server api --config <file>` (src/main.ts) in a cluster.
 */
import { parseArgs } from 'node:util';
import { Client as MinioClient } from 'minio';
import type { Logger } from 'pino';
import { createAuthenticator } from '../auth/authenticate.ts';
import { createAuthorizer } from '../auth/authorize.ts';
import { createOidcVerifier } from '../auth/jwt.ts';
import type { OidcIssuerConfig } from '../auth/jwt.ts';
import { createServiceAccountAuthenticator } from '../auth/tokenreview.ts';
import { consoleClientSecret, loadConfigFile, objectStoreCredentials } from '../config/file.ts';
import {
  bucketName,
  modelVersionPrefix,
  platformConfig,
  registryServiceName,
  storageCredentialSecretName,
} from '../domain/index.ts';
import type { OidcIssuer, PlatformConfig } from '../domain/index.ts';
import { createKube } from '../kube/index.ts';
import { createRegistryAccess } from '../auth/registry-access.ts';
import { createRegistryPool, databaseConfigFromEnv } from '../registry/database.ts';
import type { RegistryDatabaseConfig } from '../registry/database.ts';
import { migrate } from '../registry/migrate.ts';
import { RegistryRepository } from '../registry/repository.ts';
import { createModelStore } from '../storage/store.ts';
import { loadConsoleAssets } from '../console/assets.ts';
import { createConsole } from '../console/app.ts';
import { buildApp } from './app.ts';
import { createApiCaches } from './caches.ts';
import { createApiMetrics } from './metrics.ts';
import type { ApiMetrics } from './metrics.ts';
import type { AuditLog } from './audit.ts';
import {
  kubeCertificateRegistry,
  kubeEndpointStore,
  kubeRuntimeCatalog,
  kubeSubjectAccessReviewPort,
  kubeTenantCaSource,
  kubeTenantStore,
  kubeTokenReviewPort,
  pkiCaBundleValidator,
  versionInUseCheck,
} from './kube-ports.ts';
import { createApiLogger } from './logger.ts';
import type { ApiRoute } from './route.ts';
import { registryHostResolver } from './registry-hosts.ts';
import type { ModelMetadataSink } from './routes/models.ts';
import { identityOf } from './route.ts';
import { listen } from './server.ts';
import type { RequestTimeLimits } from './slow-clients.ts';
import { startUploadJanitor, type UploadJanitorOptions } from './upload-janitor.ts';

/** The object store the API writes model versions to (root or admin credentials; never shown to callers). */
export interface S3Options {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  region?: string;
}

/** Everything {@link startApi} needs. */
export interface StartApiOptions {
  /** Kubeconfig of the API's own identity; the default loading rules (KUBECONFIG, in-cluster) when absent. */
  kubeconfigPath?: string;
  s3: S3Options;
  /** Audiences a ServiceAccount token must be issued for; TokenReview is off when empty. */
  serviceAccountAudiences: string[];
  /** The platform; its `oidcIssuers` are the issuers the API trusts, mapped as the data plane maps them. */
  platform?: PlatformConfig;
  port: number;
  host: string;
  logger?: Logger;
  audit?: AuditLog;
  /** How long an authorization decision is reused (default 10 s). */
  authorizationCacheTtlMs?: number;
  /** How long start-up waits for the informer caches to load before serving anyway (default 10 s). */
  cacheSyncTimeoutMs?: number;
  /** Deadlines for slow clients and the connection cap (defaults in src/api/slow-clients.ts). */
  requestLimits?: Partial<RequestTimeLimits>;
  /** When abandoned upload sessions are swept (defaults in src/api/upload-janitor.ts). */
  uploadJanitor?: UploadJanitorOptions;
  /** The model registry's PostgreSQL; the registry API is served (and migrations run) when present. */
  registryDatabase?: RegistryDatabaseConfig;
  /** Serves the web console under /console, logging people in with this OIDC client. */
  console?: ConsoleConfig;
}

/** The web console's OIDC client and the URL people reach the API at (its redirect URI derives from it). */
export interface ConsoleConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** CA bundle (PEM) trusted for the issuer. */
  caPem?: string;
  publicUrl: string;
}

/** A running API. */
export interface RunningApi {
  url: string;
  /** The route table it serves (what the OpenAPI document describes). */
  routes: ApiRoute[];
  /** Its metrics (also served on /metrics). */
  metrics: ApiMetrics;
  close(): Promise<void>;
}

/** Wires the ports to the cluster and the object store and listens on `host:port` (0 picks a port). */
export async function startApi(options: StartApiOptions): Promise<RunningApi> {
  const platform = options.platform ?? platformConfig();
  const logger = options.logger ?? createApiLogger();
  const kube = createKube(options.kubeconfigPath ? { kubeconfigPath: options.kubeconfigPath } : {});
  const store = createModelStore({ ...options.s3, region: options.s3.region ?? 'us-east-1' });
  const s3 = new MinioClient({ ...options.s3, region: options.s3.region ?? 'us-east-1' });
  const ports = { servingNamespace: platform.servingNamespace, caNamespace: platform.caNamespace };

  const metrics = createApiMetrics();
  const counted = (kind: string) => () => metrics.reviews.inc({ kind });
  const verifiers = platform.oidcIssuers.map((issuer) => createOidcVerifier(oidcConfig(issuer)));
  const authenticator = createAuthenticator({
    oidc: verifiers,
    ...(options.serviceAccountAudiences.length > 0
      ? {
          serviceAccounts: createServiceAccountAuthenticator(
            kubeTokenReviewPort(kube, counted('tokenreview')),
            { audiences: options.serviceAccountAudiences },
          ),
        }
      : {}),
  });
  const authorizationTtl =
    options.authorizationCacheTtlMs !== undefined ? { ttlMs: options.authorizationCacheTtlMs } : {};
  const pool = options.registryDatabase ? createRegistryPool(options.registryDatabase) : undefined;
  let repository: RegistryRepository | undefined;
  if (pool) {
    const applied = await migrate(pool);
    if (applied.length > 0) logger.info({ versions: applied }, 'registry schema migrated');
    repository = new RegistryRepository(pool);
  }
  const caches = createApiCaches(
    kube,
    { tenants: kubeTenantStore(kube, ports), endpoints: kubeEndpointStore(kube, ports) },
    {
      servingNamespace: platform.servingNamespace,
      onError: (error) => logger.warn({ err: error }, 'API cache: list or watch failed; retrying'),
    },
  );
  // Serving before the caches load is fine (reads go through); waiting a moment spares the apiserver that.
  await waitAtMost(caches.synced(), options.cacheSyncTimeoutMs ?? 10_000);
  const endpoints = caches.endpoints;
  const tenants = caches.tenants;
  const { app, routes } = buildApp({
    authenticator,
    authorizer: createAuthorizer(kubeSubjectAccessReviewPort(kube, counted('subjectaccessreview')), {
      ...(options.authorizationCacheTtlMs !== undefined ? { ttlMs: options.authorizationCacheTtlMs } : {}),
    }),
    tenants: caches.tenants,
    visibility: caches.visibility,
    runtimes: kubeRuntimeCatalog(kube),
    caValidator: pkiCaBundleValidator(),
    readiness: {
      apiserver: async () => {
        await kube.createSelfSubjectReview();
      },
      caches: async () => {
        if (!caches.hasSynced()) throw new Error('the informer caches have not listed yet');
      },
      storage: async () => {
        await s3.listBuckets();
      },
      ...(pool
        ? {
            registry: async () => {
              await pool.query('SELECT 1');
            },
          }
        : {}),
    },
    metrics,
    logger,
    ...(options.audit ? { audit: options.audit } : {}),
    models: {
      store,
      isVersionInUse: versionInUseCheck(endpoints, store),
      ...(repository
        ? {
            metadata: registryMetadataSink(repository),
            records: {
              models: (tenant, names) => repository.describe(tenant, names),
              versions: (tenant, model, versions) => repository.describe(tenant, versions, model),
            },
          }
        : {}),
    },
    ...(repository
      ? {
          registry: {
            repository,
            tenantForHost: registryHostResolver(() => tenants.list(), platform),
            access: createRegistryAccess(kubeSubjectAccessReviewPort(kube), {
              namespace: platform.servingNamespace,
              serviceName: registryServiceName,
              ...authorizationTtl,
            }).check,
          },
        }
      : {}),
    endpoints: { store: endpoints, models: store },
    certificates: { registry: kubeCertificateRegistry(kube, ports), ca: kubeTenantCaSource(kube, ports) },
    ...(options.console
      ? {
          console: createConsole({
            oidc: {
              issuer: options.console.issuer,
              clientId: options.console.clientId,
              clientSecret: options.console.clientSecret,
              ...(options.console.caPem ? { caPem: options.console.caPem } : {}),
            },
            publicUrl: options.console.publicUrl,
            assets: loadConsoleAssets(),
          }),
        }
      : {}),
  });
  const server = await listen(app, {
    port: options.port,
    host: options.host,
    ...(options.requestLimits ? { limits: options.requestLimits } : {}),
  });
  logger.info({ url: server.url }, 'management API listening');
  const stopJanitor = startUploadJanitor(
    {
      tenantNames: async () => (await tenants.list()).map((tenant) => tenant.metadata.name),
      store,
      logger,
    },
    options.uploadJanitor,
  );
  return {
    url: server.url,
    routes,
    metrics,
    async close() {
      stopJanitor();
      caches.stop();
      await server.close();
      await pool?.end();
    },
  };
}

/** Resolves when `promise` does or after `ms`, whichever comes first; a rejection is left to readiness. */
async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/**
 * A version published through the upload path becomes registry metadata in one transaction: registered model,
 * model version (author: the uploader) and model artifact pointing at the version's prefix in the tenant's
 * bucket, with the tenant's read-only storage credentials Secret as its storageKey.
 */
function registryMetadataSink(repository: RegistryRepository): ModelMetadataSink {
  return {
    async published(ctx, tenant, { model, version, format }) {
      const storagePath = modelVersionPrefix(model, version);
      await repository.publishModelVersion(tenant, {
        model,
        version,
        uri: `s3://${bucketName(tenant)}/${storagePath}`,
        storageKey: storageCredentialSecretName(tenant),
        storagePath,
        author: identityOf(ctx).username,
        ...format,
      });
    },
    async deleted(tenant, model, version) {
      await repository.deleteModelVersion(tenant, model, version);
    },
  };
}

/** The verifier's configuration of a platform issuer: the same claim mappings the AuthConfig renders. */
export function oidcConfig(issuer: OidcIssuer): OidcIssuerConfig {
  return {
    issuer: issuer.issuerUrl,
    audiences: issuer.audiences,
    ...(issuer.usernameClaim ? { usernameClaim: issuer.usernameClaim } : {}),
    ...(issuer.usernamePrefix ? { usernamePrefix: issuer.usernamePrefix } : {}),
    ...(issuer.groupsClaim ? { groupsClaim: issuer.groupsClaim } : {}),
    ...(issuer.groupsPrefix ? { groupsPrefix: issuer.groupsPrefix } : {}),
    ...(issuer.certificateAuthority ? { caPem: issuer.certificateAuthority } : {}),
  };
}

const usage = `Usage: tenantmesh-server api --config <file> [options]

  --config <file>       the platform configuration file (the chart's ConfigMap; docs/configuration.md)
  --kubeconfig <file>   the API's own kubeconfig (default: KUBECONFIG or in-cluster)
  --host <host>         overrides api.host of the file
  --port <port>         overrides api.port of the file

The object store's credentials come from TENANTMESH_S3_ACCESS_KEY and TENANTMESH_S3_SECRET_KEY; the console's
client secret (when the file configures the console) from TENANTMESH_CONSOLE_CLIENT_SECRET.`;

/** Parses the command line: the configuration file, plus the few overrides a laptop run needs. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): StartApiOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      kubeconfig: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  if (!values.config) throw new Error(`--config <file> is required\n\n${usage}`);
  const config = loadConfigFile(values.config);
  const kubeconfigPath = values.kubeconfig ?? env['KUBECONFIG'];
  const port = values.port === undefined ? config.api.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be a port number');
  return {
    ...(kubeconfigPath ? { kubeconfigPath } : {}),
    s3: { ...config.objectStore, ...objectStoreCredentials(env) },
    serviceAccountAudiences: config.platform.serviceAccountTokenAudiences,
    platform: config.platform,
    host: values.host ?? config.api.host,
    port,
    ...((db) => (db ? { registryDatabase: db } : {}))(databaseConfigFromEnv(env)),
    ...(config.console ? { console: { ...config.console, clientSecret: consoleClientSecret(env) } } : {}),
  };
}

/** `tenantmesh-server api …`: runs until SIGINT/SIGTERM. */
export async function runApiCommand(argv: string[]): Promise<void> {
  const options = parseCommandLine(argv, process.env);
  if (options === 'help') return void console.log(usage);
  const api = await startApi(options);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await api.close();
}
