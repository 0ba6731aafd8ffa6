import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { KubeObject } from '../kube/index.ts';
import { assetPath, type Assets } from '../testenv/provision.ts';
import type { ImageSpec, LayerFile } from './image-archive.ts';
import { localRegistry } from './images.ts';
import { restrictedContainerSecurity } from './pod-security.ts';

const run = promisify(execFile);

/** Names of the node's registry database; the chart's `registry.databaseSecret` names the Secret. */
export const registryDatabase = {
  name: 'postgresql',
  port: 5432,
  user: 'tenantmesh',
  database: 'tenantmesh',
  /** The Secret the database takes its superuser password from (key `password`). */
  credentialsSecret: 'postgresql-credentials',
} as const;

/** Where the server binaries sit in Debian's package (and so in the image). */
const serverBin = '/usr/lib/postgresql/15/bin';
/** The emptyDir's mount; the data directory is a subdirectory initdb creates, so it owns it (mode 0700). */
const dataVolume = '/var/lib/postgresql';
const dataDir = `${dataVolume}/data`;
/** The image's only writable places are emptyDirs: the data, and the socket and password file in /tmp. */
const runDir = '/tmp';

/**
 * Why the start script is a script: PostgreSQL's container has no entrypoint of its own here, so on first start
 * (an empty data directory) it runs initdb with the password from the Secret (via a file, never the command line),
 * opens password (SCRAM) logins from any address, creates the database, then becomes the server.
 */
const startScript = [
  'set -eu',
  `if [ ! -s ${dataDir}/PG_VERSION ]; then`,
  `  umask 077; printf '%s' "$POSTGRES_PASSWORD" > ${runDir}/initdb-password`,
  `  ${serverBin}/initdb --pgdata=${dataDir} --username=${registryDatabase.user} --pwfile=${runDir}/initdb-password \\`,
  '    --auth=scram-sha-256 --encoding=UTF8 --no-locale --no-sync',
  `  rm -f ${runDir}/initdb-password`,
  `  printf 'host all all 0.0.0.0/0 scram-sha-256\\nhost all all ::/0 scram-sha-256\\n' >> ${dataDir}/pg_hba.conf`,
  `  echo "CREATE DATABASE ${registryDatabase.database}" | ${serverBin}/postgres --single -D ${dataDir} postgres >/dev/null`,
  'fi',
  `exec ${serverBin}/postgres -D ${dataDir} -c listen_addresses='*' -p ${registryDatabase.port} \\`,
  `  -c unix_socket_directories=${runDir} -c jit=off`,
].join('\n');

/**
 * PostgreSQL (Debian's server package, the one the process-only platform runs) as one Pod in the release
 * namespace, for the chart's model registry: a Deployment (non-root, read-only root file system, data on an
 * emptyDir: the node's registry starts empty on every start of the Pod), its Service, and a NetworkPolicy that
 * admits only tenantmesh's own Pods (the API and the operator) on the database port.
 */
export function renderRegistryDatabase(options: { image: string; namespace: string }): KubeObject[] {
  const { name, port, credentialsSecret } = registryDatabase;
  const labels = { app: name };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: options.namespace, labels },
      spec: {
        replicas: 1,
        // One server per data directory: the old Pod goes before the new one starts.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            containers: [
              {
                name,
                image: options.image,
                imagePullPolicy: 'Never',
                command: ['/bin/sh', '-c', startScript],
                env: [
                  {
                    name: 'POSTGRES_PASSWORD',
                    valueFrom: { secretKeyRef: { name: credentialsSecret, key: 'password' } },
                  },
                  { name: 'LC_ALL', value: 'C' },
                ],
                ports: [{ name: 'postgresql', containerPort: port }],
                // The postmaster writes "ready" into postmaster.pid once it accepts connections (what pg_ctl
                // waits for); the server package has no pg_isready.
                readinessProbe: {
                  exec: {
                    command: ['/bin/sh', '-c', `sed -n 8p ${dataDir}/postmaster.pid | grep -q ready`],
                  },
                  periodSeconds: 2,
                },
                resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '512Mi' } },
                // Debian's nobody: the root file system's /etc/passwd knows it (PostgreSQL looks itself up).
                securityContext: restrictedContainerSecurity(65534, 65534),
                volumeMounts: [
                  { name: 'data', mountPath: dataVolume },
                  { name: 'run', mountPath: runDir },
                ],
              },
            ],
            securityContext: { fsGroup: 65534 },
            volumes: [
              { name: 'data', emptyDir: {} },
              { name: 'run', emptyDir: { medium: 'Memory' } },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: options.namespace, labels },
      spec: {
        selector: labels,
        ports: [{ name: 'tcp-postgresql', port, targetPort: port, appProtocol: 'tcp' }],
      },
    },
    {
      // The chart's own policies select only its Pods; this one closes the database to everything else (serving
      // Pods are already kept away by the serving egress policy). Enforced only where the CNI enforces policies.
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name, namespace: options.namespace, labels },
      spec: {
        podSelector: { matchLabels: labels },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'tenantmesh' } } }],
            ports: [{ port, protocol: 'TCP' }],
          },
        ],
      },
    },
  ] as KubeObject[];
}

/**
 * The connection Secret in the format the chart's `registry.databaseSecret` reads (keys host, port, user, password,
 * database), pointing at the Service above.
 */
export function renderRegistryDatabaseSecret(options: {
  name: string;
  namespace: string;
  password: string;
}): KubeObject {
  const { name, port, user, database } = registryDatabase;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: options.name, namespace: options.namespace },
    stringData: {
      host: `${name}.${options.namespace}.svc`,
      port: String(port),
      user,
      password: options.password,
      database,
    },
  } as KubeObject;
}

/**
 * The PostgreSQL image: Debian's root file system, the server package provision.sh unpacked into the cache, and
 * the shared libraries the server links that the root file system lacks (ICU, libxml2, LDAP…), taken from this
 * host, where provision.sh already requires them (the same Debian release as the root file system).
 */
export async function postgresqlImageSpec(assets: Assets): Promise<ImageSpec> {
  const installedBin = path.dirname(realpathSync(assetPath(assets, 'postgres')));
  const packageRoot = path.resolve(installedBin, '../../../../..');
  const rootfs = assetPath(assets, 'rootfs.tar');
  return {
    repository: `${localRegistry}/postgresql`,
    layers: [
      { kind: 'tar', path: rootfs },
      {
        kind: 'files',
        // The server, its modules and share files, and libpq (initdb links it); not the docs (dangling links).
        files: ['usr/lib/postgresql', 'usr/share/postgresql', 'usr/lib/x86_64-linux-gnu'].map((dir) => ({
          source: path.join(packageRoot, dir),
          target: `/${dir}`,
        })),
      },
      { kind: 'files', files: await missingLibraries(packageRoot, installedBin, rootfs) },
    ],
    config: { user: '65534:65534', env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'LC_ALL=C'] },
  };
}

async function missingLibraries(
  packageRoot: string,
  installedBin: string,
  rootfs: string,
): Promise<LayerFile[]> {
  const inRootfs = new Set(
    (await run('tar', ['-tf', rootfs], { maxBuffer: 64 * 1024 * 1024 })).stdout
      .split('\n')
      .map((entry) => entry.replace(/^\.\//, '/')),
  );
  const packageLibs = path.join(packageRoot, 'usr/lib/x86_64-linux-gnu');
  const lib = path.join(installedBin, '../lib');
  const { stdout } = await run(
    'ldd',
    [
      path.join(installedBin, 'postgres'),
      path.join(installedBin, 'initdb'),
      path.join(lib, 'plpgsql.so'),
      path.join(lib, 'dict_snowball.so'),
    ],
    { env: { ...process.env, LD_LIBRARY_PATH: packageLibs } },
  );
  const files = new Map<string, LayerFile>();
  for (const [, soname, resolved] of stdout.matchAll(/^\s+(\S+) => (\/\S+) \(/gm)) {
    if (resolved!.startsWith(packageRoot)) continue;
    // Merged /usr: /lib is a link in the root file system, so a library goes where the link points.
    const target = `/usr/lib/x86_64-linux-gnu/${soname}`;
    if (inRootfs.has(target) || files.has(target)) continue;
    files.set(target, { source: realpathSync(resolved!), target });
  }
  if (/not found/.test(stdout))
    throw new Error(`PostgreSQL's libraries are missing on this host:\n${stdout}`);
  return [...files.values()].sort((a, b) => a.target.localeCompare(b.target));
}
