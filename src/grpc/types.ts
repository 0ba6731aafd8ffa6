/**
 * TypeScript shapes of the messages in src/grpc/protos as @grpc/proto-loader hands them over with
 * {@link LOADER_OPTIONS}: snake_case names, int64 as decimal strings, enums by name. Outgoing messages may
 * omit fields and give int64 values as numbers; incoming ones have every field (defaults: true).
 */

/** int64/uint64 on the way out: a number or a decimal string. */
export type Int64 = number | string;

// ---- KServe v2 (package inference) ----

export interface InferParameter {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
}

export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface InferTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents | null;
}

export interface ModelInferRequest {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameter>;
  inputs: InferTensor[];
  outputs?: { name: string; parameters?: Record<string, InferParameter> }[];
  raw_input_contents?: Uint8Array[];
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameter>;
  outputs: InferTensor[];
  raw_output_contents: Buffer[];
}

export interface ModelReadyRequest {
  name: string;
  version?: string;
}

export interface ModelMetadataRequest {
  name: string;
  version?: string;
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: Int64[];
}

export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface ServerMetadataResponse {
  name: string;
  version: string;
  extensions: string[];
}

// ---- TensorFlow Serving (packages tensorflow, tensorflow.serving) ----

/** The TensorFlow data types tenantmesh encodes (numeric dense tensors). */
export type TfDataType =
  | 'DT_INVALID'
  | 'DT_FLOAT'
  | 'DT_DOUBLE'
  | 'DT_INT32'
  | 'DT_UINT8'
  | 'DT_INT16'
  | 'DT_INT8'
  | 'DT_STRING'
  | 'DT_COMPLEX64'
  | 'DT_INT64'
  | 'DT_BOOL'
  | 'DT_BFLOAT16'
  | 'DT_UINT16'
  | 'DT_HALF'
  | 'DT_UINT32'
  | 'DT_UINT64';

export interface TensorShapeProto {
  dim: { size: Int64; name?: string }[];
  unknown_rank?: boolean;
}

export interface TensorProto {
  dtype: TfDataType;
  tensor_shape: TensorShapeProto | null;
  version_number?: number;
  tensor_content?: Uint8Array;
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  string_val?: Uint8Array[];
  int64_val?: Int64[];
  bool_val?: boolean[];
  uint32_val?: number[];
  uint64_val?: Int64[];
}

export interface ModelSpec {
  name: string;
  version?: { value: Int64 } | null;
  version_label?: string;
  signature_name?: string;
  version_choice?: 'version' | 'version_label';
}

export interface PredictRequest {
  model_spec: ModelSpec;
  inputs: Record<string, TensorProto>;
  output_filter?: string[];
}

export interface PredictResponse {
  model_spec: ModelSpec | null;
  outputs: Record<string, TensorProto>;
}

export interface TensorInfo {
  name: string;
  dtype: TfDataType;
  tensor_shape: TensorShapeProto | null;
}

export interface SignatureDef {
  inputs: Record<string, TensorInfo>;
  outputs: Record<string, TensorInfo>;
  method_name: string;
}

export interface GetModelMetadataRequest {
  model_spec: ModelSpec;
  metadata_field: string[];
}

export interface GetModelMetadataResponse {
  model_spec: ModelSpec | null;
  metadata: Record<
    string,
    { type_url: string; value: { signature_def: Record<string, SignatureDef> } | null }
  >;
}

/** The type URL TensorFlow Serving packs signature metadata under. */
export const SIGNATURE_DEF_MAP_TYPE_URL = 'type.googleapis.com/tensorflow.serving.SignatureDefMap';
