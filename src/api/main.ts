/**
 * Starts the management API against a real cluster and object store: `startApi(options)` for `npm start` and
 * tests, and a command line when this file is run directly (`node --import tsx src/api/main.ts --help`).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Client as MinioClient } from 'minio';
import type { Logger } from 'pino';
import { createAuthenticator } from '../auth/authenticate.ts';
import { createAuthorizer } from '../auth/authorize.ts';
import { createOidcVerifier } from '../auth/jwt.ts';
import type { OidcIssuerConfig } from '../auth/jwt.ts';
import { createServiceAccountAuthenticator } from '../auth/tokenreview.ts';
import { platformConfig } from '../domain/index.ts';
import type { PlatformConfig } from '../domain/index.ts';
import { createKube } from '../kube/index.ts';
import { createModelStore } from '../storage/store.ts';
import { buildApp } from './app.ts';
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
import { listen } from './server.ts';
import type { RequestTimeLimits } from './slow-clients.ts';

/** The object store the API writes model versions to (root or admin credentials; never shown to callers). */
export interface S3Options {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  region?: string;
}

/** One trusted OIDC issuer; the claim mappings must equal the kube-apiserver's for the same issuer. */
export interface OidcIssuerOptions {
  issuer: string;
  audiences: string[];
  usernameClaim?: string;
  usernamePrefix?: string;
  groupsClaim?: string;
  groupsPrefix?: string;
  /** CA bundle (PEM) trusted for the issuer's discovery document and JWKS. */
  caPem?: string;
}

/** Everything {@link startApi} needs. */
export interface StartApiOptions {
  /** Kubeconfig of the API's own identity; the default loading rules (KUBECONFIG, in-cluster) when absent. */
  kubeconfigPath?: string;
  s3: S3Options;
  oidcIssuers: OidcIssuerOptions[];
  /** Audiences a ServiceAccount token must be issued for; TokenReview is off when empty. */
  serviceAccountAudiences: string[];
  platform?: PlatformConfig;
  /** Namespace of the tenant CA Secrets (default: the serving namespace). */
  caNamespace?: string;
  port: number;
  host: string;
  logger?: Logger;
  audit?: AuditLog;
  /** How long an authorization decision is reused (default 10 s). */
  authorizationCacheTtlMs?: number;
  /** Deadlines for slow clients and the connection cap (defaults in src/api/slow-clients.ts). */
  requestLimits?: Partial<RequestTimeLimits>;
}

/** A running API. */
export interface RunningApi {
  url: string;
  /** The route table it serves (what the OpenAPI document describes). */
  routes: ApiRoute[];
  close(): Promise<void>;
}

/** Wires the ports to the cluster and the object store and listens on `host:port` (0 picks a port). */
export async function startApi(options: StartApiOptions): Promise<RunningApi> {
  const platform = options.platform ?? platformConfig();
  const logger = options.logger ?? createApiLogger();
  const kube = createKube(options.kubeconfigPath ? { kubeconfigPath: options.kubeconfigPath } : {});
  const store = createModelStore({ ...options.s3, region: options.s3.region ?? 'us-east-1' });
  const s3 = new MinioClient({ ...options.s3, region: options.s3.region ?? 'us-east-1' });
  const ports = { servingNamespace: platform.servingNamespace, caNamespace: options.caNamespace };

  const verifiers = options.oidcIssuers.map((issuer) => createOidcVerifier(oidcConfig(issuer)));
  const authenticator = createAuthenticator({
    oidc: verifiers,
    ...(options.serviceAccountAudiences.length > 0
      ? {
          serviceAccounts: createServiceAccountAuthenticator(kubeTokenReviewPort(kube), {
            audiences: options.serviceAccountAudiences,
          }),
        }
      : {}),
  });
  const endpoints = kubeEndpointStore(kube, ports);
  const { app, routes } = buildApp({
    authenticator,
    authorizer: createAuthorizer(kubeSubjectAccessReviewPort(kube), {
      ...(options.authorizationCacheTtlMs !== undefined ? { ttlMs: options.authorizationCacheTtlMs } : {}),
    }),
    tenants: kubeTenantStore(kube, ports),
    runtimes: kubeRuntimeCatalog(kube),
    caValidator: pkiCaBundleValidator(),
    readiness: {
      apiserver: async () => {
        await kube.createSelfSubjectReview();
      },
      storage: async () => {
        await s3.listBuckets();
      },
    },
    logger,
    ...(options.audit ? { audit: options.audit } : {}),
    models: { store, isVersionInUse: versionInUseCheck(endpoints, store) },
    endpoints: { store: endpoints, models: store },
    certificates: { registry: kubeCertificateRegistry(kube, ports), ca: kubeTenantCaSource(kube, ports) },
  });
  const server = await listen(app, {
    port: options.port,
    host: options.host,
    ...(options.requestLimits ? { limits: options.requestLimits } : {}),
  });
  logger.info({ url: server.url }, 'management API listening');
  return { url: server.url, routes, close: server.close };
}

function oidcConfig(issuer: OidcIssuerOptions): OidcIssuerConfig {
  return {
    issuer: issuer.issuer,
    audiences: issuer.audiences,
    ...(issuer.usernameClaim ? { usernameClaim: issuer.usernameClaim } : {}),
    ...(issuer.usernamePrefix ? { usernamePrefix: issuer.usernamePrefix } : {}),
    ...(issuer.groupsClaim ? { groupsClaim: issuer.groupsClaim } : {}),
    ...(issuer.groupsPrefix ? { groupsPrefix: issuer.groupsPrefix } : {}),
    ...(issuer.caPem ? { caPem: issuer.caPem } : {}),
  };
}

const usage = `Usage: node --import tsx src/api/main.ts [options]

  --kubeconfig <file>          the API's own kubeconfig (default: KUBECONFIG or in-cluster)
  --s3 <url>                   object store, e.g. http://127.0.0.1:9000 (credentials from
                               TENANTMESH_S3_ACCESS_KEY / TENANTMESH_S3_SECRET_KEY)
  --oidc-issuer <url>          trusted OIDC issuer (repeatable with --oidc-audience etc. applying to all)
  --oidc-audience <aud>        accepted audience (default tenantmesh)
  --oidc-username-claim <c>    username claim, as the apiserver maps it (default sub)
  --oidc-groups-claim <c>      groups claim (default groups)
  --oidc-ca-file <file>        CA bundle trusted for the issuer
  --sa-audience <aud>          ServiceAccount token audience (default tenantmesh; "" turns TokenReview off)
  --serving-namespace <ns>     (default tenantmesh-serving)
  --ca-namespace <ns>          namespace of tenant CA Secrets (default: the serving namespace)
  --host <host>                (default 127.0.0.1)
  --port <port>                (default 8080)`;

/** Parses the command line (flags win over TENANTMESH_* environment variables). */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): StartApiOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      s3: { type: 'string' },
      'oidc-issuer': { type: 'string', multiple: true },
      'oidc-audience': { type: 'string' },
      'oidc-username-claim': { type: 'string' },
      'oidc-groups-claim': { type: 'string' },
      'oidc-ca-file': { type: 'string' },
      'sa-audience': { type: 'string' },
      'serving-namespace': { type: 'string' },
      'ca-namespace': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const s3Url = new URL(values.s3 ?? env['TENANTMESH_S3'] ?? 'http://127.0.0.1:9000');
  const accessKey = env['TENANTMESH_S3_ACCESS_KEY'];
  const secretKey = env['TENANTMESH_S3_SECRET_KEY'];
  if (!accessKey || !secretKey) {
    throw new Error('TENANTMESH_S3_ACCESS_KEY and TENANTMESH_S3_SECRET_KEY must be set');
  }
  const caFile = values['oidc-ca-file'] ?? env['TENANTMESH_OIDC_CA_FILE'];
  const issuers =
    values['oidc-issuer'] ?? (env['TENANTMESH_OIDC_ISSUER'] ? [env['TENANTMESH_OIDC_ISSUER']] : []);
  const audience = values['oidc-audience'] ?? env['TENANTMESH_OIDC_AUDIENCE'] ?? 'tenantmesh';
  const saAudience = values['sa-audience'] ?? env['TENANTMESH_SA_AUDIENCE'] ?? 'tenantmesh';
  const useSSL = s3Url.protocol === 'https:';
  return {
    ...((values.kubeconfig ?? env['KUBECONFIG'])
      ? { kubeconfigPath: (values.kubeconfig ?? env['KUBECONFIG'])! }
      : {}),
    s3: {
      endPoint: s3Url.hostname,
      port: s3Url.port ? Number(s3Url.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey,
      secretKey,
    },
    oidcIssuers: issuers.map((issuer) => ({
      issuer,
      audiences: [audience],
      usernameClaim: values['oidc-username-claim'] ?? env['TENANTMESH_OIDC_USERNAME_CLAIM'] ?? 'sub',
      groupsClaim: values['oidc-groups-claim'] ?? 'groups',
      ...(caFile ? { caPem: readFileSync(caFile, 'utf8') } : {}),
    })),
    serviceAccountAudiences: saAudience === '' ? [] : [saAudience],
    platform: platformConfig({
      servingNamespace:
        values['serving-namespace'] ?? env['TENANTMESH_SERVING_NAMESPACE'] ?? 'tenantmesh-serving',
    }),
    ...(values['ca-namespace'] ? { caNamespace: values['ca-namespace'] } : {}),
    host: values.host ?? env['TENANTMESH_API_HOST'] ?? '127.0.0.1',
    port: Number(values.port ?? env['TENANTMESH_API_PORT'] ?? 8080),
  };
}

async function runCommandLine(): Promise<void> {
  const options = parseCommandLine(process.argv.slice(2), process.env);
  if (options === 'help') return void console.log(usage);
  const api = await startApi(options);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await api.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCommandLine().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
