import * as grpc from '@grpc/grpc-js';
import type {
  GetModelMetadataRequest,
  GetModelMetadataResponse,
  InferTensor,
  ModelInferRequest,
  ModelInferResponse,
  ModelMetadataRequest,
  ModelMetadataResponse,
  ModelReadyRequest,
  PredictRequest,
  PredictResponse,
  TensorProto,
} from '../../../src/grpc/index.ts';
import { loadInferenceProtos, SIGNATURE_DEF_MAP_TYPE_URL } from '../../../src/grpc/index.ts';
import {
  decodeKserveContents,
  decodeRaw,
  decodeTfTensor,
  encodeKserveContents,
  encodeRaw,
  encodeTfTensor,
  isKserveDatatype,
} from '../../../src/infer/tensors.ts';

/**
 * The peer our own inference client and `tenantmesh infer` are unit-tested against, in process (never a stand-in
 * for a model server or for the gateway: the real path, Istio's gateway and MLServer on the local node, is tested
 * by the e2e project): speaks KServe v2 (`inference.GRPCInferenceService`) and TF
 * Serving (`tensorflow.serving.PredictionService`) for one model that doubles every input value. Output
 * tensors mirror the inputs (same datatype, shape and encoding); input `input` answers as `output`, any other
 * input `x` as `x_output`.
 */
export interface ModelServerOptions {
  /** Name of the served model (default `double`); other names get NOT_FOUND. */
  modelName?: string;
  /** Interface to listen on (default 127.0.0.1); the port is chosen by the OS. */
  host?: string;
  /** Serve TLS with this certificate; with `clientCaPem`, require a client certificate signed by it. */
  tls?: { certPem: string; keyPem: string; clientCaPem?: string };
  /** Largest message accepted or sent (default 64 MiB, like the infer client). */
  maxMessageBytes?: number;
  /** Require `authorization: Bearer <token>`: missing → UNAUTHENTICATED, different → PERMISSION_DENIED. */
  requiredBearerToken?: string;
  /** Requests for this model name are never answered, to exercise client deadlines. */
  stallModelName?: string;
}

/** One call as the server saw it. */
export interface RecordedCall {
  method: string;
  /** The HTTP/2 :authority the client sent. */
  authority: string;
  authorization: string | undefined;
  /** The client's address and port: calls over one connection share it. */
  peer: string;
}

/** A running model server. */
export interface RunningModelServer {
  /** `host:port` to dial. */
  address: string;
  port: number;
  calls: RecordedCall[];
  /** Stops at once, cancelling stalled calls. */
  close(): Promise<void>;
}

const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export async function startModelServer(options: ModelServerOptions = {}): Promise<RunningModelServer> {
  const modelName = options.modelName ?? 'double';
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const protos = loadInferenceProtos();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
  });
  const calls: RecordedCall[] = [];

  /** Records the call and applies the bearer, stall and model-name rules; false when the call is settled. */
  function admit(
    method: string,
    call: grpc.ServerUnaryCall<unknown, unknown>,
    callback: grpc.sendUnaryData<unknown>,
    model: string | undefined,
  ): boolean {
    const authorization = call.metadata.get('authorization')[0]?.toString();
    calls.push({ method, authority: call.getHost(), authorization, peer: call.getPeer() });
    if (options.requiredBearerToken !== undefined) {
      if (!authorization) {
        callback({ code: grpc.status.UNAUTHENTICATED, details: 'bearer token required' });
        return false;
      }
      if (authorization !== `Bearer ${options.requiredBearerToken}`) {
        callback({ code: grpc.status.PERMISSION_DENIED, details: 'this token may not call the model' });
        return false;
      }
    }
    if (model !== undefined && model === options.stallModelName) return false;
    if (model !== undefined && model !== modelName) {
      callback({ code: grpc.status.NOT_FOUND, details: `model ${model} is not served here` });
      return false;
    }
    return true;
  }

  /** A unary handler: admission first, then `answer`; a thrown error becomes INVALID_ARGUMENT. */
  function unary<Req, Res>(
    method: string,
    answer: (request: Req) => Res,
    modelOf: (request: Req) => string | undefined = () => undefined,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      if (!admit(method, call, callback as grpc.sendUnaryData<unknown>, modelOf(call.request))) return;
      try {
        callback(null, answer(call.request));
      } catch (error) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: (error as Error).message });
      }
    };
  }

  const tensorMetadata = (name: string) => ({ name, datatype: 'FP32', shape: ['-1'] });
  const kserve: grpc.UntypedServiceImplementation = {
    ServerLive: unary('ServerLive', () => ({ live: true })),
    ServerReady: unary('ServerReady', () => ({ ready: true })),
    ModelReady: unary('ModelReady', (request: ModelReadyRequest) => ({ ready: request.name === modelName })),
    ServerMetadata: unary('ServerMetadata', () => ({
      name: 'tenantmesh-test-model-server',
      version: '1',
      extensions: [],
    })),
    ModelMetadata: unary(
      'ModelMetadata',
      (): ModelMetadataResponse => ({
        name: modelName,
        versions: ['1'],
        platform: 'tenantmesh-test',
        inputs: [tensorMetadata('input')],
        outputs: [tensorMetadata('output')],
      }),
      (request: ModelMetadataRequest) => request.name,
    ),
    ModelInfer: unary('ModelInfer', doubleKserve, (request: ModelInferRequest) => request.model_name),
  };

  const tfserving: grpc.UntypedServiceImplementation = {
    Predict: unary(
      'Predict',
      (request: PredictRequest): PredictResponse => ({
        model_spec: servedSpec(modelName),
        outputs: doubleTf(request.inputs),
      }),
      (request) => request.model_spec.name,
    ),
    GetModelMetadata: unary(
      'GetModelMetadata',
      (request: GetModelMetadataRequest): GetModelMetadataResponse => {
        if (!request.metadata_field.includes('signature_def')) {
          throw new Error('metadata_field must include signature_def');
        }
        return { model_spec: servedSpec(modelName), metadata: { signature_def: signatureDefs() } };
      },
      (request) => request.model_spec.name,
    ),
  };

  function doubleKserve(request: ModelInferRequest): ModelInferResponse {
    const raw = request.raw_input_contents ?? [];
    const outputs: InferTensor[] = [];
    const rawOutputs: Buffer[] = [];
    for (const [index, input] of request.inputs.entries()) {
      if (!isKserveDatatype(input.datatype)) throw new Error(`datatype ${input.datatype} is not supported`);
      const values =
        raw.length > 0
          ? decodeRaw(input.datatype, raw[index] ?? new Uint8Array())
          : decodeKserveContents(input.datatype, input.contents);
      const doubled = values.map((value) => value * 2);
      const output: InferTensor = {
        name: outputNameFor(input.name),
        datatype: input.datatype,
        shape: input.shape,
      };
      if (raw.length > 0) rawOutputs.push(encodeRaw(input.datatype, doubled));
      else output.contents = encodeKserveContents(input.datatype, doubled);
      outputs.push(output);
    }
    return {
      model_name: modelName,
      model_version: '1',
      id: request.id ?? '',
      parameters: {},
      outputs,
      raw_output_contents: rawOutputs,
    };
  }

  server.addService(protos.kserve, kserve as grpc.UntypedServiceImplementation);
  server.addService(protos.tfserving, tfserving as grpc.UntypedServiceImplementation);

  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(
        options.tls.clientCaPem ? Buffer.from(options.tls.clientCaPem) : null,
        [{ private_key: Buffer.from(options.tls.keyPem), cert_chain: Buffer.from(options.tls.certPem) }],
        options.tls.clientCaPem !== undefined,
      )
    : grpc.ServerCredentials.createInsecure();
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, credentials, (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    ),
  );
  return {
    address: `${host}:${port}`,
    port,
    calls,
    close: async () => server.forceShutdown(),
  };
}

/** The output tensor name the test model gives for an input tensor. */
export function outputNameFor(inputName: string): string {
  return inputName === 'input' ? 'output' : `${inputName}_output`;
}

function doubleTf(inputs: Record<string, TensorProto>): Record<string, TensorProto> {
  const outputs: Record<string, TensorProto> = {};
  for (const [name, proto] of Object.entries(inputs)) {
    const tensor = decodeTfTensor(name, proto);
    const packed = (proto.tensor_content?.byteLength ?? 0) > 0;
    outputs[outputNameFor(name)] = encodeTfTensor({ ...tensor, data: tensor.data.map((v) => v * 2) }, packed);
  }
  return outputs;
}

function signatureDefs(): GetModelMetadataResponse['metadata'][string] {
  const info = (name: string) => ({
    name,
    dtype: 'DT_FLOAT' as const,
    tensor_shape: { dim: [{ size: -1 }] },
  });
  return {
    type_url: SIGNATURE_DEF_MAP_TYPE_URL,
    value: {
      signature_def: {
        serving_default: {
          inputs: { input: info('input:0') },
          outputs: { output: info('output:0') },
          method_name: 'tensorflow/serving/predict',
        },
      },
    },
  };
}

function servedSpec(name: string) {
  return { name, version: { value: '1' }, signature_name: 'serving_default' };
}
