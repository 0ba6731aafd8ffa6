import { describe, expect, it } from 'vitest';
import {
  KSERVE_SERVICE,
  loadInferenceProtos,
  methodOf,
  SIGNATURE_DEF_MAP_TYPE_URL,
  TFSERVING_SERVICE,
} from '../../../src/grpc/index.ts';
import type {
  GetModelMetadataResponse,
  ModelInferRequest,
  ModelInferResponse,
  PredictRequest,
  PredictResponse,
} from '../../../src/grpc/index.ts';

const protos = loadInferenceProtos();

/** A protobuf length-delimited field: tag byte, one-byte length, content. */
function field(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag, content.length]), content]);
}
const text = (s: string) => Buffer.from(s);

describe('inference protos', () => {
  it('are loaded once and expose the published service paths', () => {
    expect(loadInferenceProtos()).toBe(protos);
    expect(Object.keys(protos.kserve)).toEqual([
      'ServerLive',
      'ServerReady',
      'ModelReady',
      'ServerMetadata',
      'ModelMetadata',
      'ModelInfer',
    ]);
    expect(protos.kserve.ModelInfer!.path).toBe(`/${KSERVE_SERVICE}/ModelInfer`);
    expect(protos.tfserving.Predict!.path).toBe('/tensorflow.serving.PredictionService/Predict');
    expect(protos.tfserving.GetModelMetadata!.path).toBe(`/${TFSERVING_SERVICE}/GetModelMetadata`);
  });

  it('encode a KServe ModelInferRequest with the field numbers of the published protocol', () => {
    const infer = methodOf<ModelInferRequest, ModelInferResponse>(protos.kserve, 'ModelInfer');
    const bytes = infer.requestSerialize({
      model_name: 'm',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2], contents: { fp32_contents: [1, 2] } }],
    });
    // model_name = 1; inputs = 5 { name = 1, datatype = 2, shape = 3 (packed), contents = 5 { fp32_contents = 6 } }
    expect(bytes.toString('hex')).toBe(
      '0a016d2a180a0178120446503332' + '1a0102' + '2a0a3208' + '0000803f' + '00000040',
    );
  });

  it('decode a KServe request with raw tensor bytes, int64 shapes as strings and defaults filled', () => {
    const infer = methodOf<ModelInferRequest, ModelInferResponse>(protos.kserve, 'ModelInfer');
    const raw = Buffer.from(new Float32Array([1.5, -2]).buffer);
    const decoded = infer.requestDeserialize(
      infer.requestSerialize({
        model_name: 'double',
        model_version: '3',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }],
        raw_input_contents: [raw],
      }),
    );
    expect(decoded.model_name).toBe('double');
    expect(decoded.model_version).toBe('3');
    expect(decoded.inputs[0]).toMatchObject({ name: 'x', datatype: 'FP32', shape: ['1', '2'] });
    expect(Buffer.from(decoded.raw_input_contents![0]!)).toEqual(raw);
    expect(decoded.id).toBe('');
    expect(decoded.outputs).toEqual([]);
  });

  it('encode a TF Serving PredictRequest with the field numbers of the published protocol', () => {
    const predict = methodOf<PredictRequest, PredictResponse>(protos.tfserving, 'Predict');
    const bytes = predict.requestSerialize({
      model_spec: { name: 'm', version: { value: 3 } },
      inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 2 }] }, float_val: [1, 2] } },
    });
    // model_spec = 1 { name = 1, version = 2 (Int64Value) }; inputs = 2 (map entry: key = 1, value = 2
    // { dtype = 1, tensor_shape = 2 { dim = 2 { size = 1 } }, float_val = 5 (packed) })
    expect(bytes.toString('hex')).toBe(
      '0a070a016d12020803' + '12170a0178' + '1212' + '0801' + '120412020802' + '2a08' + '0000803f00000040',
    );
    const decoded = predict.requestDeserialize(bytes);
    expect(decoded.model_spec).toMatchObject({
      name: 'm',
      version: { value: '3' },
      version_choice: 'version',
    });
    expect(decoded.inputs.x).toMatchObject({ dtype: 'DT_FLOAT', float_val: [1, 2] });
    expect(decoded.inputs.x!.tensor_shape!.dim).toEqual([{ size: '2', name: '' }]);
  });

  it('decode TF Serving model metadata packed in a google.protobuf.Any', () => {
    const metadata = methodOf<unknown, GetModelMetadataResponse>(protos.tfserving, 'GetModelMetadata');
    // SignatureDefMap { signature_def = 1: { "s": SignatureDef { method_name = 3: "p" } } }, serialised as the
    // bytes of Any.value, the way TensorFlow Serving sends it.
    const signatureDefMap = field(
      0x0a,
      Buffer.concat([field(0x0a, text('s')), field(0x12, field(0x1a, text('p')))]),
    );
    const any = Buffer.concat([field(0x0a, text(SIGNATURE_DEF_MAP_TYPE_URL)), field(0x12, signatureDefMap)]);
    const response = field(0x12, Buffer.concat([field(0x0a, text('signature_def')), field(0x12, any)]));
    const decoded = metadata.responseDeserialize(response);
    expect(decoded.metadata.signature_def!.type_url).toBe(SIGNATURE_DEF_MAP_TYPE_URL);
    expect(decoded.metadata.signature_def!.value!.signature_def.s!.method_name).toBe('p');
  });
});
