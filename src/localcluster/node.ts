import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKube, type Kube, type KubeObject } from '../kube/index.ts';
import { createTenantCa, issueClientCertificate, issueServingCertificate } from '../pki/index.ts';
import { probe } from '../testenv/http.ts';
import { renderKubeconfig } from '../testenv/kubeconfig.ts';
import { ProcessSupervisor } from '../testenv/processes.ts';
import { assetPath, type Assets } from '../testenv/provision.ts';
import { waitFor } from '../testenv/wait.ts';
import { renderClusterDns } from './cluster-dns.ts';
import { formatTarget, listenOnLoopback, socketPathFor, type ForwardTarget } from './forwarder.ts';
import { cleanHost, hostCommand, isCleanupEmpty, recordHostState, type CleanupReport } from './host.ts';
import type { BuiltImage } from './image-archive.ts';
import type { NodeImages } from './images.ts';
import { nodePaths, type NodeLayout, type NodePaths } from './layout.ts';
import {
  renderCniConflist,
  renderContainerdConfig,
  renderKubeletConfig,
  renderKubeProxyConfig,
} from './node-config.ts';

const forwarderProgram = fileURLToPath(new URL('./forwarder.ts', import.meta.url));

/** Why the node cannot run here, in one line, or undefined when it can. */
export function nodeUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `the local node needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the local node needs root (network namespaces, mounts, cgroups)';
  return undefined;
}

/** A token identity of the node's apiserver (static token file). */
export interface NodeUser {
  name: string;
  groups: string[];
  token: string;
}

/** What a running node offers its users: everything is reached through 127.0.0.1. */
export interface NodeInfo {
  layout: NodeLayout;
  /** The apiserver as the host reaches it (127.0.0.1 forwarded into the namespace). */
  apiserverUrl: string;
  caPem: string;
  adminKubeconfigPath: string;
  /** The same identity, for processes inside the namespace (nodeIp address). */
  inNamespaceAdminKubeconfigPath: string;
  kubectl: string;
  /** Every image imported into containerd by role: the node's own and the extra ones. */
  images: NodeImages & Record<string, BuiltImage>;
}

export interface RunningNode {
  info: NodeInfo;
  supervisor: ProcessSupervisor;
  kube: Kube;
  /** Forwards 127.0.0.1:`hostPort` (0 = free port) to `host:port` inside the namespace; returns the host port. */
  forward(name: string, host: string, port: number, hostPort?: number): Promise<number>;
  /** Runs a command inside the node's network namespace. */
  inNamespace(command: string, args: string[]): Promise<string>;
  /** Stops everything and restores the host; returns what it removed. */
  stop(): Promise<CleanupReport>;
}

export interface NodeOptions {
  layout: NodeLayout;
  assets: Assets;
  images: NodeImages;
  /** More images to import into containerd by role (the mesh's, tenantmesh's). */
  extraImages?: Record<string, BuiltImage>;
  /** Where the components' logs go (kept after stop). */
  logDir: string;
  /** Progress lines for the user (`npm start`) or the test log. */
  log?: (line: string) => void;
  handleSignals?: boolean;
  /** Host port of the apiserver on 127.0.0.1 (0 = a free one); a restarted node keeps its predecessor's. */
  apiserverHostPort?: number;
  /** How long to wait for another process's node to stop (0 = fail at once, the default). */
  lockWaitMs?: number;
}

/**
 * Brings up a one-node Kubernetes as ordered, named steps with deadlines: host check and leftovers, network
 * namespace, PKI, etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd (with the local
 * images), kubelet, kube-proxy, cluster DNS. Every cluster address lives inside the node's network namespace;
 * the apiserver is reached through a 127.0.0.1 port. A failure stops what started and restores the host.
 */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const { layout, assets, images } = options;
  const log = options.log ?? (() => {});
  const paths = nodePaths(layout);
  const releaseLock = await takeNodeLock(layout, options.lockWaitMs ?? 0, log);
  const supervisor = new ProcessSupervisor(options.logDir, options.handleSignals ?? true);
  const loopbackListeners: { close(): Promise<void> }[] = [];
  let forwarders = 0;

  const stop = async (): Promise<CleanupReport> => {
    for (const listener of loopbackListeners.splice(0)) await listener.close();
    // kubelet first, so it does not restart what the cleanup kills; the rest go with the namespace.
    await supervisor.stop('kubelet', 10_000);
    await supervisor.stopAll(5_000);
    const report = await cleanHost(layout, paths);
    releaseLock();
    return report;
  };

  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      const result = await run();
      log(`[node] ${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return result;
    } catch (error) {
      throw new Error(`local node step "${name}" failed: ${(error as Error).message}`, { cause: error });
    }
  };

  const inNamespace = (command: string, args: string[]) =>
    hostCommand('ip', ['netns', 'exec', layout.netns, command, ...args]);
  const startInNamespace = (name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    supervisor.start(name, 'nsenter', [`--net=/run/netns/${layout.netns}`, '--', command, ...args], env);

  const forward = async (name: string, host: string, port: number, hostPort = 0) => {
    const target: ForwardTarget = { name, host, port };
    startInNamespace(`forward-${++forwarders}-${name}`, process.execPath, [
      '--import',
      'tsx',
      forwarderProgram,
      paths.forwarderSockets,
      formatTarget(target),
    ]);
    const socketPath = socketPathFor(paths.forwarderSockets, name);
    await waitFor(() => fileExists(socketPath), {
      description: `forwarder socket ${socketPath}`,
      timeoutMs: 120_000,
    });
    const listener = await listenOnLoopback(socketPath, hostPort);
    loopbackListeners.push(listener);
    return listener.port;
  };

  try {
    await step('remove leftovers of an earlier run', async () => {
      const report = await cleanHost(layout, paths);
      if (!isCleanupEmpty(report))
        log(`[node] removed leftovers of an earlier run: ${JSON.stringify(report)}`);
    });
    for (const dir of [
      paths.pki,
      paths.etcdData,
      paths.containerdRoot,
      paths.containerdState,
      paths.cniConfDir,
    ]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    for (const dir of [paths.cniState, paths.kubeletRoot, paths.podLogs, paths.forwarderSockets]) {
      mkdirSync(dir, { recursive: true });
    }
    recordHostState(paths);

    await step('network namespace', async () => {
      await hostCommand('ip', ['netns', 'add', layout.netns]);
      const ipn = (...args: string[]) => hostCommand('ip', ['-n', layout.netns, ...args]);
      await ipn('link', 'set', 'lo', 'up');
      // This kernel has no dummy links: a bridge without ports carries the node address.
      await ipn('link', 'add', layout.nodeLink, 'type', 'bridge');
      await ipn('addr', 'add', `${layout.nodeIp}/${layout.nodePrefixLength}`, 'dev', layout.nodeLink);
      await ipn('link', 'set', layout.nodeLink, 'up');
      // Locally sent Service traffic needs a route before kube-proxy's DNAT picks the real destination; it stays
      // inside the namespace (the bridge has no ports), and there is no default route at all.
      await ipn('route', 'add', layout.serviceCidr, 'dev', layout.nodeLink);
    });

    const pki = await step('certificates and tokens', () => writeNodePki(layout, paths));
    const kubeconfigFor = (user: NodeUser, server: string, file: string) => {
      const target = path.join(paths.pki, file);
      writeFileSync(
        target,
        renderKubeconfig({ server, caPem: pki.caPem, user: user.name, token: user.token }),
        { mode: 0o600 },
      );
      return target;
    };
    const inside = `https://${layout.nodeIp}:${layout.apiserverPort}`;
    const kubeconfigs = {
      admin: kubeconfigFor(pki.users.admin, inside, 'admin-in-namespace.kubeconfig'),
      controllerManager: kubeconfigFor(pki.users.controllerManager, inside, 'controller-manager.kubeconfig'),
      scheduler: kubeconfigFor(pki.users.scheduler, inside, 'scheduler.kubeconfig'),
      kubelet: kubeconfigFor(pki.users.kubelet, inside, 'kubelet.kubeconfig'),
      kubeProxy: kubeconfigFor(pki.users.kubeProxy, inside, 'kube-proxy.kubeconfig'),
    };

    await step('etcd', async () => {
      startInNamespace('etcd', assetPath(assets, 'etcd'), [
        `--data-dir=${paths.etcdData}`,
        '--listen-client-urls=http://127.0.0.1:2379',
        '--advertise-client-urls=http://127.0.0.1:2379',
        '--listen-peer-urls=http://127.0.0.1:2380',
        '--initial-advertise-peer-urls=http://127.0.0.1:2380',
        '--initial-cluster=default=http://127.0.0.1:2380',
        '--unsafe-no-fsync',
        '--log-level=warn',
      ]);
    });

    const apiserverPort = await step('kube-apiserver', async () => {
      startInNamespace('kube-apiserver', assetPath(assets, 'kube-apiserver'), [
        '--etcd-servers=http://127.0.0.1:2379',
        '--bind-address=0.0.0.0',
        `--advertise-address=${layout.nodeIp}`,
        `--secure-port=${layout.apiserverPort}`,
        `--cert-dir=${paths.pki}`,
        `--tls-cert-file=${pki.files.apiserverCert}`,
        `--tls-private-key-file=${pki.files.apiserverKey}`,
        `--client-ca-file=${pki.files.ca}`,
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        `--service-cluster-ip-range=${layout.serviceCidr}`,
        `--service-account-issuer=https://kubernetes.default.svc.${layout.clusterDomain}`,
        `--service-account-key-file=${pki.files.serviceAccountPublic}`,
        `--service-account-signing-key-file=${pki.files.serviceAccountPrivate}`,
        `--token-auth-file=${pki.files.tokens}`,
        `--kubelet-client-certificate=${pki.files.kubeletClientCert}`,
        `--kubelet-client-key=${pki.files.kubeletClientKey}`,
        // The host name resolves to 127.0.0.1 here; logs and exec must go to the node address.
        '--kubelet-preferred-address-types=InternalIP',
        '--allow-privileged=true',
        '--enable-priority-and-fairness=false',
      ]);
      const port = await forward('apiserver', layout.nodeIp, layout.apiserverPort, options.apiserverHostPort);
      await waitFor(
        async () =>
          (
            await probe(`https://127.0.0.1:${port}/readyz`, {
              caPem: pki.caPem,
              token: pki.users.admin.token,
            })
          ).status === 200,
        { description: 'kube-apiserver ready', timeoutMs: 300_000, intervalMs: 250 },
      );
      return port;
    });
    const apiserverUrl = `https://127.0.0.1:${apiserverPort}`;
    const adminKubeconfigPath = kubeconfigFor(pki.users.admin, apiserverUrl, 'admin.kubeconfig');
    const kube = createKube({ kubeconfigPath: adminKubeconfigPath });
    await step('apiserver access to kubelets', async () => {
      await kube.applyObject(kubeletApiAdminBinding(), { fieldManager: 'tenantmesh-node', force: true });
    });

    await step('kube-controller-manager and kube-scheduler', async () => {
      startInNamespace('kube-controller-manager', assetPath(assets, 'kube-controller-manager'), [
        `--kubeconfig=${kubeconfigs.controllerManager}`,
        `--authentication-kubeconfig=${kubeconfigs.controllerManager}`,
        `--authorization-kubeconfig=${kubeconfigs.controllerManager}`,
        '--controllers=*',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.files.serviceAccountPrivate}`,
        `--root-ca-file=${pki.files.ca}`,
        `--cluster-signing-cert-file=${pki.files.ca}`,
        `--cluster-signing-key-file=${pki.files.caKey}`,
        `--service-cluster-ip-range=${layout.serviceCidr}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
      ]);
      startInNamespace('kube-scheduler', assetPath(assets, 'kube-scheduler'), [
        `--kubeconfig=${kubeconfigs.scheduler}`,
        `--authentication-kubeconfig=${kubeconfigs.scheduler}`,
        `--authorization-kubeconfig=${kubeconfigs.scheduler}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
      ]);
      // The default ServiceAccount appears once the controller manager's token controllers run.
      await waitFor(
        async () => (await kube.get('v1', 'ServiceAccount', 'default', 'default')) !== undefined,
        {
          description: 'kube-controller-manager to create the default ServiceAccount',
          timeoutMs: 180_000,
          intervalMs: 250,
        },
      );
    });

    await step('containerd with the local images', async () => {
      writeFileSync(paths.cniConfDir + '/10-tenantmesh.conflist', renderCniConflist(layout, paths));
      writeFileSync(
        paths.containerdConfig,
        renderContainerdConfig(paths, {
          sandboxImage: images.pause.reference,
          cniBinDir: assetPath(assets, 'cni-plugins'),
        }),
      );
      startInNamespace('containerd', assetPath(assets, 'containerd'), ['--config', paths.containerdConfig]);
      const ctr = (...args: string[]) =>
        hostCommand(assetPath(assets, 'ctr'), ['--address', paths.containerdSocket, ...args]);
      await waitFor(async () => (await ctr('version')).includes('Server'), {
        description: 'containerd to answer on its socket',
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      for (const image of [...Object.values(images), ...Object.values(options.extraImages ?? {})]) {
        await ctr('-n', 'k8s.io', 'images', 'import', image.archive);
      }
    });

    await step('kubelet', async () => {
      writeFileSync(paths.kubeletConfig, renderKubeletConfig(layout, paths, { caFile: pki.files.ca }));
      startInNamespace('kubelet', assetPath(assets, 'kubelet'), [
        `--config=${paths.kubeletConfig}`,
        `--kubeconfig=${kubeconfigs.kubelet}`,
        `--root-dir=${paths.kubeletRoot}`,
        `--hostname-override=${layout.nodeName}`,
        `--node-ip=${layout.nodeIp}`,
      ]);
      await waitFor(
        async () => {
          const node = await kube.get<KubeObject & { status?: { conditions?: Condition[] } }>(
            'v1',
            'Node',
            layout.nodeName,
          );
          return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        },
        { description: `node ${layout.nodeName} Ready`, timeoutMs: 300_000, intervalMs: 500 },
      );
    });

    await step('kube-proxy', async () => {
      writeFileSync(
        paths.kubeProxyConfig,
        renderKubeProxyConfig(layout, { kubeconfig: kubeconfigs.kubeProxy }),
      );
      startInNamespace('kube-proxy', assetPath(assets, 'kube-proxy'), [`--config=${paths.kubeProxyConfig}`]);
      await waitFor(
        async () =>
          (await inNamespace(assetPath(assets, 'iptables'), ['-t', 'nat', '-S'])).includes('KUBE-SVC-'),
        { description: 'kube-proxy to program the Service rules', timeoutMs: 60_000, intervalMs: 500 },
      );
    });

    await step('cluster DNS', async () => {
      for (const object of renderClusterDns(layout, images.coredns.reference)) {
        await kube.applyObject(object, { fieldManager: 'tenantmesh-node', force: true });
      }
      await waitForDeployment(kube, 'kube-system', 'coredns', 300_000);
    });

    return {
      info: {
        layout,
        apiserverUrl,
        caPem: pki.caPem,
        adminKubeconfigPath,
        inNamespaceAdminKubeconfigPath: kubeconfigs.admin,
        kubectl: assetPath(assets, 'kubectl'),
        images: { ...options.extraImages, ...images },
      },
      supervisor,
      kube,
      forward,
      inNamespace,
      stop,
    };
  } catch (error) {
    const tails = supervisor.tails(25);
    await stop().catch((stopError: unknown) => log(`[node] cleanup after failure: ${String(stopError)}`));
    throw new Error(`${(error as Error).message}\n${tails}`, { cause: error });
  }
}

interface Condition {
  type: string;
  status: string;
}

/** Waits until a Deployment has all its replicas available. */
export async function waitForDeployment(kube: Kube, namespace: string, name: string, timeoutMs: number) {
  await waitFor(
    async () => {
      const deployment = await kube.get<
        KubeObject & { spec?: { replicas?: number }; status?: { availableReplicas?: number } }
      >('apps/v1', 'Deployment', name, namespace);
      const wanted = deployment?.spec?.replicas ?? 1;
      return deployment !== undefined && (deployment.status?.availableReplicas ?? 0) >= wanted;
    },
    { description: `Deployment ${namespace}/${name} available`, timeoutMs, intervalMs: 500 },
  );
}

/**
 * Waits until a Deployment's latest template runs alone: the controller saw the change, every replica is updated
 * and available, and no Pod of an older template is left.
 */
export async function waitForRollout(kube: Kube, namespace: string, name: string, timeoutMs: number) {
  await waitFor(
    async () => {
      const deployment = await kube.get<
        KubeObject & {
          metadata: { generation?: number };
          spec?: { replicas?: number };
          status?: {
            observedGeneration?: number;
            replicas?: number;
            updatedReplicas?: number;
            availableReplicas?: number;
          };
        }
      >('apps/v1', 'Deployment', name, namespace);
      if (!deployment) return false;
      const wanted = deployment.spec?.replicas ?? 1;
      const status = deployment.status ?? {};
      return (
        (status.observedGeneration ?? 0) >= (deployment.metadata.generation ?? 1) &&
        status.updatedReplicas === wanted &&
        status.replicas === wanted &&
        (status.availableReplicas ?? 0) >= wanted
      );
    },
    { description: `Deployment ${namespace}/${name} rolled out`, timeoutMs, intervalMs: 500 },
  );
}

function kubeletApiAdminBinding(): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'tenantmesh:apiserver-kubelet-client' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:kubelet-api-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: kubeletClientName }],
  } as KubeObject;
}

const kubeletClientName = 'kube-apiserver-kubelet-client';

/** The node's own CA, serving and client certificates, ServiceAccount keys and static tokens, written under pki/. */
async function writeNodePki(layout: NodeLayout, paths: NodePaths) {
  const now = new Date();
  const ca = await createTenantCa({ tenant: 'local-node', validityDays: 30, now });
  const serving = await issueServingCertificate(ca, {
    hosts: [
      'localhost',
      '127.0.0.1',
      layout.nodeIp,
      layout.apiserverServiceIp,
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      `kubernetes.default.svc.${layout.clusterDomain}`,
    ],
    validityDays: 30,
    now,
  });
  const kubeletClient = await issueClientCertificate(ca, {
    commonName: kubeletClientName,
    tenant: 'local-node',
    validityDays: 30,
    now,
  });
  const serviceAccountKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const user = (name: string, groups: string[]): NodeUser => ({
    name,
    groups,
    token: randomBytes(24).toString('hex'),
  });
  const users = {
    admin: user('admin', ['system:masters']),
    controllerManager: user('system:kube-controller-manager', []),
    scheduler: user('system:kube-scheduler', []),
    kubelet: user(`system:node:${layout.nodeName}`, ['system:nodes']),
    kubeProxy: user('system:kube-proxy', []),
  };
  const file = (name: string, content: string) => {
    const target = path.join(paths.pki, name);
    writeFileSync(target, content, { mode: 0o600 });
    return target;
  };
  const files = {
    ca: file('ca.crt', ca.certPem),
    caKey: file('ca.key', ca.keyPem),
    apiserverCert: file('apiserver.crt', serving.certPem),
    apiserverKey: file('apiserver.key', serving.keyPem),
    kubeletClientCert: file('kubelet-client.crt', kubeletClient.certPem),
    kubeletClientKey: file('kubelet-client.key', kubeletClient.keyPem),
    serviceAccountPrivate: file(
      'sa.key',
      serviceAccountKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ),
    serviceAccountPublic: file(
      'sa.pub',
      serviceAccountKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    ),
    tokens: file(
      'tokens.csv',
      Object.values(users)
        .map((u, index) => `${u.token},${u.name},uid-${index},"${u.groups.join(',')}"`)
        .join('\n'),
    ),
  };
  return { caPem: ca.certPem, files, users };
}

/**
 * One node per machine: its names, addresses and paths are fixed. The lock file holds the owner's pid (written
 * whole before it appears: a link of a finished file); a lock whose owner is gone is stale (a crashed run) and
 * taken over, its leftovers then cleaned. A caller that can queue (a second test run on the machine) waits up to
 * `waitMs`, first come first served: each waiter leaves a ticket (`<lock>.queue/<time>-<pid>`) and only the oldest
 * live one takes a free lock, so a waiter is never overtaken by later ones.
 */
export async function takeNodeLock(
  layout: NodeLayout,
  waitMs: number,
  log: (line: string) => void,
): Promise<() => void> {
  const lockFile = layout.lockFile;
  const queueDir = `${lockFile}.queue`;
  mkdirSync(queueDir, { recursive: true });
  const deadline = Date.now() + waitMs;
  let ticket: string | undefined;
  let announced = 0;
  const leaveQueue = () => {
    if (ticket) rmSync(ticket, { force: true });
    ticket = undefined;
  };
  try {
    for (;;) {
      const first = firstInQueue(queueDir, ticket);
      const owner = liveLockOwner(lockFile, first);
      if (owner === undefined && first && createLockFile(lockFile)) {
        leaveQueue();
        return () => rmSync(lockFile, { force: true });
      }
      if (Date.now() >= deadline) {
        const holder = owner === undefined ? 'another run is queued for it' : `process ${owner} holds it`;
        throw new Error(
          `a local node is already running on this machine (${holder}; lock ${lockFile})` +
            (waitMs > 0 ? ` and it was not ours within ${Math.ceil(waitMs / 1000)} s` : '') +
            '; there can be one per machine: stop it first, or use the process-only platform (--no-node)',
        );
      }
      if (!ticket) {
        ticket = path.join(queueDir, `${String(Date.now()).padStart(15, '0')}-${process.pid}`);
        writeFileSync(ticket, '');
      }
      if (owner !== undefined && announced !== owner) {
        log(`[node] waiting for the local node of process ${owner} to stop (one node per machine)`);
        announced = owner;
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, Math.min(1_000, deadline - Date.now()))),
      );
    }
  } catch (error) {
    leaveQueue();
    throw error;
  }
}

/** The pid holding the lock if it is alive; a stale lock is removed, but only by the caller whose turn it is. */
function liveLockOwner(lockFile: string, mayClean: boolean): number | undefined {
  let owner: number;
  try {
    owner = Number(readFileSync(lockFile, 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (owner > 0 && owner !== process.pid && processAlive(owner)) return owner;
  if (mayClean) rmSync(lockFile, { force: true });
  return undefined;
}

/** True when no live waiter queued before `ticket` (or, without a ticket, when nobody waits at all). */
function firstInQueue(queueDir: string, ticket: string | undefined): boolean {
  const live = readdirSync(queueDir)
    .sort()
    .filter((entry) => {
      const pid = Number(entry.split('-')[1]);
      if (pid === process.pid || processAlive(pid)) return true;
      rmSync(path.join(queueDir, entry), { force: true });
      return false;
    });
  return ticket === undefined ? live.length === 0 : live[0] === path.basename(ticket);
}

/** Creates the lock file holding our pid, atomically (false when it exists). */
function createLockFile(lockFile: string): boolean {
  const staging = `${lockFile}.${process.pid}`;
  writeFileSync(staging, String(process.pid));
  try {
    linkSync(staging, lockFile);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(staging, { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function fileExists(file: string): Promise<boolean> {
  try {
    readFileSync(file);
    return true;
  } catch (error) {
    // A Unix socket cannot be read as a file but exists.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
