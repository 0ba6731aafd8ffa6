import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { assertChecksum, HashingCounter, parseRange, StreamSlicer } from '../../../src/storage/streams.ts';
import { drain } from '../../../src/storage/transfer.ts';

function sha256(...chunks: Buffer[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

async function runThrough(counter: HashingCounter, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), counter, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

describe('HashingCounter', () => {
  it('passes the bytes through unchanged and reports their SHA-256 and count', async () => {
    const chunks = [Buffer.from('hello '), Buffer.from('world')];
    const counter = new HashingCounter();
    const out = await runThrough(counter, chunks);
    expect(out.toString()).toBe('hello world');
    expect(counter.bytes).toBe(11);
    expect(counter.sha256).toBe(sha256(...chunks));
  });

  it('hashes an empty body to the SHA-256 of nothing', async () => {
    const counter = new HashingCounter({ expectedBytes: 0 });
    await runThrough(counter, []);
    expect(counter.sha256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('fails as soon as a body grows past its limit, before the rest is read', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1024;
        this.push(Buffer.alloc(1024));
      },
    });
    const counter = new HashingCounter({ maxBytes: 10 * 1024 });
    await expect(drain(endless.pipe(counter))).rejects.toMatchObject({ code: 'Invalid' });
    expect(produced).toBeLessThan(100 * 1024);
  });

  it('rejects a body longer than its declared size', async () => {
    const counter = new HashingCounter({ expectedBytes: 3 });
    await expect(runThrough(counter, [Buffer.from('abcd')])).rejects.toMatchObject({ code: 'Invalid' });
  });

  it('rejects a body that ends before its declared size, so a truncated upload is never published', async () => {
    const counter = new HashingCounter({ expectedBytes: 10 });
    await expect(runThrough(counter, [Buffer.from('abc')])).rejects.toMatchObject({
      code: 'Invalid',
      message: expect.stringContaining('3 of 10'),
    });
  });

  it('refuses to report a checksum before the stream has ended', () => {
    expect(() => new HashingCounter().sha256).toThrow(/not ended/);
  });
});

describe('assertChecksum', () => {
  it('accepts a matching checksum and the absence of one', () => {
    expect(() => assertChecksum('a'.repeat(64), 'a'.repeat(64))).not.toThrow();
    expect(() => assertChecksum(undefined, 'a'.repeat(64))).not.toThrow();
  });

  it('rejects a mismatch as Invalid naming both digests', () => {
    expect(() => assertChecksum('a'.repeat(64), 'b'.repeat(64))).toThrow(
      expect.objectContaining({ code: 'Invalid', message: expect.stringContaining('b'.repeat(64)) }),
    );
  });
});

describe('parseRange', () => {
  const cases: [string, string | undefined, number, ReturnType<typeof parseRange>][] = [
    ['no header means the whole file', undefined, 100, undefined],
    ['a closed range is resolved as given', 'bytes=10-19', 100, { start: 10, end: 19 }],
    ['an open range runs to the end', 'bytes=90-', 100, { start: 90, end: 99 }],
    ['a suffix range takes the last bytes', 'bytes=-10', 100, { start: 90, end: 99 }],
    ['a suffix longer than the file takes all of it', 'bytes=-500', 100, { start: 0, end: 99 }],
    ['an end past the file is clamped', 'bytes=50-1000', 100, { start: 50, end: 99 }],
    ['a start past the file is unsatisfiable', 'bytes=100-', 100, 'unsatisfiable'],
    ['any range of an empty file is unsatisfiable', 'bytes=0-', 0, 'unsatisfiable'],
    ['a zero-length suffix is unsatisfiable', 'bytes=-0', 100, 'unsatisfiable'],
    ['several ranges are ignored (whole file)', 'bytes=0-1,5-6', 100, undefined],
    ['other units are ignored', 'items=0-1', 100, undefined],
    ['an inverted range is ignored', 'bytes=20-10', 100, undefined],
  ];
  it.each(cases)('%s', (_name, header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('cutting a stream into parts', () => {
  const collect = async (stream: Readable) => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };

  it('yields consecutive pieces of the asked lengths across chunk boundaries', async () => {
    const data = Buffer.from('abcdefghijklmnopqrstuvwxyz');
    const source = Readable.from([data.subarray(0, 7), data.subarray(7, 8), data.subarray(8)]);
    const slicer = new StreamSlicer(source);
    expect((await collect(slicer.next(5))).toString()).toBe('abcde');
    expect((await collect(slicer.next(10))).toString()).toBe('fghijklmno');
    expect((await collect(slicer.next(11))).toString()).toBe('pqrstuvwxyz');
    await expect(slicer.end()).resolves.toBeUndefined();
  });

  it('fails a piece when the source ends before it is complete', async () => {
    const slicer = new StreamSlicer(Readable.from([Buffer.from('abc')]));
    await expect(collect(slicer.next(5))).rejects.toThrow('body ended before its declared length');
  });

  it('fails at the end when the source carries more than the pieces took', async () => {
    const slicer = new StreamSlicer(Readable.from([Buffer.from('abcdef')]));
    await collect(slicer.next(4));
    await expect(slicer.end()).rejects.toThrow('longer than its declared length');
  });
});
