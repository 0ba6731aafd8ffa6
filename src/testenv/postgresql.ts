import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.ts';
import type { ProcessSupervisor } from './processes.ts';
import { assetPath, type Assets } from './provision.ts';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

/** Connection parameters of the run's PostgreSQL (a per-run superuser password; loopback only). */
export interface PostgresEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** The unprivileged identity the server runs as when we are root (Debian's `nobody`/`nogroup`). */
const UNPRIVILEGED = { uid: 65534, gid: 65534 };
const SUPERUSER = 'tenantmesh';

/**
 * Starts Debian's PostgreSQL server (unpacked into the component cache by provision.sh) as a process: initdb into
 * `<runDir>/postgresql`, listening on 127.0.0.1 on a free port only, with a fresh superuser password per run.
 *
 * PostgreSQL refuses to run as root, so a root caller runs it as `nobody`; that user cannot reach a cache under
 * root's home, so the server's files are linked (or copied) into the run directory first, and the run directory
 * becomes traversable (0711, not listable) so the server reaches its own data directory.
 */
export async function startPostgresql(
  supervisor: ProcessSupervisor,
  assets: Assets,
  runDir: string,
  options: { durable?: boolean } = {},
): Promise<PostgresEndpoint> {
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? UNPRIVILEGED : undefined;
  const base = path.join(runDir, 'postgresql');
  mkdirSync(base, { recursive: true });
  // <package root>/usr/lib/postgresql/<major>/bin/postgres
  const installedBinDir = path.dirname(realpathSync(assetPath(assets, 'postgres')));
  const packageRoot = path.resolve(installedBinDir, '../../../../..');
  let serverRoot = packageRoot;
  if (asRoot) {
    chmodSync(runDir, 0o711);
    chmodSync(base, 0o711);
    serverRoot = path.join(base, 'server');
    await linkOrCopy(packageRoot, serverRoot);
  }
  const binDir = path.join(serverRoot, path.relative(packageRoot, installedBinDir));
  const env = { LD_LIBRARY_PATH: path.join(serverRoot, 'usr/lib/x86_64-linux-gnu'), LC_ALL: 'C' };

  const dataDir = path.join(base, 'data');
  const socketDir = path.join(base, 'socket');
  const password = randomBytes(24).toString('base64url');
  const passwordFile = path.join(base, 'initdb-password');
  for (const dir of [dataDir, socketDir]) {
    mkdirSync(dir, { mode: 0o700 });
    if (user) chownSync(dir, user.uid, user.gid);
  }
  writeFileSync(passwordFile, password, { mode: 0o600 });
  if (user) chownSync(passwordFile, user.uid, user.gid);
  try {
    await run(
      path.join(binDir, 'initdb'),
      [
        `--pgdata=${dataDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
        '--no-sync',
      ],
      { env: { ...process.env, ...env }, ...(user ?? {}) },
    ).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`initdb failed: ${error.stderr?.trim() || error.message}`);
    });
  } finally {
    rmSync(passwordFile, { force: true });
  }

  const port = await freePort();
  const speed = options.durable
    ? []
    : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  supervisor.start(
    'postgresql',
    path.join(binDir, 'postgres'),
    [
      '-D',
      dataDir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-p',
      String(port),
      '-c',
      `unix_socket_directories=${socketDir}`,
      '-c',
      'max_connections=200',
      ...speed,
    ],
    env,
    user,
  );
  const endpoint: PostgresEndpoint = {
    host: '127.0.0.1',
    port,
    user: SUPERUSER,
    password,
    database: 'postgres',
  };
  await waitFor(() => canConnect(endpoint), {
    description: `PostgreSQL accepting connections on 127.0.0.1:${port}`,
    timeoutMs: 60_000,
    intervalMs: 100,
  });
  return endpoint;
}

async function canConnect(endpoint: PostgresEndpoint): Promise<boolean> {
  const client = new pg.Client({ ...endpoint, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Hard links keep the per-run copy of the server free (same filesystem); a copy otherwise. */
async function linkOrCopy(source: string, target: string): Promise<void> {
  try {
    await run('cp', ['-al', source, target]);
  } catch {
    rmSync(target, { recursive: true, force: true });
    await run('cp', ['-a', source, target]);
  }
}
