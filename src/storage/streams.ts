import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { Invalid } from './errors.ts';
import { transferGcPacer, type GcPacer } from './gc-pacer.ts';

/**
 * A pass-through stream that hashes (SHA-256) and counts the bytes flowing through it, so an upload is
 * checksummed on the way to the object store without holding more than one chunk in memory.
 *
 * With `maxBytes` it fails as soon as more bytes arrive than allowed, and with `expectedBytes` it fails at the
 * end when the total differs, so a lying Content-Length or a truncated body can never be published. Every
 * chunk is reported to `pacer` (the process's by default), which keeps the dead chunks of a long transfer
 * from piling up (src/storage/gc-pacer.ts).
 */
export class HashingCounter extends Transform {
  #hash: Hash = createHash('sha256');
  #bytes = 0;
  #digest: string | undefined;

  constructor(
    private readonly limits: { maxBytes?: number; expectedBytes?: number } = {},
    private readonly pacer: GcPacer = transferGcPacer,
  ) {
    super();
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Hex SHA-256 of everything that passed; only available once the stream has ended. */
  get sha256(): string {
    if (this.#digest === undefined) throw new Error('the stream has not ended yet');
    return this.#digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#bytes += chunk.length;
    const limit = this.limits.maxBytes ?? this.limits.expectedBytes;
    if (limit !== undefined && this.#bytes > limit) {
      callback(new Invalid(`body is larger than ${limit} bytes`, [{ pointer: 'body', reason: 'too large' }]));
      return;
    }
    this.#hash.update(chunk);
    this.pacer.passed(chunk.length);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const expected = this.limits.expectedBytes;
    if (expected !== undefined && this.#bytes !== expected) {
      callback(
        new Invalid(`body ended after ${this.#bytes} of ${expected} bytes`, [
          { pointer: 'body', reason: 'shorter than declared' },
        ]),
      );
      return;
    }
    this.#digest = this.#hash.digest('hex');
    callback();
  }
}

/**
 * Cuts one stream into consecutive pieces of given lengths (the parts of a multipart upload), each a Readable
 * that pulls from the source as it is read: nothing beyond the chunk being cut is held in memory.
 */
export class StreamSlicer {
  readonly #source: AsyncIterator<Buffer>;
  #leftover: Buffer | undefined;

  constructor(source: Readable) {
    this.#source = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The next `length` bytes; the piece fails when the source ends before them (or fails itself). */
  next(length: number): Readable {
    const pull = async (): Promise<Buffer> => {
      const buffered = this.#leftover;
      this.#leftover = undefined;
      if (buffered) return buffered;
      const { done, value } = await this.#source.next();
      if (done) {
        throw new Invalid('body ended before its declared length', [
          { pointer: 'body', reason: 'shorter than declared' },
        ]);
      }
      return value;
    };
    const piece = async function* (this: StreamSlicer) {
      for (let remaining = length; remaining > 0;) {
        let chunk = await pull();
        if (chunk.length > remaining) {
          this.#leftover = chunk.subarray(remaining);
          chunk = chunk.subarray(0, remaining);
        }
        remaining -= chunk.length;
        yield chunk;
      }
    };
    return Readable.from(piece.call(this), { objectMode: false });
  }

  /** Resolves once the source has ended with nothing left over; fails when it carries more bytes. */
  async end(): Promise<void> {
    const extra = this.#leftover ?? (await this.#source.next()).value;
    if (extra !== undefined && extra.length > 0) {
      throw new Invalid('body is longer than its declared length', [
        { pointer: 'body', reason: 'too large' },
      ]);
    }
  }
}

/** Rejects a computed checksum that differs from the one the caller declared. */
export function assertChecksum(expected: string | undefined, actual: string): void {
  if (expected !== undefined && expected !== actual) {
    throw new Invalid(`checksum mismatch: declared sha256 ${expected}, received data has ${actual}`, [
      { pointer: 'sha256', reason: 'does not match the data' },
    ]);
  }
}

/** A byte range resolved against a file size: both ends inclusive, as in Content-Range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a single-range `Range: bytes=…` header against a file of `size` bytes (RFC 9110 §14.1.2).
 * Returns `undefined` when the header should be ignored (absent, not bytes, several ranges), `'unsatisfiable'`
 * when the range lies outside the file, else the resolved range.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
