import * as grpc from '@grpc/grpc-js';
import type {
  GetModelMetadataRequest,
  GetModelMetadataResponse,
  ModelInferRequest,
  ModelInferResponse,
  ModelMetadataRequest,
  ModelMetadataResponse,
  ModelReadyRequest,
  PredictRequest,
  PredictResponse,
  ServerMetadataResponse,
  TensorShapeProto,
  TfDataType,
} from '../grpc/index.ts';
import { loadInferenceProtos, methodOf } from '../grpc/index.ts';
import type { Method } from '../grpc/index.ts';
import { InferInputError, InferTlsError, toInferError } from './errors.ts';
import { probeTls } from './tls-probe.ts';
import {
  assertTensor,
  decodeKserveContents,
  decodeRaw,
  decodeTfTensor,
  encodeKserveContents,
  encodeRaw,
  encodeTfTensor,
  isKserveDatatype,
} from './tensors.ts';
import type { KserveDatatype, NumericTensor, TfNumericDataType } from './tensors.ts';

/**
 * gRPC's default receive limit is 4 MiB, too small for images or embeddings batches; 64 MiB covers typical
 * payloads while still bounding memory. Servers and the gateway need a matching limit.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Default per-call deadline. */
export const DEFAULT_DEADLINE_MS = 30_000;

/** Options for {@link createInferClient}. */
export interface InferClientOptions {
  /** `host:port` to dial, e.g. the ingress gateway. */
  address: string;
  /** mTLS material (PEM). Without it the channel is plaintext (local development only). */
  tls?: {
    /** CA that signed the server certificate. */
    caPem: string;
    /** Client certificate and key issued by the tenant CA; omit both for server-only TLS. */
    certPem?: string;
    keyPem?: string;
    /** Name to verify in the server certificate and send as SNI; the gateway picks the tenant's certificate by it. */
    serverName?: string;
  };
  /** Per-call deadline in milliseconds (default 30 s). */
  deadlineMs?: number;
  /** Largest message sent or received (default {@link DEFAULT_MAX_MESSAGE_BYTES}). */
  maxMessageBytes?: number;
  /** HTTP/2 :authority, which the gateway routes on (e.g. `<endpoint>.<tenant>.<domain>`); default: the address. */
  authority?: string;
  /** Sent as `authorization: Bearer <token>` on every call. Never logged. */
  bearerToken?: string;
}

/** A KServe v2 input tensor. */
export interface KserveInput extends NumericTensor<KserveDatatype> {
  name: string;
}

/** A KServe v2 output tensor. */
export type KserveOutput = KserveInput;

/** A KServe v2 inference request. */
export interface KserveInferRequest {
  model: string;
  version?: string;
  id?: string;
  inputs: KserveInput[];
  /** Output names to return; all when omitted. */
  outputs?: string[];
  /**
   * `contents` puts values in the typed lists of InferTensorContents; `raw` sends little-endian bytes in
   * raw_input_contents, which some runtimes (Triton) handle faster. Default `contents`.
   */
  encoding?: 'contents' | 'raw';
}

/** A KServe v2 inference result. */
export interface KserveInferResult {
  model: string;
  version: string;
  id: string;
  outputs: KserveOutput[];
}

/** Model metadata (KServe v2). */
export interface KserveModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
}

/** Which model (and version) a TF Serving call addresses. */
export interface TfModelRef {
  model: string;
  /** A numeric version, or a label such as `stable`; the server's latest when both are omitted. */
  version?: number;
  versionLabel?: string;
  signatureName?: string;
}

/** A TF Serving Predict request. */
export interface TfPredictRequest extends TfModelRef {
  inputs: Record<string, NumericTensor<TfNumericDataType>>;
  outputFilter?: string[];
  /** Send values packed in tensor_content instead of the typed value lists. */
  packed?: boolean;
}

/** A TF Serving Predict result. */
export interface TfPredictResult {
  model: string;
  version: number | undefined;
  outputs: Record<string, NumericTensor<TfNumericDataType>>;
}

/** A TF signature's tensor description. */
export interface TfTensorInfo {
  name: string;
  dtype: TfDataType;
  /** -1 for unknown dimensions; undefined when the rank is unknown. */
  shape: number[] | undefined;
}

/** TF Serving model metadata: the model's signatures. */
export interface TfModelMetadata {
  model: string;
  version: number | undefined;
  signatures: Record<
    string,
    { methodName: string; inputs: Record<string, TfTensorInfo>; outputs: Record<string, TfTensorInfo> }
  >;
}

/** Client for a tenant inference endpoint over gRPC, speaking both protocols on one channel. */
export interface InferClient {
  kserve: {
    serverLive(): Promise<boolean>;
    serverReady(): Promise<boolean>;
    modelReady(model: string, version?: string): Promise<boolean>;
    serverMetadata(): Promise<{ name: string; version: string; extensions: string[] }>;
    modelMetadata(model: string, version?: string): Promise<KserveModelMetadata>;
    modelInfer(request: KserveInferRequest): Promise<KserveInferResult>;
  };
  tfserving: {
    predict(request: TfPredictRequest): Promise<TfPredictResult>;
    getModelMetadata(ref: TfModelRef): Promise<TfModelMetadata>;
  };
  /** Closes the channel; pending calls fail. */
  close(): void;
}

/**
 * Creates an inference client. Errors are thrown as {@link InferError} subclasses: InferTlsError,
 * InferPermissionDeniedError, InferUnauthenticatedError, InferDeadlineExceededError, InferUnavailableError,
 * InferNotFoundError, InferInputError.
 */
export function createInferClient(options: InferClientOptions): InferClient {
  const protos = loadInferenceProtos();
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const channelOptions: grpc.ChannelOptions = {
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
  };
  if (options.authority) channelOptions['grpc.default_authority'] = options.authority;
  const serverName = options.tls?.serverName ?? hostOf(options.authority);
  if (options.tls && serverName) channelOptions['grpc.ssl_target_name_override'] = serverName;
  const client = new grpc.Client(options.address, channelCredentials(options.tls), channelOptions);

  function call<Req, Res>(method: Method<Req, Res>, request: Req): Promise<Res> {
    const metadata = new grpc.Metadata();
    if (options.bearerToken) metadata.set('authorization', `Bearer ${options.bearerToken}`);
    const what = method.path.slice(method.path.lastIndexOf('/') + 1);
    return new Promise<Res>((resolve, reject) => {
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        { deadline: Date.now() + deadlineMs },
        (error, response) => (error ? reject(error) : resolve(response as Res)),
      );
    }).catch(async (error: grpc.ServiceError) => {
      throw await classify(error, what);
    });
  }

  /** Maps a gRPC failure to an InferError, probing the handshake when an unavailable TLS channel hides why. */
  async function classify(error: grpc.ServiceError, what: string) {
    const mapped = toInferError(error, what);
    if (mapped.kind !== 'unavailable' || !options.tls) return mapped;
    const reason = await probeTls(
      { address: options.address, ...options.tls, serverName },
      Math.min(deadlineMs, 5000),
    );
    return reason === undefined
      ? mapped
      : new InferTlsError('tls', `${what}: TLS handshake failed: ${reason}`, error.code, reason);
  }

  const k = <Req, Res>(name: string) => methodOf<Req, Res>(protos.kserve, name);
  const tf = <Req, Res>(name: string) => methodOf<Req, Res>(protos.tfserving, name);

  return {
    kserve: {
      serverLive: async () => (await call(k<object, { live: boolean }>('ServerLive'), {})).live,
      serverReady: async () => (await call(k<object, { ready: boolean }>('ServerReady'), {})).ready,
      modelReady: async (model, version) =>
        (
          await call(k<ModelReadyRequest, { ready: boolean }>('ModelReady'), {
            name: model,
            version: version ?? '',
          })
        ).ready,
      serverMetadata: async () => {
        const { name, version, extensions } = await call(
          k<object, ServerMetadataResponse>('ServerMetadata'),
          {},
        );
        return { name, version, extensions };
      },
      modelMetadata: async (model, version) => {
        const response = await call(k<ModelMetadataRequest, ModelMetadataResponse>('ModelMetadata'), {
          name: model,
          version: version ?? '',
        });
        const tensor = (t: { name: string; datatype: string; shape: (number | string)[] }) => ({
          name: t.name,
          datatype: t.datatype,
          shape: t.shape.map(Number),
        });
        return {
          name: response.name,
          versions: response.versions,
          platform: response.platform,
          inputs: response.inputs.map(tensor),
          outputs: response.outputs.map(tensor),
        };
      },
      modelInfer: async (request) =>
        decodeInferResponse(
          await call(k<ModelInferRequest, ModelInferResponse>('ModelInfer'), encodeInferRequest(request)),
        ),
    },
    tfserving: {
      predict: async (request) => {
        const inputs = Object.fromEntries(
          Object.entries(request.inputs).map(([name, tensor]) => {
            assertTensor(name, tensor.shape, tensor.data);
            return [name, encodeTfTensor(tensor, request.packed)];
          }),
        );
        const response = await call(tf<PredictRequest, PredictResponse>('Predict'), {
          model_spec: modelSpec(request),
          inputs,
          output_filter: request.outputFilter ?? [],
        });
        return {
          model: response.model_spec?.name ?? request.model,
          version: specVersion(response.model_spec),
          outputs: Object.fromEntries(
            Object.entries(response.outputs).map(([name, proto]) => [name, decodeTfTensor(name, proto)]),
          ),
        };
      },
      getModelMetadata: async (ref) => {
        const response = await call(
          tf<GetModelMetadataRequest, GetModelMetadataResponse>('GetModelMetadata'),
          {
            model_spec: modelSpec(ref),
            metadata_field: ['signature_def'],
          },
        );
        const signatures = response.metadata.signature_def?.value?.signature_def ?? {};
        const infos = (
          map: Record<string, { name: string; dtype: TfDataType; tensor_shape: TensorShapeProto | null }>,
        ) =>
          Object.fromEntries(
            Object.entries(map).map(([key, info]) => [
              key,
              {
                name: info.name,
                dtype: info.dtype,
                shape:
                  !info.tensor_shape || info.tensor_shape.unknown_rank
                    ? undefined
                    : info.tensor_shape.dim.map((d) => Number(d.size)),
              },
            ]),
          );
        return {
          model: response.model_spec?.name ?? ref.model,
          version: specVersion(response.model_spec),
          signatures: Object.fromEntries(
            Object.entries(signatures).map(([name, def]) => [
              name,
              { methodName: def.method_name, inputs: infos(def.inputs), outputs: infos(def.outputs) },
            ]),
          ),
        };
      },
    },
    close: () => client.close(),
  };
}

function channelCredentials(tls: InferClientOptions['tls']): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if ((tls.certPem === undefined) !== (tls.keyPem === undefined)) {
    throw new InferInputError('a client certificate needs both certPem and keyPem');
  }
  return grpc.credentials.createSsl(
    Buffer.from(tls.caPem),
    tls.keyPem ? Buffer.from(tls.keyPem) : null,
    tls.certPem ? Buffer.from(tls.certPem) : null,
  );
}

function hostOf(authority: string | undefined): string | undefined {
  if (!authority) return undefined;
  return authority.startsWith('[')
    ? authority.slice(1, authority.indexOf(']'))
    : authority.replace(/:\d+$/, '');
}

function encodeInferRequest(request: KserveInferRequest): ModelInferRequest {
  const raw = request.encoding === 'raw';
  for (const input of request.inputs) {
    if (!isKserveDatatype(input.datatype)) {
      throw new InferInputError(`tensor ${input.name}: datatype ${String(input.datatype)} is not supported`);
    }
    assertTensor(input.name, input.shape, input.data);
  }
  return {
    model_name: request.model,
    model_version: request.version ?? '',
    id: request.id ?? '',
    inputs: request.inputs.map((input) => ({
      name: input.name,
      datatype: input.datatype,
      shape: input.shape,
      ...(raw ? {} : { contents: encodeKserveContents(input.datatype, input.data) }),
    })),
    outputs: (request.outputs ?? []).map((name) => ({ name })),
    raw_input_contents: raw ? request.inputs.map((input) => encodeRaw(input.datatype, input.data)) : [],
  };
}

function decodeInferResponse(response: ModelInferResponse): KserveInferResult {
  const outputs = response.outputs.map((output, index) => {
    if (!isKserveDatatype(output.datatype)) {
      throw new InferInputError(`output ${output.name}: datatype ${output.datatype} is not supported`);
    }
    // Per the protocol, raw_output_contents (when present) holds every output's bytes, in output order.
    const raw = response.raw_output_contents[index];
    const data =
      response.raw_output_contents.length > 0 && raw
        ? decodeRaw(output.datatype, raw)
        : decodeKserveContents(output.datatype, output.contents);
    return { name: output.name, datatype: output.datatype, shape: output.shape.map(Number), data };
  });
  return { model: response.model_name, version: response.model_version, id: response.id, outputs };
}

function modelSpec(ref: TfModelRef) {
  return {
    name: ref.model,
    ...(ref.version !== undefined ? { version: { value: ref.version } } : {}),
    ...(ref.versionLabel !== undefined ? { version_label: ref.versionLabel } : {}),
    signature_name: ref.signatureName ?? '',
  };
}

function specVersion(spec: { version?: { value: number | string } | null } | null): number | undefined {
  return spec?.version ? Number(spec.version.value) : undefined;
}
