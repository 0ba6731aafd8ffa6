import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { createTenantCa, issueServingCertificate } from '../pki/index.ts';
import { installClusterPrerequisites } from './cluster.ts';
import { probe } from './http.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import {
  consoleClientId,
  cliClientId,
  hashPasswords,
  makeDemoUsers,
  renderDexConfig,
  type DexInfo,
} from './dex.ts';
import {
  apiserverJwtAuthenticator,
  localOidcIssuer,
  startOidcIssuer,
  type OidcSigningMaterial,
  type RunningOidcIssuer,
} from './oidc-issuer.ts';
import { freePort } from './ports.ts';
import { startPostgresql, type PostgresEndpoint } from './postgresql.ts';
import { ProcessSupervisor } from './processes.ts';
import { assetPath, provisionAssets, type Assets, type Component } from './provision.ts';
import { waitFor } from './wait.ts';

/** A static (token-file) identity of the local apiserver. */
export interface StaticUser {
  name: string;
  token: string;
  groups: string[];
}

/** S3 endpoint and root credentials of the run's MinIO. */
export interface S3Endpoint {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
}

/** Everything a test or `npm start` needs to reach the local platform; plain data, safe to hand to test workers. */
export interface EnvironmentInfo {
  runDir: string;
  apiserverUrl: string;
  /** CA that signed the apiserver's and the OIDC issuer's serving certificates. */
  caPem: string;
  adminKubeconfigPath: string;
  staticUsers: Record<string, StaticUser>;
  serviceAccountIssuer: string;
  oidc: OidcSigningMaterial;
  /** The local identity provider (Dex) people log in to, its clients and its demo users. */
  dex: DexInfo;
  /** Port on 127.0.0.1 the console is expected on (its OIDC redirect URI names it). */
  consolePort: number;
  s3: S3Endpoint;
  authorino: { grpcAddress: string; httpAddress: string; namespace: string };
  /** The run's PostgreSQL (model registry metadata); absent when it was not started. */
  postgresql?: PostgresEndpoint;
  assets: Assets;
  namespaces: { serving: string; gateway: string };
}

/** Which components to start; the control plane always starts. */
export interface EnvironmentOptions {
  minio?: boolean;
  authorino?: boolean;
  controllerManager?: boolean;
  /** Start PostgreSQL (default true when it was provisioned). */
  postgresql?: boolean;
  /** Directory for logs and data; a fresh temporary directory by default. */
  runDir?: string;
  /** Keep the run directory after stop (npm start does, tests do not). */
  keepRunDir?: boolean;
  /** Kill the components as soon as a signal arrives (default); `npm start` stops them in order itself. */
  handleSignals?: boolean;
  /** Port of the management API serving the console (Dex's console client redirects there); free by default. */
  consolePort?: number;
  /** Which components to provision; tests want all, `npm start` only what it runs. */
  components?: readonly Component[];
}

/** Audience of tokens the local issuer mints; the apiserver and the management API accept it. */
export const platformAudience = 'tenantmesh';
export const servingNamespace = 'tenantmesh-serving';
export const gatewayNamespace = 'istio-system';

/** A running local platform. `stop()` ends every process group it started. */
export interface RunningEnvironment {
  info: EnvironmentInfo;
  supervisor: ProcessSupervisor;
  /** Stops MinIO (to test outage handling) and starts it again on the same port with the same data. */
  stopMinio(): Promise<void>;
  startMinio(): Promise<void>;
  tails(lines?: number): string;
  stop(): Promise<void>;
}

/**
 * Starts the real components on 127.0.0.1: etcd, kube-apiserver (TLS, RBAC, static users, a service-account
 * issuer, structured authentication trusting the local OIDC issuer), kube-controller-manager (garbage collection
 * and namespace deletion), MinIO and Authorino; installs the Istio, Authorino and tenantmesh CRDs.
 */
export async function startEnvironment(options: EnvironmentOptions = {}): Promise<RunningEnvironment> {
  const assets = await provisionAssets(options.components);
  const runDir = options.runDir ?? mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-env-'));
  mkdirSync(runDir, { recursive: true });
  const supervisor = new ProcessSupervisor(runDir, options.handleSignals ?? true);
  let issuer: RunningOidcIssuer | undefined;

  const stop = async () => {
    await supervisor.stopAll();
    await issuer?.close();
    if (!options.keepRunDir) rmSync(runDir, { recursive: true, force: true });
  };

  try {
    // The run's throwaway CA signs the apiserver's and the OIDC issuer's serving certificates (product PKI).
    const now = new Date();
    const ca = await createTenantCa({ tenant: 'local-testenv', validityDays: 7, now });
    const loopback = ['localhost', '127.0.0.1'];
    const apiserverTls = await issueServingCertificate(ca, {
      hosts: [...loopback, 'kubernetes.default.svc'],
      validityDays: 7,
      now,
    });
    const issuerTls = await issueServingCertificate(ca, { hosts: loopback, validityDays: 7, now });
    issuer = await startOidcIssuer({ tls: issuerTls, caPem: ca.certPem, audience: platformAudience });

    const [etcdPort, etcdPeerPort, apiPort, kcmPort, minioPort, minioConsolePort, dexPort, dexTelemetryPort] =
      await Promise.all(Array.from({ length: 8 }, freePort));
    const consolePort = options.consolePort || (await freePort());
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    supervisor.start('etcd', assetPath(assets, 'etcd'), [
      `--data-dir=${path.join(runDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);

    const s3: S3Endpoint = {
      endPoint: '127.0.0.1',
      port: minioPort!,
      useSSL: false,
      accessKey: `tm-${randomBytes(6).toString('hex')}`,
      secretKey: randomBytes(24).toString('base64url'),
    };
    const minioDataDir = path.join(runDir, 'minio');
    const startMinio = async () => {
      if (options.minio === false) return;
      supervisor.start(
        'minio',
        assetPath(assets, 'minio'),
        [
          'server',
          minioDataDir,
          `--address=127.0.0.1:${minioPort}`,
          `--console-address=127.0.0.1:${minioConsolePort}`,
          '--quiet',
        ],
        {
          MINIO_ROOT_USER: s3.accessKey,
          MINIO_ROOT_PASSWORD: s3.secretKey,
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
        },
      );
      await waitFor(
        async () => (await probe(`http://127.0.0.1:${minioPort}/minio/health/ready`)).status === 200,
        {
          description: `MinIO ready on 127.0.0.1:${minioPort}`,
          timeoutMs: 60_000,
        },
      );
    };
    const minioReady = startMinio();
    const postgresqlReady =
      options.postgresql !== false && assets['postgres']
        ? startPostgresql(supervisor, assets, runDir, { durable: options.keepRunDir === true })
        : Promise.resolve(undefined);

    await waitFor(async () => (await probe(`${etcdUrl}/health`)).body.includes('"health":"true"'), {
      description: `etcd healthy at ${etcdUrl}`,
      timeoutMs: 60_000,
    });

    const staticUsers = makeStaticUsers();
    const pkiDir = path.join(runDir, 'pki');
    mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
    const file = (name: string, content: string) => {
      const target = path.join(pkiDir, name);
      writeFileSync(target, content, { mode: 0o600 });
      return target;
    };

    const dex = await startDex({
      supervisor,
      binary: assetPath(assets, 'dex'),
      port: dexPort!,
      telemetryPort: dexTelemetryPort!,
      tls: issuerTls,
      caPem: ca.certPem,
      consolePort,
      file,
    });
    const serviceAccountKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKeyPath = file(
      'sa.key',
      serviceAccountKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
    const saPubPath = file(
      'sa.pub',
      serviceAccountKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
    const apiserverUrl = `https://127.0.0.1:${apiPort}`;
    const serviceAccountIssuer = apiserverUrl;
    const authenticationConfig = {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AuthenticationConfiguration',
      jwt: [
        apiserverJwtAuthenticator(localOidcIssuer(issuer.signing)),
        apiserverJwtAuthenticator(
          localOidcIssuer(issuer.signing, {
            issuerUrl: dex.issuerUrl,
            audiences: [consoleClientId, cliClientId],
            certificateAuthority: ca.certPem,
          }),
        ),
      ],
    };
    supervisor.start('kube-apiserver', assetPath(assets, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(runDir, 'apiserver-certs')}`,
      `--tls-cert-file=${file('apiserver.crt', apiserverTls.certPem)}`,
      `--tls-private-key-file=${file('apiserver.key', apiserverTls.keyPem)}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.96.0.0/16', // room for thousands of Services (benchmarks)
      `--service-account-issuer=${serviceAccountIssuer}`,
      `--service-account-key-file=${saPubPath}`,
      `--service-account-signing-key-file=${saKeyPath}`,
      `--api-audiences=${serviceAccountIssuer}`,
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      `--token-auth-file=${file('tokens.csv', tokenFile(staticUsers))}`,
      `--authentication-config=${file('authentication.yaml', stringify(authenticationConfig))}`,
      '--enable-priority-and-fairness=false',
    ]);
    const admin = staticUsers.admin!;
    await waitFor(
      async () =>
        (await probe(`${apiserverUrl}/readyz`, { caPem: ca.certPem, token: admin.token })).status === 200,
      { description: `kube-apiserver ready at ${apiserverUrl}`, timeoutMs: 120_000, intervalMs: 250 },
    );

    const kubeconfigFor = (user: StaticUser) =>
      file(
        `${user.name}.kubeconfig`,
        renderKubeconfig({ server: apiserverUrl, caPem: ca.certPem, user: user.name, token: user.token }),
      );
    // One kubeconfig per static user (admin, operator, alice, …), for tests and for `npm start`'s operator.
    for (const user of Object.values(staticUsers)) kubeconfigFor(user);
    const adminKubeconfigPath = kubeconfigFor(admin);

    await installClusterPrerequisites({
      kubeconfigPath: adminKubeconfigPath,
      assets,
      namespaces: [servingNamespace, gatewayNamespace],
      authorinoUser: staticUsers.authorino!.name,
    });

    // Started once the CRDs are established: its garbage collector discovers resource types at start and only
    // every 30 s after, and until it watches Tenants their dependents outlive a deleted Tenant by that long.
    if (options.controllerManager !== false) {
      supervisor.start('kube-controller-manager', assetPath(assets, 'kube-controller-manager'), [
        `--kubeconfig=${adminKubeconfigPath}`,
        '--controllers=garbagecollector,namespace,serviceaccount-token,clusterrole-aggregation',
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--service-account-private-key-file=${saKeyPath}`,
        `--root-ca-file=${file('ca.crt', ca.certPem)}`,
        '--use-service-account-credentials=false',
      ]);
      // It serves a self-signed certificate of its own making on loopback.
      await waitFor(
        async () =>
          (await probe(`https://127.0.0.1:${kcmPort}/healthz`, { insecureSkipVerify: true })).status === 200,
        { description: 'kube-controller-manager healthy', timeoutMs: 60_000, intervalMs: 250 },
      );
    }

    const authorino = { grpcAddress: '', httpAddress: '', namespace: servingNamespace };
    if (options.authorino !== false) {
      const [grpcPort, httpPort, metricsPort, healthPort, oidcPort, pprofPort, webhookPort] =
        await Promise.all(Array.from({ length: 7 }, freePort));
      supervisor.start(
        'authorino',
        assetPath(assets, 'authorino'),
        [
          'server',
          `--watch-namespace=${servingNamespace}`,
          // registry.<tenant host> has an AuthConfig of its own beside the tenant's `*.<tenant host>`.
          '--allow-superseding-host-subsets',
          `--ext-auth-grpc-port=${grpcPort}`,
          `--ext-auth-http-port=${httpPort}`,
          `--metrics-addr=127.0.0.1:${metricsPort}`,
          `--health-probe-addr=127.0.0.1:${healthPort}`,
          `--oidc-http-port=${oidcPort}`,
          `--pprof-bind-address=127.0.0.1:${pprofPort}`,
          `--webhook-service-port=${webhookPort}`,
          '--enable-leader-election=false',
          '--log-level=info',
        ],
        {
          KUBECONFIG: kubeconfigFor(staticUsers.authorino!),
          // Go reads extra roots from SSL_CERT_FILE: Authorino fetches the local OIDC issuer's discovery over https.
          SSL_CERT_FILE: file('authorino-trusted-ca.crt', ca.certPem),
        },
      );
      await waitFor(async () => (await probe(`http://127.0.0.1:${healthPort}/readyz`)).status === 200, {
        description: 'Authorino ready',
        timeoutMs: 60_000,
        intervalMs: 250,
      });
      authorino.grpcAddress = `127.0.0.1:${grpcPort}`;
      authorino.httpAddress = `127.0.0.1:${httpPort}`;
    }

    await minioReady;
    const postgresql = await postgresqlReady;

    // The apiserver fetches the issuer's JWKS asynchronously; wait until it recognises an OIDC user.
    await waitForOidcAuthenticator(apiserverUrl, ca.certPem, issuer.signing);

    const info: EnvironmentInfo = {
      runDir,
      apiserverUrl,
      caPem: ca.certPem,
      adminKubeconfigPath,
      staticUsers,
      serviceAccountIssuer,
      oidc: issuer.signing,
      dex,
      consolePort,
      s3,
      authorino,
      ...(postgresql ? { postgresql } : {}),
      assets,
      namespaces: { serving: servingNamespace, gateway: gatewayNamespace },
    };
    return {
      info,
      supervisor,
      stopMinio: () => supervisor.stop('minio'),
      startMinio,
      tails: (lines) => supervisor.tails(lines),
      stop,
    };
  } catch (error) {
    const tails = supervisor.tails(30);
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${tails}`, { cause: error });
  }
}

/**
 * Starts Dex on 127.0.0.1 over https (the apiserver only trusts https issuers) with a serving certificate of the
 * run's CA, memory storage and the demo users, and waits until it serves its discovery document.
 */
async function startDex(options: {
  supervisor: ProcessSupervisor;
  binary: string;
  port: number;
  telemetryPort: number;
  tls: { certPem: string; keyPem: string };
  caPem: string;
  consolePort: number;
  file: (name: string, content: string) => string;
}): Promise<DexInfo> {
  const issuerUrl = `https://127.0.0.1:${options.port}/dex`;
  const users = makeDemoUsers();
  const info: DexInfo = {
    issuerUrl,
    console: {
      clientId: consoleClientId,
      clientSecret: randomBytes(24).toString('base64url'),
      redirectUris: [
        `http://127.0.0.1:${options.consolePort}/console/auth/callback`,
        `http://localhost:${options.consolePort}/console/auth/callback`,
      ],
    },
    cli: { clientId: cliClientId },
    users,
  };
  const config = renderDexConfig({
    issuerUrl,
    listen: `127.0.0.1:${options.port}`,
    telemetryListen: `127.0.0.1:${options.telemetryPort}`,
    tlsCertPath: options.file('dex.crt', options.tls.certPem),
    tlsKeyPath: options.file('dex.key', options.tls.keyPem),
    consoleClient: info.console,
    users: await hashPasswords(users),
  });
  options.supervisor.start('dex', options.binary, ['serve', options.file('dex.yaml', config)]);
  await waitFor(
    async () =>
      (await probe(`${issuerUrl}/.well-known/openid-configuration`, { caPem: options.caPem })).status === 200,
    { description: `Dex serving ${issuerUrl}`, timeoutMs: 60_000, intervalMs: 100 },
  );
  return info;
}

/** Static identities: the admin (system:masters), Authorino's own user, and a few plain test users with groups. */
function makeStaticUsers(): Record<string, StaticUser> {
  const user = (name: string, groups: string[]): StaticUser => ({
    name,
    token: randomBytes(24).toString('hex'),
    groups,
  });
  const users = [
    user('admin', ['system:masters']),
    user('authorino', ['tenantmesh:authorino']),
    user('operator', ['system:masters']),
    user('alice', ['team-a']),
    user('bob', ['team-b']),
  ];
  return Object.fromEntries(users.map((u) => [u.name, u]));
}

function tokenFile(users: Record<string, StaticUser>): string {
  return Object.values(users)
    .map((u, index) => `${u.token},${u.name},uid-${index},"${u.groups.join(',')}"`)
    .join('\n');
}

async function waitForOidcAuthenticator(
  apiserverUrl: string,
  caPem: string,
  signing: OidcSigningMaterial,
): Promise<void> {
  const { mintToken } = await import('./oidc-issuer.ts');
  const token = await mintToken(signing, { sub: 'readiness-probe', groups: [] });
  await waitFor(
    async () => {
      // Any authenticated answer (even 403) proves the token was recognised; 401 means "not yet".
      const { status } = await probe(`${apiserverUrl}/api`, { caPem, token });
      return status !== 401;
    },
    {
      description: 'kube-apiserver to accept tokens of the local OIDC issuer',
      timeoutMs: 60_000,
      intervalMs: 250,
    },
  );
}
