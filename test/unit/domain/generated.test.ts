import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_PATH, generateTypes } from '../../../scripts/gen-types.ts';

const root = join(import.meta.dirname, '../../..');

describe('generated CRD types', () => {
  it('are exactly what scripts/gen-types.ts produces from the CRDs (run it after changing a CRD)', async () => {
    const committed = await readFile(join(root, GENERATED_PATH), 'utf8');
    expect(await generateTypes(root)).toBe(committed);
  });
});
