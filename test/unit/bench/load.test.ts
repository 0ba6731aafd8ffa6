import { describe, expect, it } from 'vitest';
import { interleavedFixedRate } from '../../../bench/load.ts';

describe('interleavedFixedRate', () => {
  it('measures the calls in turn, slice by slice, each at the full rate for its share of the time', async () => {
    const order: string[] = [];
    let current = '';
    const counted = { a: 0, b: 0 };
    const results = await interleavedFixedRate(
      {
        a: async () => void (counted.a += 1),
        b: async () => {
          counted.b += 1;
          if (counted.b === 1) throw new Error('refused');
        },
      },
      1000,
      0.2,
      2,
      async (name, moment) => {
        if (moment === 'before') current = name;
        order.push(`${moment} ${name}`);
        expect(current).toBe(name);
      },
    );
    expect(order).toEqual([
      'before a',
      'after a',
      'before b',
      'after b',
      'before a',
      'after a',
      'before b',
      'after b',
    ]);
    expect(counted).toEqual({ a: 200, b: 200 });
    expect(results.a.errors).toBe(0);
    expect(results.b).toMatchObject({ errors: 1, failures: { refused: 1 } });
    expect(results.a.p99).toBeGreaterThanOrEqual(results.a.p50);
    expect(results.a.sentLateP99).toBeGreaterThanOrEqual(0);
  });
});
