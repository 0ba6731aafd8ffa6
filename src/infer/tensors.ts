import type { InferTensorContents, TensorProto } from '../grpc/index.ts';
import { InferInputError } from './errors.ts';

/** KServe v2 numeric datatypes the client encodes (FP16 and BYTES are not supported). */
export type KserveDatatype =
  'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP32' | 'FP64';

/** TensorFlow numeric dtypes the client encodes. */
export type TfNumericDataType =
  | 'DT_FLOAT'
  | 'DT_DOUBLE'
  | 'DT_INT8'
  | 'DT_INT16'
  | 'DT_INT32'
  | 'DT_INT64'
  | 'DT_UINT8'
  | 'DT_UINT16'
  | 'DT_UINT32'
  | 'DT_UINT64'
  | 'DT_BOOL';

/**
 * A dense tensor as plain numbers in row-major order. 64-bit integers travel as strings on the wire and are
 * converted to numbers here: exact up to 2^53.
 */
export interface NumericTensor<Type extends string> {
  datatype: Type;
  shape: number[];
  data: number[];
}

type Codec = {
  bytes: number;
  write: (view: DataView, offset: number, value: number) => void;
  read: (view: DataView, offset: number) => number;
};

/** Element encoding shared by both protocols, keyed by KServe datatype. */
const CODECS: Record<KserveDatatype, Codec> = {
  BOOL: { bytes: 1, write: (v, o, x) => v.setUint8(o, x ? 1 : 0), read: (v, o) => v.getUint8(o) },
  UINT8: { bytes: 1, write: (v, o, x) => v.setUint8(o, x), read: (v, o) => v.getUint8(o) },
  UINT16: { bytes: 2, write: (v, o, x) => v.setUint16(o, x, true), read: (v, o) => v.getUint16(o, true) },
  UINT32: { bytes: 4, write: (v, o, x) => v.setUint32(o, x, true), read: (v, o) => v.getUint32(o, true) },
  UINT64: {
    bytes: 8,
    write: (v, o, x) => v.setBigUint64(o, BigInt(x), true),
    read: (v, o) => Number(v.getBigUint64(o, true)),
  },
  INT8: { bytes: 1, write: (v, o, x) => v.setInt8(o, x), read: (v, o) => v.getInt8(o) },
  INT16: { bytes: 2, write: (v, o, x) => v.setInt16(o, x, true), read: (v, o) => v.getInt16(o, true) },
  INT32: { bytes: 4, write: (v, o, x) => v.setInt32(o, x, true), read: (v, o) => v.getInt32(o, true) },
  INT64: {
    bytes: 8,
    write: (v, o, x) => v.setBigInt64(o, BigInt(x), true),
    read: (v, o) => Number(v.getBigInt64(o, true)),
  },
  FP32: { bytes: 4, write: (v, o, x) => v.setFloat32(o, x, true), read: (v, o) => v.getFloat32(o, true) },
  FP64: { bytes: 8, write: (v, o, x) => v.setFloat64(o, x, true), read: (v, o) => v.getFloat64(o, true) },
};

/** Which InferTensorContents list carries each datatype (KServe v2 protocol). */
const KSERVE_CONTENTS: Record<KserveDatatype, keyof InferTensorContents> = {
  BOOL: 'bool_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
};

const TF_TO_KSERVE: Record<TfNumericDataType, KserveDatatype> = {
  DT_FLOAT: 'FP32',
  DT_DOUBLE: 'FP64',
  DT_INT8: 'INT8',
  DT_INT16: 'INT16',
  DT_INT32: 'INT32',
  DT_INT64: 'INT64',
  DT_UINT8: 'UINT8',
  DT_UINT16: 'UINT16',
  DT_UINT32: 'UINT32',
  DT_UINT64: 'UINT64',
  DT_BOOL: 'BOOL',
};

/** Which TensorProto list carries each dtype (TensorFlow's tensor.proto). */
const TF_VALUES: Record<TfNumericDataType, keyof TensorProto> = {
  DT_FLOAT: 'float_val',
  DT_DOUBLE: 'double_val',
  DT_INT8: 'int_val',
  DT_INT16: 'int_val',
  DT_INT32: 'int_val',
  DT_UINT8: 'int_val',
  DT_UINT16: 'int_val',
  DT_INT64: 'int64_val',
  DT_UINT32: 'uint32_val',
  DT_UINT64: 'uint64_val',
  DT_BOOL: 'bool_val',
};

/** True for a datatype the KServe codec handles. */
export function isKserveDatatype(datatype: string): datatype is KserveDatatype {
  return datatype in CODECS;
}

/** True for a dtype the TF Serving codec handles. */
export function isTfNumericDataType(dtype: string): dtype is TfNumericDataType {
  return dtype in TF_TO_KSERVE;
}

/** Checks that `data` fills `shape` exactly and that every value is a finite number. */
export function assertTensor(name: string, shape: number[], data: ArrayLike<number>): void {
  if (!shape.every((dim) => Number.isInteger(dim) && dim >= 0)) {
    throw new InferInputError(`tensor ${name}: shape dimensions must be non-negative integers`);
  }
  const expected = shape.reduce((product, dim) => product * dim, 1);
  if (expected !== data.length) {
    throw new InferInputError(
      `tensor ${name}: shape [${shape.join(', ')}] needs ${expected} values, got ${data.length}`,
    );
  }
}

/** Packs values as little-endian bytes (KServe raw contents, TF tensor_content). */
export function encodeRaw(datatype: KserveDatatype, data: ArrayLike<number>): Buffer {
  const codec = CODECS[datatype];
  const buffer = Buffer.alloc(data.length * codec.bytes);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  for (let i = 0; i < data.length; i++) codec.write(view, i * codec.bytes, data[i]!);
  return buffer;
}

/** Unpacks little-endian bytes into numbers. */
export function decodeRaw(datatype: KserveDatatype, bytes: Uint8Array): number[] {
  const codec = CODECS[datatype];
  if (bytes.byteLength % codec.bytes !== 0) {
    throw new InferInputError(`${bytes.byteLength} bytes is not a whole number of ${datatype} values`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(bytes.byteLength / codec.bytes);
  for (let i = 0; i < out.length; i++) out[i] = codec.read(view, i * codec.bytes);
  return out;
}

/** Puts values in the InferTensorContents list for the datatype. */
export function encodeKserveContents(datatype: KserveDatatype, data: ArrayLike<number>): InferTensorContents {
  const values = Array.from(data);
  return { [KSERVE_CONTENTS[datatype]]: datatype === 'BOOL' ? values.map(Boolean) : values };
}

/** Reads values from the InferTensorContents list for the datatype. */
export function decodeKserveContents(
  datatype: KserveDatatype,
  contents: InferTensorContents | null | undefined,
): number[] {
  const values = (contents?.[KSERVE_CONTENTS[datatype]] ?? []) as (number | string | boolean)[];
  return values.map(Number);
}

/** Maps a TF dtype to the KServe datatype with the same element encoding. */
export function tfToKserve(dtype: TfNumericDataType): KserveDatatype {
  return TF_TO_KSERVE[dtype];
}

/** Builds a TensorProto with the values in the typed list (or packed in tensor_content when `packed`). */
export function encodeTfTensor(tensor: NumericTensor<TfNumericDataType>, packed = false): TensorProto {
  const proto: TensorProto = {
    dtype: tensor.datatype,
    tensor_shape: { dim: tensor.shape.map((size) => ({ size })) },
  };
  if (packed) {
    proto.tensor_content = encodeRaw(tfToKserve(tensor.datatype), tensor.data);
  } else {
    const values = tensor.datatype === 'DT_BOOL' ? tensor.data.map(Boolean) : tensor.data;
    (proto as unknown as Record<string, unknown>)[TF_VALUES[tensor.datatype]] = values;
  }
  return proto;
}

/** Reads a TensorProto from either tensor_content or its typed list. */
export function decodeTfTensor(name: string, proto: TensorProto): NumericTensor<TfNumericDataType> {
  if (!isTfNumericDataType(proto.dtype)) {
    throw new InferInputError(`tensor ${name}: dtype ${proto.dtype} is not a supported numeric type`);
  }
  const shape = (proto.tensor_shape?.dim ?? []).map((dim) => Number(dim.size));
  const data =
    proto.tensor_content && proto.tensor_content.byteLength > 0
      ? decodeRaw(tfToKserve(proto.dtype), proto.tensor_content)
      : ((proto[TF_VALUES[proto.dtype]] ?? []) as (number | string | boolean)[]).map(Number);
  return { datatype: proto.dtype, shape, data };
}
