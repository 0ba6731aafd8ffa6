import { describe, expect, it } from 'vitest';
import { arrangeModel, renamedMlserverSettings } from '../../../src/puller/layout.ts';

describe('laying a model out for its runtime', () => {
  it('TF Serving: a SavedModel wrapped in one directory is descended into', () => {
    expect(
      arrangeModel(
        ['resnet/', 'resnet/saved_model.pb', 'resnet/variables/', 'resnet/variables/v.index'],
        'tensorflow-saved-model',
        'resnet',
        '3',
      ),
    ).toEqual({ root: 'resnet/', extraFiles: {} });
  });

  it('TF Serving: an archive without saved_model.pb is refused with what is missing', () => {
    expect(() => arrangeModel(['model.onnx'], 'tensorflow-saved-model', 'm', '1')).toThrow(
      'TensorFlow Serving needs a SavedModel: upload an archive with saved_model.pb (and variables/) at its top',
    );
  });

  it('OVMS: accepts IR (.xml and .bin), ONNX or a SavedModel; refuses half an IR model', () => {
    expect(arrangeModel(['model.xml', 'model.bin'], 'openvino', 'm', '1').root).toBe('');
    expect(arrangeModel(['model.onnx'], 'openvino', 'm', '1').root).toBe('');
    expect(arrangeModel(['saved_model.pb', 'variables/'], 'openvino', 'm', '1').root).toBe('');
    expect(() => arrangeModel(['model.xml'], 'openvino', 'm', '1')).toThrow(/OpenVINO Model Server needs/);
  });

  it('Triton: a model directory with config.pbtxt and numbered versions; a top-level "1/" is not a wrapper', () => {
    expect(
      arrangeModel(
        ['bert/', 'bert/config.pbtxt', 'bert/1/', 'bert/1/model.onnx'],
        'triton-model',
        'bert',
        'v7',
      ),
    ).toEqual({
      root: 'bert/',
      extraFiles: {},
    });
    expect(arrangeModel(['1/', '1/model.onnx'], 'triton-model', 'bert', 'v7').root).toBe('');
    expect(() => arrangeModel(['config.pbtxt'], 'triton-model', 'bert', 'v7')).toThrow(
      /at least one numeric version directory/,
    );
    expect(() => arrangeModel(['model.onnx'], 'triton-model', 'bert', 'v7')).toThrow(
      /Triton needs a model directory/,
    );
  });

  it.each([
    ['model.joblib', 'mlserver_sklearn.SKLearnModel'],
    ['classifier.pkl', 'mlserver_sklearn.SKLearnModel'],
    ['model.bst', 'mlserver_xgboost.XGBoostModel'],
    ['model.ubj', 'mlserver_xgboost.XGBoostModel'],
    ['model.txt', 'mlserver_lightgbm.LightGBMModel'],
  ])('MLServer: a single %s gets model-settings.json for %s', (file, implementation) => {
    const { extraFiles } = arrangeModel([file], 'mlserver', 'iris', '2');
    expect(JSON.parse(extraFiles['model-settings.json']!)).toEqual({
      name: 'iris',
      implementation,
      parameters: { uri: `./${file}`, version: '2' },
    });
  });

  it('MLServer: an upload with its own settings keeps them, named after the endpoint model', () => {
    expect(arrangeModel(['model-settings.json', 'model.joblib'], 'mlserver', 'iris', '2').extraFiles).toEqual(
      {},
    );
    const renamed = renamedMlserverSettings('{"name":"other","implementation":"custom.Model"}', 'iris');
    expect(JSON.parse(renamed)).toEqual({ name: 'iris', implementation: 'custom.Model' });
    expect(() => renamedMlserverSettings('[1]', 'iris')).toThrow(
      'model-settings.json must hold a JSON object',
    );
  });

  it('MLServer: no model file, or several, is refused with what to upload', () => {
    expect(() => arrangeModel(['readme.md'], 'mlserver', 'iris', '2')).toThrow(
      /MLServer needs model-settings.json or one model file/,
    );
    expect(() => arrangeModel(['a.joblib', 'b.pkl'], 'mlserver', 'iris', '2')).toThrow(
      'MLServer found several model files (a.joblib, b.pkl): add a model-settings.json naming one',
    );
  });

  it('files: anything goes, but an empty version is refused', () => {
    expect(arrangeModel(['weights.bin'], 'files', 'm', '1')).toEqual({ root: '', extraFiles: {} });
    expect(() => arrangeModel(['empty/'], 'files', 'm', '1')).toThrow('the model version contains no files');
  });
});
