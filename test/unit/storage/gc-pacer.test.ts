import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { createGcPacer, youngGenerationCollector, type GcPacer } from '../../../src/storage/gc-pacer.ts';
import { HashingCounter } from '../../../src/storage/streams.ts';
import { drain } from '../../../src/storage/transfer.ts';

describe('createGcPacer', () => {
  it('collects once per budget of bytes, however the bytes are split into chunks', () => {
    let collections = 0;
    const pacer = createGcPacer(100, () => (collections += 1));
    for (let i = 0; i < 25; i += 1) pacer.passed(10);
    expect(collections).toBe(2);
    pacer.passed(49);
    expect(collections).toBe(2);
    pacer.passed(1);
    expect(collections).toBe(3);
  });

  it('counts a chunk larger than the budget as one collection, not several', () => {
    let collections = 0;
    const pacer = createGcPacer(100, () => (collections += 1));
    pacer.passed(1000);
    expect(collections).toBe(1);
  });

  it('does nothing when the runtime offers no collector', () => {
    const pacer = createGcPacer(1, undefined);
    expect(() => pacer.passed(1_000_000)).not.toThrow();
  });
});

describe('youngGenerationCollector', () => {
  it('is available on the supported Node and runs without exposing gc to the application', () => {
    const collect = youngGenerationCollector();
    expect(collect).toBeTypeOf('function');
    expect(() => collect?.()).not.toThrow();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});

describe('HashingCounter and the pacer', () => {
  it('reports every byte that passes to its pacer', async () => {
    const seen: number[] = [];
    const pacer: GcPacer = { passed: (bytes) => seen.push(bytes) };
    const counter = new HashingCounter({ expectedBytes: 7 }, pacer);
    await drain(Readable.from([Buffer.from('abc'), Buffer.from('defg')]).pipe(counter));
    expect(seen).toEqual([3, 4]);
  });

  it('reports nothing past a limit it refuses', async () => {
    const seen: number[] = [];
    const pacer: GcPacer = { passed: (bytes) => seen.push(bytes) };
    const counter = new HashingCounter({ maxBytes: 3 }, pacer);
    await expect(
      pipeline(Readable.from([Buffer.from('abc'), Buffer.from('d')]), counter, async function* (source) {
        for await (const chunk of source) yield chunk;
      }),
    ).rejects.toMatchObject({ code: 'Invalid' });
    expect(seen).toEqual([3]);
  });
});
