import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

/**
 * How requests authenticate. `plugin` covers kubeconfig users with `exec` or `auth-provider`: those are
 * delegated to the Kubernetes client library, which is imported only when such a user is actually used.
 */
export type KubeCredentials =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  /** A token re-read from this file now and then, because projected ServiceAccount tokens rotate. */
  | { kind: 'tokenFile'; path: string }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'plugin'; source: KubeconfigSource; context: string };

/** Where a kubeconfig came from, so the client library can load the same one for `plugin` users. */
export type KubeconfigSource = { path: string } | { yaml: string };

/** TLS settings of the connection to the apiserver (all PEM). */
export interface KubeTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** False only for `insecure-skip-tls-verify: true`. */
  rejectUnauthorized: boolean;
  /** `tls-server-name`: the name to verify the server certificate against instead of the URL's host. */
  servername?: string;
}

/** Everything needed to talk to one apiserver as one user, resolved from a kubeconfig or the pod. */
export interface KubeConnection {
  /** Base URL without a trailing slash, e.g. `https://10.96.0.1:443`. */
  server: string;
  tls: KubeTls;
  credentials: KubeCredentials;
  /** The context's namespace (informational; the facade always names namespaces explicitly). */
  namespace?: string;
}

/** Where the kubelet mounts a pod's ServiceAccount token and the cluster CA. */
export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A `clusters`, `users` or `contexts` entry: a name and the body under the kind's own key. */
interface NamedEntry<T> {
  name?: string;
  cluster?: T;
  user?: T;
  context?: T;
}

interface KubeconfigCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}

interface KubeconfigUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
}

interface KubeconfigContext {
  cluster?: string;
  user?: string;
  namespace?: string;
}

interface Kubeconfig {
  clusters?: NamedEntry<KubeconfigCluster>[] | null;
  users?: NamedEntry<KubeconfigUser>[] | null;
  contexts?: NamedEntry<KubeconfigContext>[] | null;
  'current-context'?: string;
}

/**
 * Resolves one context of a kubeconfig (its text, and the file it came from when there is one: relative
 * certificate and token paths are relative to that file, as kubectl reads them).
 */
export function connectionFromKubeconfig(source: KubeconfigSource, context?: string): KubeConnection {
  const text = 'yaml' in source ? source.yaml : readFileSync(source.path, 'utf8');
  const baseDir = 'path' in source ? dirname(source.path) : undefined;
  const config = (parse(text) ?? {}) as Kubeconfig;
  const contextName = context ?? config['current-context'];
  if (!contextName) throw new Error('kubeconfig has no current-context');
  const contextEntry = named(config.contexts, contextName, 'context');
  if (!contextEntry) throw new Error(`kubeconfig has no context "${contextName}"`);
  const cluster = contextEntry.cluster ? named(config.clusters, contextEntry.cluster, 'cluster') : undefined;
  if (!cluster?.server) throw new Error('kubeconfig has no current cluster');
  const user = contextEntry.user ? (named(config.users, contextEntry.user, 'user') ?? {}) : {};

  const resolvePath = (file: string) => (baseDir && !isAbsolute(file) ? join(baseDir, file) : file);
  const pem = (data: string | undefined, file: string | undefined): Buffer | undefined => {
    if (data) return Buffer.from(data, 'base64');
    if (file) return readFileSync(resolvePath(file));
    return undefined;
  };

  const tls: KubeTls = { rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true };
  const ca = pem(cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca) tls.ca = ca;
  if (cluster['tls-server-name']) tls.servername = cluster['tls-server-name'];
  const cert = pem(user['client-certificate-data'], user['client-certificate']);
  const key = pem(user['client-key-data'], user['client-key']);
  if (cert) tls.cert = cert;
  if (key) tls.key = key;

  let credentials: KubeCredentials = { kind: 'none' };
  if (user.exec || user['auth-provider']) credentials = { kind: 'plugin', source, context: contextName };
  else if (user.token) credentials = { kind: 'token', token: user.token };
  else if (user.tokenFile) credentials = { kind: 'tokenFile', path: resolvePath(user.tokenFile) };
  else if (user.username !== undefined && user.password !== undefined) {
    credentials = { kind: 'basic', username: user.username, password: user.password };
  }

  const connection: KubeConnection = { server: trimSlashes(cluster.server), tls, credentials };
  if (contextEntry.namespace) connection.namespace = contextEntry.namespace;
  return connection;
}

/** The body of the entry with this name (`{}` when it has none), or undefined when there is no such entry. */
function named<T>(
  entries: NamedEntry<T>[] | null | undefined,
  name: string,
  key: 'cluster' | 'user' | 'context',
): T | undefined {
  const entry = (entries ?? []).find((candidate) => candidate.name === name);
  return entry ? ((entry[key] ?? {}) as T) : undefined;
}

/**
 * The pod's own identity: the apiserver from KUBERNETES_SERVICE_HOST/PORT, the mounted cluster CA and the
 * mounted (rotating) ServiceAccount token.
 */
export function inClusterConnection(
  env: NodeJS.ProcessEnv = process.env,
  dir: string = serviceAccountDir,
): KubeConnection {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) {
    throw new Error(
      'not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset',
    );
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    tls: { ca: readFileSync(join(dir, 'ca.crt')), rejectUnauthorized: true },
    credentials: { kind: 'tokenFile', path: join(dir, 'token') },
  };
}

/**
 * kubectl's search order: the first file named by $KUBECONFIG, else ~/.kube/config, else the pod's
 * ServiceAccount. (Merging several $KUBECONFIG files is not supported: the first one is used.)
 */
export function defaultConnection(
  context?: string,
  env: NodeJS.ProcessEnv = process.env,
  dir: string = serviceAccountDir,
): KubeConnection {
  const fromEnv = (env['KUBECONFIG'] ?? '').split(delimiter).find((entry) => entry.length > 0);
  if (fromEnv) return connectionFromKubeconfig({ path: fromEnv }, context);
  const home = env['HOME'] ?? homedir();
  const inHome = join(home, '.kube', 'config');
  if (existsSync(inHome)) return connectionFromKubeconfig({ path: inHome }, context);
  return inClusterConnection(env, dir);
}

function trimSlashes(server: string): string {
  return server.replace(/\/+$/, '');
}
