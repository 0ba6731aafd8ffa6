import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { ApiError, seg, type ApiClient } from './api-client.ts';
import { CliError, ExitCode, usageError } from './errors.ts';
import type { Progress } from './progress.ts';

const MIB = 1024 * 1024;

/** Files at least this large use a multipart session (flag `--multipart-threshold`). */
export const DEFAULT_MULTIPART_THRESHOLD = 64 * MIB;
/** Default part size; grown for very large files so they fit in 10 000 parts. */
export const DEFAULT_PART_SIZE = 16 * MIB;
/** S3's smallest part (all but the last) and the API's largest. */
export const MIN_PART_SIZE = 5 * MIB;
export const MAX_PART_SIZE = 512 * MIB;
const MAX_PARTS = 10_000;

/** A version as the models routes address it. */
export interface VersionRef {
  tenant: string;
  model: string;
  version: string;
}

/** A published version's manifest (docs/storage.md). */
export interface VersionManifest {
  schemaVersion: 1;
  model: string;
  version: string;
  publishedAt: string;
  uploadId: string;
  files: { name: string; size: number; sha256: string }[];
}

/** A stored part as the session status lists it. */
export interface UploadedPart {
  partNumber: number;
  size: number;
  etag?: string;
}

/** One planned part of the local file. */
export interface PlannedPart {
  partNumber: number;
  offset: number;
  size: number;
}

/**
 * The part size to use: the requested one (checked against S3's rules), else 16 MiB, doubled until the file
 * fits in 10 000 parts (16 MiB covers files up to ~156 GiB; 64 MiB up to ~625 GiB).
 */
export function choosePartSize(fileSize: number, requested?: number): number {
  if (requested !== undefined) {
    if (requested < MIN_PART_SIZE || requested > MAX_PART_SIZE) {
      throw usageError(`part size must be between ${MIN_PART_SIZE / MIB} and ${MAX_PART_SIZE / MIB} MiB`);
    }
    if (Math.ceil(fileSize / requested) > MAX_PARTS) {
      throw usageError(`part size ${requested / MIB} MiB needs more than ${MAX_PARTS} parts for this file`);
    }
    return requested;
  }
  let size = DEFAULT_PART_SIZE;
  while (Math.ceil(fileSize / size) > MAX_PARTS) size *= 2;
  if (size > MAX_PART_SIZE) throw usageError('the file is too large for one upload session');
  return size;
}

/** Splits a file into numbered parts (1..n); an empty file has no parts. */
export function planParts(fileSize: number, partSize: number): PlannedPart[] {
  const parts: PlannedPart[] = [];
  for (let offset = 0, partNumber = 1; offset < fileSize; offset += partSize, partNumber += 1) {
    parts.push({ partNumber, offset, size: Math.min(partSize, fileSize - offset) });
  }
  return parts;
}

/**
 * The parts still to send: those the server does not have, or has with another size (a part cut off by a
 * different part size, or from an earlier attempt with other settings). Resending a part replaces it.
 */
export function remainingParts(plan: PlannedPart[], uploaded: UploadedPart[]): PlannedPart[] {
  const stored = new Map(uploaded.map((part) => [part.partNumber, part.size]));
  return plan.filter((part) => stored.get(part.partNumber) !== part.size);
}

/** What the CLI remembers about an unfinished upload session, to resume it. */
export interface UploadState {
  server: string;
  tenant: string;
  model: string;
  version: string;
  file: string;
  localPath: string;
  size: number;
  mtimeMs: number;
  partSize: number;
  uploadId: string;
  createdAt: string;
}

/** The state file of an upload: one per (server, version, local file), in `<config dir>/uploads/`. */
export function stateFilePath(stateDir: string, server: string, ref: VersionRef, localPath: string): string {
  const key = createHash('sha256')
    .update(JSON.stringify([server, ref.tenant, ref.model, ref.version, path.resolve(localPath)]))
    .digest('hex')
    .slice(0, 24);
  return path.join(
    stateDir,
    `${ref.tenant}-${ref.model}-${ref.version}-${key}.json`.replace(/[^\w.-]/g, '_'),
  );
}

async function readState(file: string): Promise<UploadState | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as UploadState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read upload state ${file}: ${(error as Error).message}`);
  }
}

/** Dependencies of {@link uploadModel}. */
export interface UploadDeps {
  api: ApiClient;
  server: string;
  /** Directory for state files. */
  stateDir: string;
  /** Creates the progress display once the size is known. */
  progress(label: string, total: number): Progress;
  /** Writes one informational line to stderr. */
  log(line: string): void;
}

/** Options of {@link uploadModel}. */
export interface UploadOptions {
  localPath: string;
  /** Name of the file in the version (default: the local file's base name). */
  fileName?: string;
  multipartThreshold?: number;
  partSize?: number;
  /** Attempts per part before giving up (default 3); the session stays resumable either way. */
  attempts?: number;
}

/** Result of an upload: the manifest the API published. */
export interface UploadResult {
  manifest: VersionManifest;
  multipart: boolean;
  /** Parts sent in this run / parts found already uploaded (multipart only). */
  partsSent: number;
  partsResumed: number;
}

function versionPath(ref: VersionRef): string {
  return `/v1/tenants/${seg(ref.tenant)}/models/${seg(ref.model)}/versions/${seg(ref.version)}`;
}

/** A pass-through that feeds a hash and the progress as bytes go by. */
function tap(hash: Hash | undefined, onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash?.update(chunk);
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
}

async function hashFile(localPath: string, progress?: Progress): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(localPath)) {
    hash.update(chunk as Buffer);
    progress?.advance((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

/**
 * Uploads one file as a new model version. Small files go in one streamed PUT with `X-Checksum-Sha256`;
 * larger ones through a resumable multipart session whose id is kept in a state file until it completes.
 * The file is read from disk part by part, never held in memory.
 */
export async function uploadModel(
  deps: UploadDeps,
  ref: VersionRef,
  options: UploadOptions,
): Promise<UploadResult> {
  let info;
  try {
    info = await stat(options.localPath);
  } catch {
    throw usageError(`cannot read ${options.localPath}`);
  }
  if (!info.isFile()) throw usageError(`${options.localPath} is not a regular file`);
  const fileName = options.fileName ?? path.basename(options.localPath);
  const threshold = options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
  const stateFile = stateFilePath(deps.stateDir, deps.server, ref, options.localPath);
  const state = await readState(stateFile);
  if (info.size < threshold && !state) {
    return {
      manifest: await singleUpload(deps, ref, options.localPath, fileName, info.size),
      multipart: false,
      partsSent: 0,
      partsResumed: 0,
    };
  }
  return multipartUpload(deps, ref, {
    ...options,
    fileName,
    size: info.size,
    mtimeMs: info.mtimeMs,
    stateFile,
    state,
  });
}

async function singleUpload(
  deps: UploadDeps,
  ref: VersionRef,
  localPath: string,
  fileName: string,
  size: number,
): Promise<VersionManifest> {
  // The checksum goes in a header, before the body: hash first (a fast local read), then stream.
  const sha256 = await hashFile(localPath);
  const progress = deps.progress(`upload ${fileName}`, size);
  const body = createReadStream(localPath).pipe(tap(undefined, (n) => progress.advance(n)));
  const manifest = await deps.api.json<VersionManifest>({
    method: 'PUT',
    path: `${versionPath(ref)}/files/${seg(fileName)}`,
    body,
    contentLength: size,
    headers: { 'X-Checksum-Sha256': sha256 },
  });
  progress.finish();
  return manifest;
}

interface SessionStatus {
  uploadId: string;
  file: string;
  size?: number;
  parts: UploadedPart[];
}

async function multipartUpload(
  deps: UploadDeps,
  ref: VersionRef,
  options: UploadOptions & {
    fileName: string;
    size: number;
    mtimeMs: number;
    stateFile: string;
    state: UploadState | undefined;
  },
): Promise<UploadResult> {
  const base = versionPath(ref);
  let state = options.state;
  if (
    state &&
    (state.size !== options.size || state.mtimeMs !== options.mtimeMs || state.file !== options.fileName)
  ) {
    throw new CliError(
      `${options.localPath} changed since upload ${state.uploadId} started; run the same command with --abort, then upload again`,
      ExitCode.conflict,
    );
  }
  let uploaded: UploadedPart[] = [];
  if (state) {
    try {
      const status = await deps.api.get<SessionStatus>(`${base}/uploads/${seg(state.uploadId)}`);
      uploaded = status.parts;
      deps.log(`resuming upload ${state.uploadId}: ${uploaded.length} part(s) already on the server`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      deps.log(`upload ${state.uploadId} no longer exists on the server; starting a new one`);
      state = undefined;
    }
  }
  if (!state) {
    const partSize = choosePartSize(options.size, options.partSize);
    const session = await deps.api.post<{ uploadId: string }>(`${base}/uploads`, {
      file: options.fileName,
      size: options.size,
    });
    state = {
      server: deps.server,
      ...ref,
      file: options.fileName,
      localPath: path.resolve(options.localPath),
      size: options.size,
      mtimeMs: options.mtimeMs,
      partSize,
      uploadId: session.uploadId,
      createdAt: new Date().toISOString(),
    };
    await mkdir(path.dirname(options.stateFile), { recursive: true, mode: 0o700 });
    await writeFile(options.stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    deps.log(
      `started upload ${state.uploadId} (parts of ${state.partSize / MIB} MiB; re-run the same command to resume)`,
    );
  }
  const plan = planParts(options.size, state.partSize);
  const missing = new Set(remainingParts(plan, uploaded).map((p) => p.partNumber));
  const progress = deps.progress(`upload ${options.fileName}`, options.size);
  let hash = createHash('sha256');
  const attempts = options.attempts ?? 3;
  let partsSent = 0;
  // Parts go in order so the whole-file SHA-256 is computed in the same pass; parts already on the server are
  // only read locally, for the hash.
  for (const part of plan) {
    const range = { start: part.offset, end: part.offset + part.size - 1 };
    if (!missing.has(part.partNumber)) {
      for await (const chunk of createReadStream(options.localPath, range)) hash.update(chunk as Buffer);
      progress.skip(part.size);
      continue;
    }
    for (let attempt = 1; ; attempt += 1) {
      // Bytes of a failed attempt must not stay in the whole-file hash: hash into a copy, keep it on success.
      const attemptHash = hash.copy();
      let sentThisAttempt = 0;
      try {
        const body = createReadStream(options.localPath, range).pipe(
          tap(attemptHash, (n) => {
            sentThisAttempt += n;
            progress.advance(n);
          }),
        );
        await deps.api.request({
          method: 'PUT',
          path: `${base}/uploads/${seg(state.uploadId)}/parts/${part.partNumber}`,
          body,
          contentLength: part.size,
        });
        hash = attemptHash;
        break;
      } catch (error) {
        progress.skip(-sentThisAttempt);
        if (attempt >= attempts || !retryable(error)) {
          throw new CliError(
            `${(error as Error).message}; part ${part.partNumber} of ${plan.length} failed, re-run the same command to resume`,
            (error as CliError).exitCode ?? ExitCode.failure,
          );
        }
        deps.log(`part ${part.partNumber} failed (${(error as Error).message}); retrying`);
      }
    }
    partsSent += 1;
  }
  const sha256 = hash.digest('hex');
  const manifest = await deps.api.post<VersionManifest>(`${base}/uploads/${seg(state.uploadId)}/complete`, {
    sha256,
  });
  progress.finish();
  await rm(options.stateFile, { force: true });
  return { manifest, multipart: true, partsSent, partsResumed: plan.length - partsSent };
}

function retryable(error: unknown): boolean {
  if (error instanceof ApiError) return error.status >= 500 || error.status === 408 || error.status === 429;
  return (
    error instanceof CliError &&
    (error.exitCode === ExitCode.unavailable || error.exitCode === ExitCode.deadline)
  );
}

/** Aborts the unfinished upload the state file records for this version and file. */
export async function abortUpload(
  deps: Pick<UploadDeps, 'api' | 'server' | 'stateDir'>,
  ref: VersionRef,
  localPath: string,
): Promise<string> {
  const stateFile = stateFilePath(deps.stateDir, deps.server, ref, localPath);
  const state = await readState(stateFile);
  if (!state)
    throw new CliError(
      `no unfinished upload of ${localPath} to ${ref.model}/${ref.version}`,
      ExitCode.notFound,
    );
  try {
    await deps.api.delete(`${versionPath(ref)}/uploads/${seg(state.uploadId)}`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  await rm(stateFile, { force: true });
  return state.uploadId;
}
