import { describe, expect, it } from 'vitest';
import { CliError } from '../../../src/cli/errors.ts';
import { choosePartSize, planParts, remainingParts } from '../../../src/cli/upload.ts';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

describe('multipart planning', () => {
  it('uses 16 MiB parts by default and grows them so a huge file fits in 10 000 parts', () => {
    expect(choosePartSize(100 * MIB)).toBe(16 * MIB);
    expect(choosePartSize(150 * GIB)).toBe(16 * MIB);
    expect(choosePartSize(200 * GIB)).toBe(32 * MIB);
    expect(choosePartSize(600 * GIB)).toBe(64 * MIB);
  });

  it('refuses a requested part size outside S3 and API limits', () => {
    expect(() => choosePartSize(100 * MIB, 4 * MIB)).toThrow(CliError);
    expect(() => choosePartSize(100 * MIB, 513 * MIB)).toThrow(/between 5 and 512 MiB/);
    expect(choosePartSize(100 * MIB, 32 * MIB)).toBe(32 * MIB);
  });

  it('splits a file into numbered parts with a shorter last part', () => {
    expect(planParts(40 * MIB, 16 * MIB)).toEqual([
      { partNumber: 1, offset: 0, size: 16 * MIB },
      { partNumber: 2, offset: 16 * MIB, size: 16 * MIB },
      { partNumber: 3, offset: 32 * MIB, size: 8 * MIB },
    ]);
    expect(planParts(0, 16 * MIB)).toEqual([]);
  });

  it('resumes by sending only the parts the server does not have', () => {
    const plan = planParts(80 * MIB, 16 * MIB);
    const remaining = remainingParts(plan, [
      { partNumber: 1, size: 16 * MIB },
      { partNumber: 2, size: 16 * MIB },
      { partNumber: 4, size: 16 * MIB },
    ]);
    expect(remaining.map((p) => p.partNumber)).toEqual([3, 5]);
  });

  it('sends a stored part again when its size differs from the plan', () => {
    const plan = planParts(32 * MIB, 16 * MIB);
    expect(
      remainingParts(plan, [
        { partNumber: 1, size: 5 * MIB },
        { partNumber: 2, size: 16 * MIB },
      ]).map((p) => p.partNumber),
    ).toEqual([1]);
  });
});
