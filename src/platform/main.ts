import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEnvironment, type RunningEnvironment } from '../testenv/environment.ts';
import { mintToken } from '../testenv/oidc-issuer.ts';

/**
 * `npm start`: brings up the local platform (real etcd, kube-apiserver, controller-manager, MinIO, Authorino and a
 * development OIDC issuer on loopback) and keeps it running until Ctrl-C; or, with --kubeconfig (or --use-kubeconfig
 * and KUBECONFIG), skips the local control plane and targets an existing cluster.
 */
const usage = `Usage: npm start [-- options]

  --kubeconfig <file>   target an existing cluster instead of starting a local one
  --use-kubeconfig      target the cluster in $KUBECONFIG
  --run-dir <dir>       where the local platform keeps logs and data (default: a new temporary directory)
  --help                this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      'use-kubeconfig': { type: 'boolean', default: false },
      'run-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return void console.log(usage);

  const kubeconfig = values.kubeconfig ?? (values['use-kubeconfig'] ? process.env.KUBECONFIG : undefined);
  if (values['use-kubeconfig'] && !kubeconfig) throw new Error('--use-kubeconfig needs KUBECONFIG to be set');
  if (kubeconfig) return runAgainstCluster(kubeconfig);
  return runLocalPlatform(values['run-dir']);
}

async function runLocalPlatform(runDir: string | undefined): Promise<void> {
  console.log('Starting the local tenantmesh platform (first run builds the components; see README)…');
  const started = Date.now();
  const environment = await startEnvironment({
    components: ['etcd', 'kubernetes', 'minio', 'authorino', 'istio-crds'],
    keepRunDir: true,
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

  console.log(`
tenantmesh local platform is up (${((Date.now() - started) / 1000).toFixed(1)} s). Everything listens on 127.0.0.1.

  Kubernetes API   ${info.apiserverUrl}
  kubeconfig       export KUBECONFIG=${info.adminKubeconfigPath}      (admin, system:masters)
  S3 (MinIO)       http://${info.s3.endPoint}:${info.s3.port}   (root credentials stay in the platform's process)
  Authorino        ext_authz gRPC ${info.authorino.grpcAddress}, raw HTTP ${info.authorino.httpAddress}
  OIDC issuer      ${info.oidc.issuerUrl}   (audience "${info.oidc.audience}", CA in ${path.join(info.runDir, 'pki', 'ca.crt')})
  Demo admin token ${tokenFile}   (OIDC, group tenantmesh:platform-admins, 12 h)
                   more tokens: npm run token -- --run-dir ${info.runDir} --sub alice --groups acme-users
  Logs             ${info.runDir}/*.log

Press Ctrl-C to stop everything.`);
  await untilInterrupted(environment);
}

async function runAgainstCluster(kubeconfig: string): Promise<void> {
  console.log(`Targeting the existing cluster of ${kubeconfig}; no local control plane is started.`);
  console.log('The operator and the management API run against it once they are part of the platform.');
  await untilInterrupted(undefined);
}

async function untilInterrupted(environment: RunningEnvironment | undefined): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('\nStopping…');
  await environment?.stop();
  console.log('Stopped.');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
