/**
 * Inference client library: KServe v2 and TF Serving over gRPC with mTLS and/or a bearer token, typed errors,
 * raised message limits. Used by the CLI's `infer` command and by tests.
 */
export { createInferClient, DEFAULT_DEADLINE_MS, DEFAULT_MAX_MESSAGE_BYTES } from './client.ts';
export type {
  InferClient,
  InferClientOptions,
  KserveInferRequest,
  KserveInferResult,
  KserveInput,
  KserveOutput,
  KserveModelMetadata,
  TfModelRef,
  TfPredictRequest,
  TfPredictResult,
  TfModelMetadata,
  TfTensorInfo,
} from './client.ts';
export {
  InferError,
  InferTlsError,
  InferPermissionDeniedError,
  InferUnauthenticatedError,
  InferDeadlineExceededError,
  InferUnavailableError,
  InferNotFoundError,
  InferInputError,
} from './errors.ts';
export type { InferErrorKind } from './errors.ts';
export type { KserveDatatype, TfNumericDataType, NumericTensor } from './tensors.ts';
