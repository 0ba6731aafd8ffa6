import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One file or directory tree copied into a layer. */
export interface LayerFile {
  source: string;
  /** Absolute path inside the image. */
  target: string;
}

/** A layer: either a ready tar (an mmdebstrap root filesystem) or files and links staged by us. */
export type ImageLayer =
  | { kind: 'tar'; path: string }
  | { kind: 'files'; files: LayerFile[]; symlinks?: { target: string; linkTo: string }[] };

/** The runtime settings of an image (the OCI image config's `config`). */
export interface ImageRuntimeConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
}

/** A local image: its repository (no registry is reachable, so references are ours), layers and settings. */
export interface ImageSpec {
  repository: string;
  layers: ImageLayer[];
  config: ImageRuntimeConfig;
}

/** A built image: its reference (tagged by its inputs' digest) and its docker-archive tar. */
export interface BuiltImage {
  reference: string;
  archive: string;
}

/**
 * The image config JSON (docker/OCI image config): no timestamps, no host details, so the same inputs give the
 * same image ID.
 */
export function renderImageConfig(config: ImageRuntimeConfig, diffIds: string[]): string {
  const runtime: Record<string, unknown> = {};
  if (config.entrypoint) runtime['Entrypoint'] = config.entrypoint;
  if (config.cmd) runtime['Cmd'] = config.cmd;
  runtime['Env'] = config.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
  if (config.workingDir) runtime['WorkingDir'] = config.workingDir;
  if (config.user) runtime['User'] = config.user;
  return JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: runtime,
    rootfs: { type: 'layers', diff_ids: diffIds },
  });
}

/** The docker-archive `manifest.json`: one image, its config file, its layer files in order. */
export function renderArchiveManifest(reference: string, configFile: string, layerFiles: string[]): string {
  return JSON.stringify([{ Config: configFile, RepoTags: [reference], Layers: layerFiles }]);
}

/** GNU tar options that make a tar depend only on file contents, names and modes. */
const reproducibleTar = [
  '--sort=name',
  '--mtime=@0',
  '--owner=0',
  '--group=0',
  '--numeric-owner',
  '--format=gnu',
];

/**
 * Builds a docker-archive tar for `spec` into `cacheDir`, unless one for the same inputs is already there. The
 * tag is a digest of everything that goes in (file contents included), so a changed input is a new image.
 */
export async function buildImage(spec: ImageSpec, cacheDir: string): Promise<BuiltImage> {
  await loadDigestMemo(cacheDir);
  const inputs = await digestInputs(spec);
  await saveDigestMemo(cacheDir);
  const name = spec.repository.split('/').pop()!;
  const reference = `${spec.repository}:${inputs.slice(0, 16)}`;
  const archive = path.join(cacheDir, `${name}-${inputs.slice(0, 16)}.tar`);
  if (await exists(archive)) return { reference, archive };

  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(path.join(cacheDir, `.build-${name}-`));
  try {
    const archiveDir = path.join(work, 'archive');
    await mkdir(archiveDir);
    const diffIds: string[] = [];
    const layerFiles: string[] = [];
    for (const [index, layer] of spec.layers.entries()) {
      const layerTar = path.join(work, `layer-${index}.tar`);
      if (layer.kind === 'tar') {
        await cp(layer.path, layerTar);
      } else {
        const staging = path.join(work, `layer-${index}`);
        await stageFiles(staging, layer);
        await run('tar', [...reproducibleTar, '-C', staging, '-cf', layerTar, '.']);
      }
      const diffId = await sha256File(layerTar);
      await mkdir(path.join(archiveDir, diffId));
      await rename(layerTar, path.join(archiveDir, diffId, 'layer.tar'));
      diffIds.push(`sha256:${diffId}`);
      layerFiles.push(`${diffId}/layer.tar`);
    }
    const config = renderImageConfig(spec.config, diffIds);
    const configFile = `${createHash('sha256').update(config).digest('hex')}.json`;
    await writeFile(path.join(archiveDir, configFile), config);
    await writeFile(
      path.join(archiveDir, 'manifest.json'),
      renderArchiveManifest(reference, configFile, layerFiles),
    );
    const partial = path.join(work, 'image.tar');
    await run('tar', [...reproducibleTar, '-C', archiveDir, '-cf', partial, '.']);
    await rename(partial, archive);
    return { reference, archive };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function stageFiles(staging: string, layer: Extract<ImageLayer, { kind: 'files' }>): Promise<void> {
  await mkdir(staging, { recursive: true });
  for (const file of layer.files) {
    const target = path.join(staging, file.target);
    await mkdir(path.dirname(target), { recursive: true });
    await cp(file.source, target, { recursive: true, dereference: true, preserveTimestamps: false });
  }
  for (const link of layer.symlinks ?? []) {
    const target = path.join(staging, link.target);
    await mkdir(path.dirname(target), { recursive: true });
    await symlink(link.linkTo, target);
  }
}

/** Digest of the spec and the contents of every input file (recursively for directories). */
async function digestInputs(spec: ImageSpec): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ repository: spec.repository, config: spec.config }));
  for (const layer of spec.layers) {
    if (layer.kind === 'tar') {
      hash.update(`tar\0${await sha256File(layer.path)}\0`);
      continue;
    }
    for (const file of layer.files) hash.update(`file\0${file.target}\0${await digestTree(file.source)}\0`);
    for (const link of layer.symlinks ?? []) hash.update(`link\0${link.target}\0${link.linkTo}\0`);
  }
  return hash.digest('hex');
}

async function digestTree(source: string): Promise<string> {
  const info = await stat(source);
  if (!info.isDirectory()) return `${info.mode & 0o111 ? 'x' : '-'}${await sha256File(source)}`;
  const hash = createHash('sha256');
  const entries = (await readdir(source)).sort();
  for (const entry of entries) hash.update(`${entry}\0${await digestTree(path.join(source, entry))}\0`);
  return hash.digest('hex');
}

/** File digests by path, size and modification time: a warm start must not re-read hundreds of megabytes. */
const knownDigests = new Map<string, string>();
const memoFile = (cacheDir: string) => path.join(cacheDir, '.input-digests.json');

async function loadDigestMemo(cacheDir: string): Promise<void> {
  try {
    const saved = JSON.parse(await readFile(memoFile(cacheDir), 'utf8')) as Record<string, string>;
    for (const [key, digest] of Object.entries(saved))
      if (!knownDigests.has(key)) knownDigests.set(key, digest);
  } catch {
    // No memo yet.
  }
}

async function saveDigestMemo(cacheDir: string): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  const partial = `${memoFile(cacheDir)}.${process.pid}`;
  await writeFile(partial, JSON.stringify(Object.fromEntries(knownDigests)));
  await rename(partial, memoFile(cacheDir));
}

async function sha256File(file: string): Promise<string> {
  const info = await stat(file);
  const key = `${path.resolve(file)}\0${info.size}\0${info.mtimeMs}`;
  const known = knownDigests.get(key);
  if (known) return known;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  knownDigests.set(key, digest);
  return digest;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
