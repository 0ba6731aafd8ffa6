import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildConsoleAssets } from '../console/assets.ts';
import { assetPath, type Assets } from '../testenv/provision.ts';
import type { ImageSpec } from './image-archive.ts';
import { localRegistry } from './images.ts';

const run = promisify(execFile);
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The production dependencies (`npm ci --omit=dev`) of the working tree's lockfile, installed once per lockfile
 * into the cache: the image carries these, not the developer's node_modules with its test tooling.
 */
async function productionModules(cacheDir: string, log: (line: string) => void): Promise<string> {
  const lock = await readFile(path.join(repositoryRoot, 'package-lock.json'));
  const manifest = await readFile(path.join(repositoryRoot, 'package.json'));
  const key = createHash('sha256').update(lock).update('\0').update(manifest).digest('hex').slice(0, 16);
  const dir = path.join(cacheDir, 'tenantmesh-modules', key);
  const modules = path.join(dir, 'node_modules');
  if (await exists(path.join(dir, '.done'))) return modules;
  const started = Date.now();
  const staging = `${dir}.${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await copyFile(path.join(repositoryRoot, 'package.json'), path.join(staging, 'package.json'));
  await copyFile(path.join(repositoryRoot, 'package-lock.json'), path.join(staging, 'package-lock.json'));
  try {
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: staging,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(
      `npm ci --omit=dev for the tenantmesh image: ${(error as { stderr?: string }).stderr ?? error}`,
      {
        cause: error,
      },
    );
  }
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  await copyFile(path.join(dir, 'package.json'), path.join(dir, '.done'));
  log(
    `[images] tenantmesh production dependencies installed in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return modules;
}

/**
 * The tenantmesh image the chart runs (operator, API and model puller: `tenantmesh-server <command>`): Debian with
 * the pinned Node.js runtime, the working tree's sources run through tsx, and the production dependencies. tsx's
 * disk cache is off because the chart mounts the root file system read-only. The console's assets are built in.
 */
export async function tenantmeshImageSpec(
  assets: Assets,
  cacheDir: string,
  log: (line: string) => void,
): Promise<ImageSpec> {
  const modules = await productionModules(cacheDir, log);
  // The web console's bundled script and stylesheet, where the API looks for them (dist/console beside src).
  // Built afresh into a private directory: the image is tagged by content, so an unchanged console is no new image.
  const consoleAssets = await mkdtemp(path.join(tmpdir(), 'tenantmesh-console-assets-'));
  await buildConsoleAssets(consoleAssets);
  const from = (relative: string, target: string) => ({
    source: path.join(repositoryRoot, relative),
    target,
  });
  return {
    repository: `${localRegistry}/tenantmesh`,
    layers: [
      { kind: 'tar', path: assetPath(assets, 'rootfs.tar') },
      { kind: 'files', files: [from('node_modules/node/bin/node', '/usr/local/bin/node')] },
      { kind: 'files', files: [{ source: modules, target: '/app/node_modules' }] },
      {
        kind: 'files',
        files: [
          from('package.json', '/app/package.json'),
          from('bin', '/app/bin'),
          from('src', '/app/src'),
          { source: consoleAssets, target: '/app/dist/console' },
        ],
      },
    ],
    config: {
      entrypoint: ['/usr/local/bin/node', '/app/bin/tenantmesh-server.js'],
      workingDir: '/app',
      user: '65532:65532',
      env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'NODE_ENV=production',
        'TSX_DISABLE_CACHE=1',
      ],
    },
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
