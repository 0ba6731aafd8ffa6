/**
 * gRPC protocol definitions for the data plane: tenantmesh's own wire-compatible .proto files for KServe v2
 * (`inference.GRPCInferenceService`) and TensorFlow Serving (`tensorflow.serving.PredictionService`), loaded
 * once with @grpc/proto-loader.
 */
export {
  loadInferenceProtos,
  methodOf,
  KSERVE_SERVICE,
  TFSERVING_SERVICE,
  LOADER_OPTIONS,
  PROTOS_DIR,
} from './load.ts';
export type { InferenceProtos, Method } from './load.ts';
export * from './types.ts';
