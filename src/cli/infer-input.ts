import type { KserveDatatype, KserveInput, NumericTensor, TfNumericDataType } from '../infer/index.ts';
import { isKserveDatatype, isTfNumericDataType, tfToKserve } from '../infer/tensors.ts';
import { usageError } from './errors.ts';

/** A tensor as the command line gives it, before it is checked against a protocol. */
export interface CliTensor {
  name: string;
  datatype: KserveDatatype;
  shape: number[];
  data: number[];
}

/** The input flags of `tenantmesh infer … infer|predict`. */
export interface InputFlags {
  /** JSON: one tensor object or an array of them (or `{"inputs": [...]}`). */
  input?: string;
  /** Contents of `--input-file` (same JSON). */
  inputFileText?: string;
  /** Shorthand: comma-separated numbers, with `shape` (default `[n]`), `datatype` (FP32) and `name` (input). */
  data?: string;
  shape?: string;
  datatype?: string;
  name?: string;
}

const KSERVE_OF_TF: (dtype: string) => KserveDatatype | undefined = (dtype) =>
  isTfNumericDataType(dtype) ? tfToKserve(dtype) : undefined;

/** Parses a datatype in either spelling (`FP32` or `DT_FLOAT`). */
export function parseDatatype(text: string, where: string): KserveDatatype {
  const upper = text.toUpperCase();
  if (isKserveDatatype(upper)) return upper;
  const fromTf = KSERVE_OF_TF(upper);
  if (fromTf) return fromTf;
  throw usageError(
    `${where}: datatype ${text} is not supported (FP32, FP64, INT8…INT64, UINT8…UINT64, BOOL or DT_* names)`,
  );
}

/** `1,3` or `[1,3]` → `[1, 3]`. */
export function parseShape(text: string): number[] {
  const parts = text
    .replace(/^\[|\]$/g, '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const shape = parts.map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw usageError(`--shape ${text}: expected non-negative integers such as 1,3`);
  return shape;
}

/** `1,2.5,-3` → numbers; `true`/`false` are accepted for BOOL. */
export function parseNumbers(text: string): number[] {
  const parts = text
    .replace(/^\[|\]$/g, '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return parts.map((part) => {
    if (part === 'true') return 1;
    if (part === 'false') return 0;
    const value = Number(part);
    if (!Number.isFinite(value)) throw usageError(`--data: ${part} is not a number`);
    return value;
  });
}

function flatten(value: unknown, where: string): number[] {
  if (Array.isArray(value)) return value.flatMap((item) => flatten(item, where));
  if (typeof value === 'boolean') return [value ? 1 : 0];
  if (typeof value === 'number' && Number.isFinite(value)) return [value];
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return [Number(value)];
  throw usageError(
    `${where}: data must be numbers (nested arrays are flattened), got ${JSON.stringify(value)}`,
  );
}

function tensorFromJson(value: unknown, index: number): CliTensor {
  const where = `input ${index + 1}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw usageError(`${where}: expected an object {name, datatype, shape, data}`);
  const object = value as Record<string, unknown>;
  const name = object['name'] ?? 'input';
  if (typeof name !== 'string' || name === '') throw usageError(`${where}: name must be a string`);
  const datatypeText = object['datatype'] ?? object['dtype'] ?? 'FP32';
  if (typeof datatypeText !== 'string') throw usageError(`${where}: datatype must be a string`);
  const datatype = parseDatatype(datatypeText, `input ${name}`);
  const data = flatten(object['data'] ?? object['values'], `input ${name}`);
  const shapeValue = object['shape'] ?? [data.length];
  if (!Array.isArray(shapeValue) || shapeValue.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
    throw usageError(`input ${name}: shape must be an array of non-negative integers`);
  }
  return { name, datatype, shape: shapeValue as number[], data };
}

function checkCount(tensor: CliTensor): CliTensor {
  const expected = tensor.shape.reduce((a, b) => a * b, 1);
  if (expected !== tensor.data.length) {
    throw usageError(
      `input ${tensor.name}: shape [${tensor.shape.join(',')}] needs ${expected} values, got ${tensor.data.length}`,
    );
  }
  return tensor;
}

/** Parses the input flags into tensors; exactly one of --input, --input-file and --data must be given. */
export function parseInputs(flags: InputFlags): CliTensor[] {
  const given = [flags.input, flags.inputFileText, flags.data].filter((v) => v !== undefined).length;
  if (given !== 1)
    throw usageError('give exactly one of --input <json>, --input-file <file> or --data <numbers>');
  if (flags.data !== undefined) {
    const data = parseNumbers(flags.data);
    const shape = flags.shape !== undefined ? parseShape(flags.shape) : [data.length];
    const datatype = parseDatatype(flags.datatype ?? 'FP32', '--datatype');
    return [checkCount({ name: flags.name ?? 'input', datatype, shape, data })];
  }
  const text = (flags.input ?? flags.inputFileText) as string;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usageError(
      `${flags.input !== undefined ? '--input' : '--input-file'} is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Array.isArray((parsed as { inputs?: unknown }).inputs)
  ) {
    parsed = (parsed as { inputs: unknown[] }).inputs;
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.length === 0) throw usageError('no input tensors given');
  const tensors = list.map((item, index) => checkCount(tensorFromJson(item, index)));
  const names = new Set<string>();
  for (const tensor of tensors) {
    if (names.has(tensor.name)) throw usageError(`input ${tensor.name} is given twice`);
    names.add(tensor.name);
  }
  return tensors;
}

/** The tensors as KServe v2 inputs. */
export function toKserveInputs(tensors: CliTensor[]): KserveInput[] {
  return tensors.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: t.data }));
}

const TF_OF_KSERVE: Partial<Record<KserveDatatype, TfNumericDataType>> = {
  FP32: 'DT_FLOAT',
  FP64: 'DT_DOUBLE',
  INT8: 'DT_INT8',
  INT16: 'DT_INT16',
  INT32: 'DT_INT32',
  INT64: 'DT_INT64',
  UINT8: 'DT_UINT8',
  UINT16: 'DT_UINT16',
  UINT32: 'DT_UINT32',
  UINT64: 'DT_UINT64',
  BOOL: 'DT_BOOL',
};

/** The tensors as TF Serving Predict inputs, keyed by name. */
export function toTfInputs(tensors: CliTensor[]): Record<string, NumericTensor<TfNumericDataType>> {
  return Object.fromEntries(
    tensors.map((t) => {
      const dtype = TF_OF_KSERVE[t.datatype];
      if (!dtype) throw usageError(`input ${t.name}: ${t.datatype} has no TF Serving equivalent`);
      return [t.name, { datatype: dtype, shape: t.shape, data: t.data }];
    }),
  );
}
