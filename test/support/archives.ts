/**
 * Writes real `.tar.gz` and `.zip` archives for tests, including the malicious shapes an archiver would refuse
 * to produce (absolute paths, `..`, links leaving the directory). Formats: POSIX ustar and PKZIP 2.0.
 */
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

/** One archive member. */
export type ArchiveEntry =
  | { type: 'file'; name: string; content: Buffer | string; mode?: number }
  | { type: 'directory'; name: string }
  | { type: 'symlink'; name: string; target: string }
  | { type: 'hardlink'; name: string; target: string };

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function tarHeader(name: string, size: number, typeflag: string, linkname = '', mode = 0o644): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`test tar builder: name too long: ${name}`);
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write(octal(mode, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(1_700_000_000, 12), 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write(typeflag, 156, 'ascii');
  header.write(linkname, 157, 100, 'utf8');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

/** A gzip-compressed ustar archive of the entries, in order. */
export function tarGz(entries: ArchiveEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    if (entry.type === 'file') {
      const content = Buffer.from(entry.content);
      blocks.push(tarHeader(entry.name, content.length, '0', '', entry.mode));
      blocks.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
    } else if (entry.type === 'directory') {
      blocks.push(tarHeader(entry.name.endsWith('/') ? entry.name : `${entry.name}/`, 0, '5', '', 0o755));
    } else {
      blocks.push(tarHeader(entry.name, 0, entry.type === 'symlink' ? '2' : '1', entry.target, 0o777));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** A zip archive of the entries (deflated files; symlinks as Unix-mode entries holding their target). */
export function zip(entries: ArchiveEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const isDirectory = entry.type === 'directory';
    const name = Buffer.from(
      isDirectory && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name,
      'utf8',
    );
    const raw =
      entry.type === 'file'
        ? Buffer.from(entry.content)
        : entry.type === 'symlink' || entry.type === 'hardlink'
          ? Buffer.from(entry.target)
          : Buffer.alloc(0);
    const deflate = entry.type === 'file' && raw.length > 0;
    const data = deflate ? deflateRawSync(raw) : raw;
    const crc = crc32(raw);
    const unixMode =
      entry.type === 'symlink'
        ? 0o120777
        : isDirectory
          ? 0o040755
          : 0o100000 | (entry.type === 'file' ? (entry.mode ?? 0o644) : 0o644);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix: external attributes carry the mode
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(deflate ? 8 : 0, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((unixMode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
