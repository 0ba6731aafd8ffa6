import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { startApi, type ConsoleConfig, type RunningApi } from '../api/main.ts';
import type { RegistryDatabaseConfig } from '../registry/database.ts';
import { platformConfig, type PlatformConfig } from '../domain/index.ts';
import { startOperator, type RunningOperator } from '../operator/main.ts';
import type { ModelStoreConfig } from '../storage/store.ts';
import { nodeUnavailableReason, startLocalCluster } from '../localcluster/index.ts';
import { gatewayRelease, istioNamespace } from '../localcluster/mesh.ts';
import { demoAdminToken, installTenantmesh, tenantmeshRelease } from '../localcluster/release.ts';
import type { KubeObject } from '../kube/index.ts';
import { assetPath, provisionAssets } from '../testenv/provision.ts';
import { cliClientId, consoleClientId, demoGroups, demoTenant } from '../testenv/dex.ts';
import { startEnvironment } from '../testenv/environment.ts';
import { freePort } from '../testenv/ports.ts';
import { waitFor } from '../testenv/wait.ts';
import { localOidcIssuer, mintToken } from '../testenv/oidc-issuer.ts';

/**
 * `npm start`: brings up the local platform (real etcd, kube-apiserver, controller-manager, MinIO, Authorino and a
 * development OIDC issuer on loopback) and keeps it running until Ctrl-C; or, with --kubeconfig (or --use-kubeconfig
 * and KUBECONFIG), skips the local control plane and targets an existing cluster.
 */
const usage = `Usage: npm start [-- options]

  --kubeconfig <file>   target an existing cluster instead of starting a local one (needs --config)
  --use-kubeconfig      target the cluster in $KUBECONFIG (needs --config)
  --config <file>       JSON for an existing cluster: {"platform": {..., "oidcIssuers": [{issuerUrl,
                        audiences, usernameClaim, usernamePrefix, groupsClaim, groupsPrefix,
                        certificateAuthority}]}, "s3": {endPoint, port, useSSL, accessKey, secretKey},
                        "serviceAccountAudiences": [...]}
  --api-port <port>     port of the management API on 127.0.0.1 (default 8080; 0 picks a free one)
  --gateway-port <port> local node: port of the Istio ingress gateway (HTTPS) on 127.0.0.1 (default 8443; 0 picks
                        a free one)
  --run-dir <dir>       where the local platform keeps logs and data (default: a new temporary directory)
  --no-node             run the process-only platform (control plane and services as local processes) even where
                        the default, a real one-node Kubernetes, can run (Linux, root; docs/local-cluster.md):
                        kubelet, containerd, CoreDNS, istiod, the ingress gateway, Authorino and tenantmesh
                        installed by its chart; facts in <run dir>/platform.json
  --node-lock-wait <s>  wait up to this many seconds for another local node on this machine to stop (default 0:
                        say which process owns it and stop)
  --help                this text`;

/** What the operator and the API need besides a kubeconfig. */
interface PlatformServicesConfig {
  platform: PlatformConfig;
  s3: ModelStoreConfig;
  serviceAccountAudiences: string[];
  console?: ConsoleConfig;
  /** The model registry's PostgreSQL (the local one, or `registryDatabase` of the config file). */
  registryDatabase?: RegistryDatabaseConfig;
}

/** Runs the operator and the management API in this process against one cluster. */
async function startServices(kubeconfigPath: string, config: PlatformServicesConfig, apiPort: number) {
  const operator: RunningOperator = await startOperator({
    kubeconfigPath,
    platform: config.platform,
    s3: config.s3,
    probePort: 0,
    leaderElection: true,
    ...(config.registryDatabase ? { registryDatabase: config.registryDatabase } : {}),
    log: (message) => console.log(`[operator] ${message}`),
  });
  let api: RunningApi;
  try {
    // Announce the platform only once the operator leads and has applied the platform-wide RBAC (the
    // platform-admin binding), so the first API call of a demo admin is not refused.
    await waitFor(() => operator.operator.isReady(), {
      description: 'the operator to become ready',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    await operator.operator.idle();
    api = await startApi({
      kubeconfigPath,
      s3: config.s3,
      serviceAccountAudiences: config.serviceAccountAudiences,
      platform: config.platform,
      ...(config.console ? { console: config.console } : {}),
      host: '127.0.0.1',
      port: apiPort,
      ...(config.registryDatabase ? { registryDatabase: config.registryDatabase } : {}),
    });
  } catch (error) {
    await operator.stop();
    throw error;
  }
  return {
    operator,
    api,
    stop: async () => {
      await api.close();
      await operator.stop();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    allowNegative: true,
    options: {
      kubeconfig: { type: 'string' },
      'use-kubeconfig': { type: 'boolean', default: false },
      'run-dir': { type: 'string' },
      config: { type: 'string' },
      'api-port': { type: 'string', default: '8080' },
      'gateway-port': { type: 'string', default: '8443' },
      node: { type: 'boolean', default: true },
      'node-lock-wait': { type: 'string', default: '0' },
      help: { type: 'boolean', default: false },
    },
  });
  const apiPort = Number(values['api-port']);
  if (!Number.isInteger(apiPort) || apiPort < 0 || apiPort > 65535)
    throw new Error('--api-port must be a port number');
  const gatewayPort = Number(values['gateway-port']);
  if (!Number.isInteger(gatewayPort) || gatewayPort < 0 || gatewayPort > 65535)
    throw new Error('--gateway-port must be a port number');
  if (values.help) return void console.log(usage);
  const nodeLockWaitSeconds = Number(values['node-lock-wait']);
  if (!Number.isFinite(nodeLockWaitSeconds) || nodeLockWaitSeconds < 0)
    throw new Error('--node-lock-wait must be a number of seconds');

  const kubeconfig = values.kubeconfig ?? (values['use-kubeconfig'] ? process.env.KUBECONFIG : undefined);
  if (values['use-kubeconfig'] && !kubeconfig) throw new Error('--use-kubeconfig needs KUBECONFIG to be set');
  if (kubeconfig) return runAgainstCluster(kubeconfig, values.config, apiPort);
  if (values.node) {
    const reason = nodeUnavailableReason();
    if (!reason) return runLocalNode(values['run-dir'], { apiPort, gatewayPort }, nodeLockWaitSeconds * 1000);
    console.log(`No local node here: ${reason}; starting the process-only platform instead.`);
  }
  return runLocalPlatform(values['run-dir'], apiPort);
}

async function runLocalPlatform(runDir: string | undefined, requestedApiPort: number): Promise<void> {
  console.log('Starting the local tenantmesh platform (first run builds the components; see README)…');
  const started = Date.now();
  // The identity provider redirects to the console on this port, so it is fixed before either starts.
  const apiPort = requestedApiPort || (await freePort());
  const environment = await startEnvironment({
    consolePort: apiPort,
    components: ['etcd', 'kubernetes', 'minio', 'authorino', 'istio-crds', 'dex', 'postgresql'],
    keepRunDir: true,
    handleSignals: false,
    ...(runDir ? { runDir: path.resolve(runDir) } : {}),
  });
  const { info } = environment;
  const adminToken = await mintToken(info.oidc, {
    sub: 'demo-admin',
    email: 'demo-admin@tenantmesh.local',
    groups: ['tenantmesh:platform-admins'],
    expiresIn: 12 * 3600,
  });
  const tokenFile = path.join(info.runDir, 'demo-admin.token');
  writeFileSync(tokenFile, adminToken, { mode: 0o600 });
  writeFileSync(path.join(info.runDir, 'oidc-signing.json'), JSON.stringify(info.oidc), { mode: 0o600 });

  const services = await startServices(
    path.join(info.runDir, 'pki', 'operator.kubeconfig'),
    {
      platform: platformConfig({
        servingNamespace: info.namespaces.serving,
        gatewayNamespace: info.namespaces.gateway,
        domain: 'models.tenantmesh.local',
        oidcIssuers: [
          localOidcIssuer(info.oidc),
          localOidcIssuer(info.oidc, {
            issuerUrl: info.dex.issuerUrl,
            audiences: dexAudiences,
            certificateAuthority: info.caPem,
          }),
        ],
        storage: { endpoint: `http://${info.s3.endPoint}:${info.s3.port}` },
      }),
      s3: info.s3,
      serviceAccountAudiences: [info.oidc.audience],
      console: {
        issuer: info.dex.issuerUrl,
        clientId: info.dex.console.clientId,
        clientSecret: info.dex.console.clientSecret,
        caPem: info.caPem,
        publicUrl: `http://127.0.0.1:${apiPort}`,
      },
      ...(info.postgresql ? { registryDatabase: info.postgresql } : {}),
    },
    apiPort,
  ).catch(async (error: unknown) => {
    await environment.stop();
    throw error;
  });

  await createDemoTenant(services.api.url, adminToken);
  const people = info.dex.users
    .map((u) => `                   ${u.role.padEnd(15)} ${u.email.padEnd(32)} ${u.password}`)
    .join('\n');
  console.log(`
tenantmesh local platform is up (${((Date.now() - started) / 1000).toFixed(1)} s). Everything listens on 127.0.0.1.

  Kubernetes API   ${info.apiserverUrl}
  kubeconfig       export KUBECONFIG=${info.adminKubeconfigPath}      (admin, system:masters)
  S3 (MinIO)       http://${info.s3.endPoint}:${info.s3.port}   (root credentials stay in the platform's process)
  Authorino        ext_authz gRPC ${info.authorino.grpcAddress}, raw HTTP ${info.authorino.httpAddress}
  OIDC issuer      ${info.oidc.issuerUrl}   (audience "${info.oidc.audience}", CA in ${path.join(info.runDir, 'pki', 'ca.crt')})
  Management API   ${services.api.url}   (OpenAPI: ${services.api.url}/openapi.json)
  Web console      ${services.api.url}/console   (log in as one of the demo users below)
  Dex (login)      ${info.dex.issuerUrl}   (CLI: tenantmesh login --issuer ${info.dex.issuerUrl} --ca-file ${path.join(info.runDir, 'pki', 'ca.crt')})
  Demo users       (passwords are new every run; tenant "${demoTenant}" has admins ${demoGroups.tenantAdmins}, users ${demoGroups.tenantUsers})
${people}
  Model registries ${services.api.url}/api/model_registry/v1/… with Host: <tenant>.${info.namespaces.serving}.svc
                   (npx tenantmesh registry models <tenant>; metadata in PostgreSQL 127.0.0.1:${info.postgresql?.port ?? '-'})
  Operator probes  ${services.operator.probeUrl}/metrics
  Demo admin token ${tokenFile}   (OIDC, group tenantmesh:platform-admins, 12 h)
                   curl -H "Authorization: Bearer $(cat ${tokenFile})" ${services.api.url}/v1/tenants
                   more tokens: npm run token -- --run-dir ${info.runDir} --sub alice --groups acme-users
  Logs             ${info.runDir}/*.log

Press Ctrl-C to stop everything.`);
  await untilInterrupted(async () => {
    await services.stop();
    await environment.stop();
  });
}

/** What `npm start` prints about the local node, and writes to platform.json for scripts. */
export interface LocalNodeFacts {
  kind: 'local-node';
  apiserverUrl: string;
  kubeconfig: string;
  kubectl: string;
  networkNamespace: string;
  apiUrl: string;
  gatewayAddress: string;
  demoAdminTokenFile: string;
  demoTenant: string;
  images: Record<string, string>;
  logs: string;
}

/**
 * The local one-node cluster with Istio and Authorino, tenantmesh installed on it by its chart: prints how to reach
 * it and writes the same facts to platform.json.
 */
async function runLocalNode(
  runDir: string | undefined,
  requestedPorts: { apiPort: number; gatewayPort: number },
  lockWaitMs: number,
): Promise<void> {
  const dir = path.resolve(runDir ?? mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-node-')));
  mkdirSync(dir, { recursive: true });
  console.log('Starting the local one-node cluster (first run builds the components and images)…');
  const started = Date.now();
  const node = await startLocalCluster({
    logDir: dir,
    log: (line) => console.log(line),
    handleSignals: false,
    tenantmeshImage: true,
    lockWaitMs,
  });
  const stop = async () => {
    const report = await node.stop();
    console.log(`Removed: ${JSON.stringify(report)}`);
  };
  let facts: LocalNodeFacts;
  try {
    const images = Object.fromEntries(
      Object.entries(node.info.images).map(([role, image]) => [role, image.reference]),
    );
    const target = {
      kubeconfig: node.info.adminKubeconfigPath,
      helm: assetPath(await provisionAssets(['helm']), 'helm'),
      images,
      workDir: dir,
    };
    await installTenantmesh(target, (line) => console.log(line));
    const clusterIp = async (namespace: string, name: string) => {
      const service = await node.kube.get<KubeObject & { spec?: { clusterIP?: string } }>(
        'v1',
        'Service',
        name,
        namespace,
      );
      if (!service?.spec?.clusterIP) throw new Error(`Service ${namespace}/${name} has no cluster IP`);
      return service.spec.clusterIP;
    };
    const { namespace, apiService } = tenantmeshRelease;
    const apiPort = await node.forward(
      apiService,
      await clusterIp(namespace, apiService),
      80,
      requestedPorts.apiPort,
    );
    const gatewayPort = await node.forward(
      gatewayRelease,
      await clusterIp(istioNamespace, gatewayRelease),
      443,
      requestedPorts.gatewayPort,
    );
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const tokenFile = path.join(dir, 'demo-admin.token');
    const adminToken = await demoAdminToken(target, node.info.kubectl);
    writeFileSync(tokenFile, adminToken, { mode: 0o600 });
    await createDemoTenant(apiUrl, adminToken);
    facts = {
      kind: 'local-node',
      apiserverUrl: node.info.apiserverUrl,
      kubeconfig: node.info.adminKubeconfigPath,
      kubectl: node.info.kubectl,
      networkNamespace: node.info.layout.netns,
      apiUrl,
      gatewayAddress: `127.0.0.1:${gatewayPort}`,
      demoAdminTokenFile: tokenFile,
      demoTenant,
      images,
      logs: dir,
    };
  } catch (error) {
    await stop();
    throw error;
  }
  writeFileSync(path.join(dir, 'platform.json'), `${JSON.stringify(facts, null, 2)}\n`);
  console.log(`
The local node is up with tenantmesh (${((Date.now() - started) / 1000).toFixed(1)} s). Cluster addresses live only in
the network namespace ${facts.networkNamespace}; what you need is forwarded to 127.0.0.1.

  Kubernetes API   ${facts.apiserverUrl}
  kubeconfig       export KUBECONFIG=${facts.kubeconfig}      (admin, system:masters)
  kubectl          ${facts.kubectl}
  Management API   ${facts.apiUrl}   (OpenAPI: ${facts.apiUrl}/openapi.json)
  Ingress gateway  ${facts.gatewayAddress}   (HTTPS; tenants' endpoints and registries by host name)
  Demo admin token ${facts.demoAdminTokenFile}   (ServiceAccount ${tenantmeshRelease.demoAdmin.namespace}/${tenantmeshRelease.demoAdmin.name}, platform admin, 12 h)
                   curl -H "Authorization: Bearer $(cat ${facts.demoAdminTokenFile})" ${facts.apiUrl}/v1/tenants
  Demo tenant      ${demoTenant}
  Facts (JSON)     ${path.join(dir, 'platform.json')}
  Logs             ${dir}/*.log

Press Ctrl-C to stop everything and restore the host.`);
  await untilInterrupted(stop);
}

const dexAudiences = [consoleClientId, cliClientId];

/** The demo tenant the demo tenant admin and tenant user belong to, created through the API as the demo admin. */
async function createDemoTenant(apiUrl: string, adminToken: string): Promise<void> {
  const response = await fetch(`${apiUrl}/v1/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: demoTenant,
      displayName: 'Demo tenant',
      admins: [{ kind: 'Group', name: demoGroups.tenantAdmins }],
      quota: { maxEndpoints: 5, cpu: '8', memory: '16Gi', storageBytes: 20 * 1024 ** 3 },
    }),
  });
  if (response.status !== 201 && response.status !== 409) {
    throw new Error(`creating the demo tenant failed: HTTP ${response.status} ${await response.text()}`);
  }
}

async function runAgainstCluster(
  kubeconfig: string,
  configFile: string | undefined,
  apiPort: number,
): Promise<void> {
  if (!configFile) throw new Error('targeting an existing cluster needs --config <file> (see --help)');
  const raw = JSON.parse(readFileSync(configFile, 'utf8')) as Partial<PlatformServicesConfig> & {
    platform?: Partial<PlatformConfig>;
  };
  if (!raw.s3)
    throw new Error(`${configFile}: "s3" (endPoint, port, useSSL, accessKey, secretKey) is required`);
  console.log(`Targeting the existing cluster of ${kubeconfig}; no local control plane is started.`);
  const services = await startServices(
    kubeconfig,
    {
      platform: platformConfig(raw.platform ?? {}),
      s3: raw.s3,
      serviceAccountAudiences: raw.serviceAccountAudiences ?? [],
      ...(raw.registryDatabase ? { registryDatabase: raw.registryDatabase } : {}),
    },
    apiPort,
  );
  console.log(
    `Management API ${services.api.url}; operator probes ${services.operator.probeUrl}. Ctrl-C stops both.`,
  );
  await untilInterrupted(services.stop);
}

async function untilInterrupted(stop: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  console.log('\nStopping…');
  await stop();
  console.log('Stopped.');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
