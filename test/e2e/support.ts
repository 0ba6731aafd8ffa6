import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { identityProvider, type NodeIdentityProvider } from '../../src/localcluster/identity-provider.ts';
import { installTenantmesh, tenantmeshRelease, type ReleaseTarget } from '../../src/localcluster/release.ts';
import { gatewayRelease, istioNamespace } from '../../src/localcluster/mesh.ts';
import { assetPath, provisionAssets } from '../../src/testenv/provision.ts';
import { waitFor } from '../../src/testenv/wait.ts';

const execFileAsync = promisify(execFile);

/** The node's facts as the e2e global setup hands them to test workers. */
export interface NodeSummary {
  apiserverUrl: string;
  kubeconfig: string;
  kubectl: string;
  netns: string;
  root: string;
  images: Record<string, string>;
  logDir: string;
}

async function control<T>(method: 'GET' | 'POST', route: string, payload?: unknown): Promise<T> {
  const response = await fetch(`${inject('nodeControlUrl')}${route}`, {
    method,
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
  });
  const body = (await response.json()) as T & { message?: string };
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${body.message ?? ''}`);
  return body;
}

/** The running node (started again if the teardown test stopped it). */
export const currentNode = () => control<NodeSummary>('GET', '/node');
export const stopNode = () =>
  control<{ report: Record<string, unknown>; seconds: number }>('POST', '/node/stop');

/**
 * A 127.0.0.1 port forwarded to `host:port` inside the node's network namespace (the host never routes cluster
 * addresses); the same name and target give the same port for the node's life.
 */
export const forward = async (name: string, host: string, port: number) =>
  (await control<{ port: number }>('POST', '/forward', { name, host, port })).port;

/** The cluster IP of a Service (forward targets are addresses, not names). */
export const clusterIp = async (node: NodeSummary, namespace: string, service: string) =>
  (
    await kubectl(node, ['get', 'service', service, '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}'])
  ).trim();

/** Runs kubectl against the node as its admin; stdin is sent as given (manifests). */
export async function kubectl(node: NodeSummary, args: string[], stdin?: string): Promise<string> {
  const child = execFileAsync(node.kubectl, ['--kubeconfig', node.kubeconfig, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  if (stdin !== undefined) {
    child.child.stdin?.end(stdin);
  }
  try {
    return (await child).stdout;
  } catch (error) {
    throw new Error(`kubectl ${args.join(' ')}: ${(error as { stderr?: string }).stderr ?? String(error)}`, {
      cause: error,
    });
  }
}

export async function apply(node: NodeSummary, objects: unknown[]): Promise<void> {
  await kubectl(node, ['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
}

/** Runs a one-shot Pod to completion and returns its log; fails with the Pod's status if it does not succeed. */
export async function runPod(
  node: NodeSummary,
  options: {
    namespace: string;
    name: string;
    image: string;
    command: string[];
    /** Environment variables, e.g. a credential from a Secret (kept out of the Pod's command line). */
    env?: unknown[];
    timeoutMs?: number;
  },
): Promise<string> {
  await apply(node, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: options.name, namespace: options.namespace },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'main',
            image: options.image,
            imagePullPolicy: 'Never',
            command: options.command,
            env: options.env ?? [],
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 1000,
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
              seccompProfile: { type: 'RuntimeDefault' },
            },
          },
        ],
      },
    },
  ]);
  let phase = '';
  await waitFor(
    async () => {
      phase = (
        await kubectl(node, [
          'get',
          'pod',
          options.name,
          '-n',
          options.namespace,
          '-o',
          'jsonpath={.status.phase}',
        ])
      ).trim();
      return phase === 'Succeeded' || phase === 'Failed';
    },
    {
      description: `Pod ${options.namespace}/${options.name} to finish`,
      timeoutMs: options.timeoutMs ?? 90_000,
      intervalMs: 500,
    },
  );
  const logs = await kubectl(node, ['logs', options.name, '-n', options.namespace]);
  if (phase !== 'Succeeded') throw new Error(`Pod ${options.name} ${phase}: ${logs}`);
  return logs;
}

/**
 * A web server Pod (python's file server on /etc, so `GET /hostname` answers the Pod's name) in a meshed namespace,
 * its Service, and an HTTP route to it through the ingress gateway for `host`; plus a client namespace outside the
 * mesh (no sidecar, plain text). Applies them and waits for the Pod.
 */
export async function webBehindGateway(
  node: NodeSummary,
  options: { namespace: string; clientNamespace: string; name: string; host: string; extra?: unknown[] },
): Promise<void> {
  const { namespace, clientNamespace, name, host } = options;
  await apply(node, [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: { 'istio-injection': 'enabled' } },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: clientNamespace } },
  ]);
  await apply(node, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels: { app: name } },
      spec: {
        containers: [
          {
            name: 'web',
            image: node.images['debian'],
            imagePullPolicy: 'Never',
            command: ['python3', '-m', 'http.server', '8080', '--directory', '/etc'],
            ports: [{ containerPort: 8080 }],
            securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false },
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name, namespace },
      spec: {
        selector: { istio: 'ingressgateway' },
        servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [host] }],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name, namespace },
      spec: {
        hosts: [host],
        gateways: [name],
        http: [
          {
            route: [
              { destination: { host: `${name}.${namespace}.svc.cluster.local`, port: { number: 80 } } },
            ],
          },
        ],
      },
    },
    ...(options.extra ?? []),
  ]);
  await kubectl(node, ['wait', '--for=condition=Ready', `pod/${name}`, '-n', namespace, '--timeout=180s']);
}

/** How a test drives helm against the node's tenantmesh release. */
export async function releaseTarget(node: NodeSummary): Promise<ReleaseTarget> {
  return {
    kubeconfig: node.kubeconfig,
    helm: assetPath(await provisionAssets(['helm']), 'helm'),
    images: node.images,
    workDir: mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-release-')),
  };
}

/** tenantmesh installed by its chart on the node, as `npm start` installs it, and reached from 127.0.0.1. */
export interface InstalledTenantmesh {
  target: ReleaseTarget;
  /** The management API (the chart's Service, forwarded). */
  apiUrl: string;
  /** The Istio ingress gateway's HTTPS port (forwarded): tenants' endpoints and registries. */
  gatewayPort: number;
}

/** Installs the chart unless it is (helm upgrade --install) and forwards the API and the gateway to loopback. */
export async function installedTenantmesh(node: NodeSummary): Promise<InstalledTenantmesh> {
  const target = await releaseTarget(node);
  await installTenantmesh(target);
  const { namespace, apiService } = tenantmeshRelease;
  const apiPort = await forward(apiService, await clusterIp(node, namespace, apiService), 80);
  const gatewayPort = await forward(
    gatewayRelease,
    await clusterIp(node, istioNamespace, gatewayRelease),
    443,
  );
  return { target, apiUrl: `http://127.0.0.1:${apiPort}`, gatewayPort };
}

/** The chart with its web console on, logging people in through Dex as a Pod beside it. */
export interface InstalledConsole extends InstalledTenantmesh {
  identityProvider: NodeIdentityProvider;
  /** The 127.0.0.1 port forwarded to Dex's Service: a browser maps Dex's in-cluster host and port to it. */
  dexPort: number;
}

/**
 * Installs the chart as {@link installedTenantmesh} does, then again with the console on: the console's public URL
 * is the API's loopback forward, which exists only once the API's Service does. Dex's demo users are made afresh.
 */
export async function installedConsole(node: NodeSummary): Promise<InstalledConsole> {
  const installed = await installedTenantmesh(node);
  const { identityProvider: dex } = await installTenantmesh(installed.target, () => {}, {
    console: { publicUrl: installed.apiUrl },
  });
  if (!dex) throw new Error('the console install made no identity provider');
  const { namespace } = tenantmeshRelease;
  const dexPort = await forward(
    identityProvider.name,
    await clusterIp(node, namespace, identityProvider.name),
    identityProvider.port,
  );
  return { ...installed, identityProvider: dex, dexPort };
}
