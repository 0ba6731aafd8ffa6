import { describe, expect, it } from 'vitest';
import {
  decodeKserveContents,
  decodeRaw,
  decodeTfTensor,
  encodeKserveContents,
  encodeRaw,
  encodeTfTensor,
} from '../../../src/infer/tensors.ts';
import type { KserveDatatype } from '../../../src/infer/tensors.ts';

const samples: Record<KserveDatatype, number[]> = {
  BOOL: [1, 0, 1],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, 2 ** 53 - 1],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-(2 ** 31), 2 ** 31 - 1],
  INT64: [-(2 ** 53) + 1, 2 ** 53 - 1],
  FP32: [0.5, -1.25, 2 ** 100],
  FP64: [Math.PI, -1e-300],
};

describe('tensor encoding', () => {
  it.each(Object.entries(samples) as [KserveDatatype, number[]][])(
    'round-trips %s values through raw little-endian bytes',
    (datatype, values) => {
      expect(decodeRaw(datatype, encodeRaw(datatype, values))).toEqual(values);
    },
  );

  it('writes raw bytes little-endian, as the protocols require', () => {
    expect(encodeRaw('INT32', [1]).toString('hex')).toBe('01000000');
    expect(encodeRaw('FP32', [1]).toString('hex')).toBe('0000803f');
  });

  it('puts each KServe datatype in the contents list the protocol assigns to it', () => {
    expect(encodeKserveContents('INT8', [1])).toEqual({ int_contents: [1] });
    expect(encodeKserveContents('UINT16', [1])).toEqual({ uint_contents: [1] });
    expect(encodeKserveContents('INT64', [1])).toEqual({ int64_contents: [1] });
    expect(encodeKserveContents('BOOL', [1, 0])).toEqual({ bool_contents: [true, false] });
    expect(encodeKserveContents('FP64', [1])).toEqual({ fp64_contents: [1] });
  });

  it('reads 64-bit KServe contents that arrive as decimal strings', () => {
    expect(decodeKserveContents('INT64', { int64_contents: ['-5', '9007199254740991'] })).toEqual([
      -5, 9007199254740991,
    ]);
  });

  it('reads a TF tensor from tensor_content or from its typed list', () => {
    const typed = encodeTfTensor({ datatype: 'DT_INT64', shape: [2], data: [3, -4] });
    expect(typed).toMatchObject({ int64_val: [3, -4] });
    const packed = encodeTfTensor({ datatype: 'DT_DOUBLE', shape: [1, 2], data: [0.5, 2] }, true);
    expect(decodeTfTensor('x', { ...packed, tensor_shape: { dim: [{ size: '1' }, { size: '2' }] } })).toEqual(
      {
        datatype: 'DT_DOUBLE',
        shape: [1, 2],
        data: [0.5, 2],
      },
    );
  });

  it('refuses raw bytes that are not a whole number of values', () => {
    expect(() => decodeRaw('FP32', Buffer.alloc(6))).toThrow('not a whole number');
  });
});
