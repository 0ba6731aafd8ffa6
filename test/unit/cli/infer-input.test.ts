import { describe, expect, it } from 'vitest';
import { CliError, ExitCode } from '../../../src/cli/errors.ts';
import { parseInputs, parseShape, toTfInputs } from '../../../src/cli/infer-input.ts';

describe('infer input parsing', () => {
  it('reads one tensor from --input JSON', () => {
    expect(parseInputs({ input: '{"name":"x","datatype":"FP32","shape":[1,3],"data":[1,2,3]}' })).toEqual([
      { name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] },
    ]);
  });

  it('reads several tensors from an array or an {"inputs": [...]} document, flattening nested data', () => {
    const text =
      '{"inputs":[{"name":"a","datatype":"INT64","shape":[2,2],"data":[[1,2],[3,4]]},{"name":"b","datatype":"DT_DOUBLE","data":[0.5]}]}';
    expect(parseInputs({ inputFileText: text })).toEqual([
      { name: 'a', datatype: 'INT64', shape: [2, 2], data: [1, 2, 3, 4] },
      { name: 'b', datatype: 'FP64', shape: [1], data: [0.5] },
    ]);
  });

  it('builds a tensor from the --data/--shape shorthand with FP32 and the name "input" by default', () => {
    expect(parseInputs({ data: '1,2.5,-3', shape: '1,3' })).toEqual([
      { name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2.5, -3] },
    ]);
    expect(parseInputs({ data: '1,0', datatype: 'bool', name: 'mask' })).toEqual([
      { name: 'mask', datatype: 'BOOL', shape: [2], data: [1, 0] },
    ]);
  });

  it.each([
    ['no input at all', {}, /exactly one of --input/],
    ['two inputs at once', { input: '{}', data: '1' }, /exactly one of --input/],
    ['malformed JSON', { input: '{"name":' }, /--input is not valid JSON/],
    [
      'a shape that does not match the data',
      { data: '1,2,3', shape: '2,2' },
      /shape \[2,2\] needs 4 values, got 3/,
    ],
    ['a value that is not a number', { data: '1,x' }, /x is not a number/],
    ['an unknown datatype', { input: '{"datatype":"FP8","data":[1]}' }, /datatype FP8 is not supported/],
    [
      'a repeated tensor name',
      { input: '[{"name":"a","data":[1]},{"name":"a","data":[2]}]' },
      /input a is given twice/,
    ],
  ])('rejects %s as a usage error', (_name, flags, message) => {
    let error: unknown;
    try {
      parseInputs(flags);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.usage);
    expect((error as Error).message).toMatch(message);
  });

  it('accepts shapes with or without brackets', () => {
    expect(parseShape('[1, 3]')).toEqual([1, 3]);
    expect(() => parseShape('1,-3')).toThrow(/non-negative integers/);
  });

  it('converts tensors to TF Serving dtypes keyed by name', () => {
    expect(toTfInputs([{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }])).toEqual({
      x: { datatype: 'DT_FLOAT', shape: [1], data: [1] },
    });
  });
});
