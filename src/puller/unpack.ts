/**
 * Unpacks an uploaded archive (`.tar.gz`, `.tgz`, `.zip`) into an empty directory without trusting it: no
 * absolute paths, no `..`, no link that leaves the directory, no write through a link, no hard links or
 * device files, and limits on the entries and on the bytes actually written (a header's size is never
 * trusted, so a zip bomb stops at the limit).
 */
import { constants, createReadStream, createWriteStream, mkdirSync, openSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import yauzl from 'yauzl';
import { PullError } from './layout.ts';

/** How much an archive may unpack to. */
export interface UnpackLimits {
  /** Bytes written in total. */
  maxBytes: number;
  /** Files, directories and links. */
  maxEntries: number;
}

/** The archive formats the puller unpacks, by file name; undefined for anything else. */
export function archiveKind(file: string): 'tar.gz' | 'zip' | undefined {
  const lower = file.toLowerCase();
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  if (lower.endsWith('.zip')) return 'zip';
  return undefined;
}

/**
 * The entry's path relative to the target, `/`-separated, or undefined for the archive's root (`./`).
 * Refuses what could land outside the target.
 */
export function safeEntryPath(name: string): string | undefined {
  if (name.includes('\0')) throw new PullError(`archive entry with a NUL byte in its name`);
  if (name.includes('\\')) throw new PullError(`archive entry "${name}" uses "\\" (not a portable path)`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) {
    throw new PullError(`archive entry "${name}" has an absolute path`);
  }
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new PullError(`archive entry "${name}" leaves the model directory ("..")`);
  return parts.length === 0 ? undefined : parts.join('/');
}

/** Tracks what was written, so links and limits are checked across entries. */
class Extraction {
  private readonly links = new Set<string>();
  private readonly seen = new Set<string>();
  private bytes = 0;
  readonly paths: string[] = [];

  constructor(
    private readonly target: string,
    private readonly limits: UnpackLimits,
  ) {}

  private admit(relative: string, display: string): string {
    if (this.seen.has(relative)) throw new PullError(`archive entry "${display}" appears twice`);
    if (this.seen.size + 1 > this.limits.maxEntries) {
      throw new PullError(`archive has more than ${this.limits.maxEntries} entries`);
    }
    // A link must never be a directory we write through: `a/link/x` with `link -> ../..` would escape.
    const parts = relative.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (this.links.has(parts.slice(0, i).join('/'))) {
        throw new PullError(
          `archive entry "${display}" is written through the link ${parts.slice(0, i).join('/')}`,
        );
      }
    }
    this.seen.add(relative);
    return path.join(this.target, ...parts);
  }

  directory(relative: string): void {
    const absolute = this.admit(relative, relative);
    mkdirSync(absolute, { recursive: true, mode: 0o755 });
    this.paths.push(`${relative}/`);
  }

  link(relative: string, linkTarget: string): void {
    if (linkTarget.startsWith('/') || linkTarget.includes('\0')) {
      throw new PullError(`archive link "${relative}" points to an absolute path`);
    }
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(relative), linkTarget));
    if (resolved === '..' || resolved.startsWith('../')) {
      throw new PullError(`archive link "${relative}" points outside the model directory (${linkTarget})`);
    }
    const absolute = this.admit(relative, relative);
    mkdirSync(path.dirname(absolute), { recursive: true, mode: 0o755 });
    symlinkSync(linkTarget, absolute);
    this.links.add(relative);
    this.paths.push(relative);
  }

  /** Writes one file from `source`, counting the bytes that really arrive. */
  async file(relative: string, source: Readable): Promise<void> {
    const absolute = this.admit(relative, relative);
    mkdirSync(path.dirname(absolute), { recursive: true, mode: 0o755 });
    // O_EXCL|O_NOFOLLOW: never overwrite, never follow a link planted at this name.
    const fd = openSync(
      absolute,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
    source.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (this.bytes > this.limits.maxBytes) {
        source.destroy(new PullError(`archive unpacks to more than ${this.limits.maxBytes} bytes`));
      }
    });
    await pipeline(source, createWriteStream('', { fd }));
    this.paths.push(relative);
  }
}

/** Unpacks `archive` into the empty directory `target`; returns the unpacked paths (directories end in `/`). */
export async function unpackArchive(
  archive: string,
  kind: 'tar.gz' | 'zip',
  target: string,
  limits: UnpackLimits,
): Promise<string[]> {
  const extraction = new Extraction(target, limits);
  if (kind === 'tar.gz') await unpackTar(archive, extraction);
  else await unpackZip(archive, extraction);
  return extraction.paths.sort();
}

async function unpackTar(archive: string, extraction: Extraction): Promise<void> {
  let failure: unknown;
  const writes: Promise<void>[] = [];
  const parser = new Parser({
    strict: true,
    noResume: true,
    onReadEntry: (entry: ReadEntry) => {
      try {
        if (failure) return void entry.resume();
        writes.push(tarEntry(entry, extraction).catch((error: unknown) => fail(error)));
      } catch (error) {
        fail(error);
        entry.resume();
      }
    },
  });
  const fail = (error: unknown) => {
    failure ??= error;
    parser.abort(error instanceof Error ? error : new Error(String(error)));
  };
  try {
    await pipeline(createReadStream(archive), parser as unknown as NodeJS.WritableStream);
  } catch (error) {
    failure ??= error;
  }
  await Promise.allSettled(writes);
  if (failure) throw asPullError(failure, 'tar');
}

async function tarEntry(entry: ReadEntry, extraction: Extraction): Promise<void> {
  const relative = safeEntryPath(entry.path);
  switch (entry.type) {
    case 'Directory':
      if (relative !== undefined) extraction.directory(relative);
      entry.resume();
      return;
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      if (relative === undefined) throw new PullError('archive has a file without a name');
      return extraction.file(relative, entry as unknown as Readable);
    case 'SymbolicLink':
      if (relative === undefined) throw new PullError('archive has a link without a name');
      extraction.link(relative, entry.linkpath ?? '');
      entry.resume();
      return;
    case 'Link':
      throw new PullError(`archive entry "${entry.path}" is a hard link (not supported)`);
    default:
      throw new PullError(
        `archive entry "${entry.path}" is a ${entry.type} (only files, directories and links)`,
      );
  }
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const MAX_LINK_TARGET = 4096;

async function unpackZip(archive: string, extraction: Extraction): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(
      archive,
      // Names are checked here, not by yauzl, so every refusal reads the same; sizes are checked by both.
      { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: true },
      (error, file) => (error ? reject(asPullError(error, 'zip')) : resolve(file)),
    ),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', resolve);
      zip.on('entry', (entry: yauzl.Entry) => {
        zipEntry(zip, entry, extraction).then(
          () => zip.readEntry(),
          (error: unknown) => reject(error),
        );
      });
      zip.readEntry();
    });
  } catch (error) {
    throw asPullError(error, 'zip');
  } finally {
    zip.close();
  }
}

async function zipEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, extraction: Extraction): Promise<void> {
  const name = Buffer.isBuffer(entry.fileName) ? entry.fileName.toString('utf8') : String(entry.fileName);
  const relative = safeEntryPath(name);
  const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
  if (name.endsWith('/')) {
    if (relative !== undefined) extraction.directory(relative);
    return;
  }
  if (relative === undefined) throw new PullError('archive has a file without a name');
  const stream = await new Promise<Readable>((resolve, reject) =>
    zip.openReadStream(entry, (error, readable) => (error ? reject(error) : resolve(readable))),
  );
  if (mode === S_IFLNK) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > MAX_LINK_TARGET) throw new PullError(`archive link "${name}" has an overlong target`);
      chunks.push(chunk as Buffer);
    }
    extraction.link(relative, Buffer.concat(chunks).toString('utf8'));
    return;
  }
  await extraction.file(relative, stream);
}

function asPullError(error: unknown, format: string): PullError {
  if (error instanceof PullError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // node-tar's own guard, which trips before the byte limit on highly compressible bombs.
  if (/decompression ratio/.test(message)) {
    return new PullError(`archive refused as a decompression bomb (${message})`);
  }
  return new PullError(`the ${format} archive cannot be read: ${message}`);
}
