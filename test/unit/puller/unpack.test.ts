import { randomBytes } from 'node:crypto';
import {
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PullError } from '../../../src/puller/layout.ts';
import { archiveKind, safeEntryPath, unpackArchive } from '../../../src/puller/unpack.ts';
import { tarGz, zip, type ArchiveEntry } from '../../support/archives.ts';

const limits = { maxBytes: 1024 * 1024, maxEntries: 100 };
const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes the archive, unpacks it into a fresh directory inside a parent that holds a "secret" file. */
async function unpack(kind: 'tar.gz' | 'zip', entries: ArchiveEntry[], custom = limits) {
  const parent = mkdtempSync(path.join(tmpdir(), 'unpack-'));
  scratch.push(parent);
  writeFileSync(path.join(parent, 'secret'), 'outside');
  const archive = path.join(parent, kind === 'zip' ? 'model.zip' : 'model.tar.gz');
  writeFileSync(archive, kind === 'zip' ? zip(entries) : tarGz(entries));
  const target = path.join(parent, 'target');
  (await import('node:fs')).mkdirSync(target);
  const result = unpackArchive(archive, kind, target, custom);
  return { parent, target, result };
}

const savedModel: ArchiveEntry[] = [
  { type: 'directory', name: 'resnet' },
  { type: 'file', name: 'resnet/saved_model.pb', content: 'graph' },
  { type: 'directory', name: 'resnet/variables' },
  { type: 'file', name: 'resnet/variables/variables.index', content: 'index' },
];

describe.each(['tar.gz', 'zip'] as const)('unpacking a %s archive', (kind) => {
  it('unpacks files and directories and lists them', async () => {
    const { target, result } = await unpack(kind, savedModel);
    expect(await result).toEqual([
      'resnet/',
      'resnet/saved_model.pb',
      'resnet/variables/',
      'resnet/variables/variables.index',
    ]);
    expect(readFileSync(path.join(target, 'resnet/variables/variables.index'), 'utf8')).toBe('index');
  });

  it('keeps a link that stays inside the model directory', async () => {
    const { target, result } = await unpack(kind, [
      { type: 'file', name: 'weights-v1.bin', content: 'w' },
      { type: 'symlink', name: 'weights.bin', target: 'weights-v1.bin' },
    ]);
    await result;
    expect(lstatSync(path.join(target, 'weights.bin')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(target, 'weights.bin'))).toBe('weights-v1.bin');
  });

  it.each([
    ['a path with ..', [{ type: 'file', name: '../secret', content: 'pwned' }], /leaves the model directory/],
    ['an absolute path', [{ type: 'file', name: '/tmp/evil', content: 'x' }], /absolute path/],
    [
      'a nested ..',
      [{ type: 'file', name: 'resnet/../../secret', content: 'pwned' }],
      /leaves the model directory/,
    ],
    [
      'a link leaving the directory',
      [{ type: 'symlink', name: 'escape', target: '../secret' }],
      /points outside the model directory/,
    ],
    [
      'a link to an absolute path',
      [{ type: 'symlink', name: 'escape', target: '/etc/passwd' }],
      /absolute path/,
    ],
    [
      'a write through a link',
      [
        { type: 'symlink', name: 'dir', target: '.' },
        { type: 'file', name: 'dir/x', content: 'x' },
      ],
      /written through the link dir/,
    ],
    [
      'the same name twice',
      [
        { type: 'file', name: 'a', content: '1' },
        { type: 'file', name: 'a', content: '2' },
      ],
      /appears twice/,
    ],
  ] as [string, ArchiveEntry[], RegExp][])(
    'refuses %s and writes nothing outside',
    async (_case, entries, message) => {
      const { parent, result } = await unpack(kind, entries);
      await expect(result).rejects.toThrow(message);
      await expect(result).rejects.toBeInstanceOf(PullError);
      expect(readFileSync(path.join(parent, 'secret'), 'utf8')).toBe('outside');
      expect(readdirSync(parent).sort()).toEqual([
        kind === 'zip' ? 'model.zip' : 'model.tar.gz',
        'secret',
        'target',
      ]);
    },
  );

  it('stops a decompression bomb, whatever the headers claim', async () => {
    const { result } = await unpack(kind, [
      { type: 'file', name: 'zeros', content: Buffer.alloc(8 * 1024 * 1024) },
    ]);
    await expect(result).rejects.toThrow(
      new RegExp(`archive unpacks to more than ${limits.maxBytes} bytes|decompression bomb`),
    );
  });

  it('stops at the byte limit when the content does not compress', async () => {
    const { result } = await unpack(kind, [
      { type: 'file', name: 'noise', content: randomBytes(2 * 1024 * 1024) },
    ]);
    await expect(result).rejects.toThrow(`archive unpacks to more than ${limits.maxBytes} bytes`);
  });

  it('stops at the entry limit', async () => {
    const many = Array.from({ length: 12 }, (_, i): ArchiveEntry => ({
      type: 'file',
      name: `f${i}`,
      content: 'x',
    }));
    const { result } = await unpack(kind, many, { maxBytes: limits.maxBytes, maxEntries: 10 });
    await expect(result).rejects.toThrow('archive has more than 10 entries');
  });
});

describe('archive rules', () => {
  it('refuses hard links in tar archives', async () => {
    const { result } = await unpack('tar.gz', [
      { type: 'file', name: 'a', content: 'x' },
      { type: 'hardlink', name: 'b', target: 'a' },
    ]);
    await expect(result).rejects.toThrow('"b" is a hard link');
  });

  it('refuses a file that is not an archive of the named kind', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'unpack-'));
    scratch.push(parent);
    writeFileSync(path.join(parent, 'm.zip'), 'not a zip');
    await expect(unpackArchive(path.join(parent, 'm.zip'), 'zip', parent, limits)).rejects.toThrow(
      /the zip archive cannot be read/,
    );
  });

  it('knows archives by their name', () => {
    expect(['m.tar.gz', 'm.TGZ', 'm.zip', 'model.onnx'].map(archiveKind)).toEqual([
      'tar.gz',
      'tar.gz',
      'zip',
      undefined,
    ]);
  });

  it('normalises harmless path forms and refuses Windows ones', () => {
    expect(safeEntryPath('./a//b/./c')).toBe('a/b/c');
    expect(safeEntryPath('./')).toBeUndefined();
    expect(() => safeEntryPath('a\\..\\b')).toThrow(/not a portable path/);
    expect(() => safeEntryPath('C:/x')).toThrow(/absolute path/);
  });
});
