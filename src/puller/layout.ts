/**
 * What each runtime expects in its model directory, as pure checks over the unpacked tree (relative paths,
 * directories ending in `/`). The puller calls {@link arrangeModel} after unpacking; a `PullError` message is
 * what the endpoint's status shows, so it says what is missing and how the upload should look.
 */
import type { ServingRuntime } from '../domain/index.ts';

/** The layouts a ServingRuntime can ask for (`spec.modelPath.layout`). */
export type ModelLayout = NonNullable<ServingRuntime['spec']['modelPath']['layout']>;

export const MODEL_LAYOUTS: readonly ModelLayout[] = [
  'tensorflow-saved-model',
  'openvino',
  'triton-model',
  'mlserver',
  'files',
];

/** A failure the puller reports as the init container's termination message. */
export class PullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PullError';
  }
}

/** The result of arranging: files to add (relative path → content) next to the unpacked ones. */
export interface Arrangement {
  /** A single wrapping directory to descend into first (`resnet/` when the archive held `resnet/…`). */
  root: string;
  extraFiles: Record<string, string>;
}

/** MLServer inference runtimes by the model file's extension (their documented well-known file names). */
const MLSERVER_IMPLEMENTATIONS: { extensions: string[]; implementation: string }[] = [
  { extensions: ['.joblib', '.pkl', '.pickle'], implementation: 'mlserver_sklearn.SKLearnModel' },
  { extensions: ['.bst', '.ubj', '.json'], implementation: 'mlserver_xgboost.XGBoostModel' },
  { extensions: ['.txt'], implementation: 'mlserver_lightgbm.LightGBMModel' },
];

/**
 * Where the model is inside the unpacked tree: archives made with `tar czf m.tgz resnet/` wrap everything in
 * one directory, which is descended into. A Triton version directory (`1/`) is a meaningful top level, not a
 * wrapper.
 */
function wrapperDirectory(paths: string[], layout: ModelLayout): string {
  const tops = new Set(paths.map((path) => path.split('/')[0]! + (path.includes('/') ? '/' : '')));
  if (tops.size !== 1) return '';
  const [top] = [...tops];
  if (!top!.endsWith('/')) return '';
  if (layout === 'triton-model' && /^\d+\/$/.test(top!)) return '';
  return top!;
}

function under(paths: string[], root: string): string[] {
  return paths
    .filter((path) => path.startsWith(root) && path !== root)
    .map((path) => path.slice(root.length));
}

function hasFile(paths: string[], name: string): boolean {
  return paths.includes(name);
}

/**
 * Checks the tree against the layout and says what to add. `paths` are relative, `/`-separated, directories
 * with a trailing `/`; `model` and `version` are the endpoint's.
 */
export function arrangeModel(
  paths: string[],
  layout: ModelLayout,
  model: string,
  version: string,
): Arrangement {
  const root = wrapperDirectory(paths, layout);
  const tree = under(paths, root);
  const files = tree.filter((path) => !path.endsWith('/'));
  if (files.length === 0) throw new PullError('the model version contains no files');
  switch (layout) {
    case 'files':
      return { root, extraFiles: {} };
    case 'tensorflow-saved-model':
      if (!hasFile(tree, 'saved_model.pb')) {
        throw new PullError(
          'TensorFlow Serving needs a SavedModel: upload an archive with saved_model.pb (and variables/) at its top',
        );
      }
      return { root, extraFiles: {} };
    case 'openvino': {
      const top = files.filter((path) => !path.includes('/'));
      const ir = top.some((f) => f.endsWith('.xml')) && top.some((f) => f.endsWith('.bin'));
      if (!ir && !top.some((f) => f.endsWith('.onnx')) && !hasFile(tree, 'saved_model.pb')) {
        throw new PullError(
          'OpenVINO Model Server needs an IR model (.xml and .bin), an .onnx file or a SavedModel at the top of the upload',
        );
      }
      return { root, extraFiles: {} };
    }
    case 'triton-model': {
      const versions = tree.filter((path) => /^\d+\/$/.test(path));
      if (!hasFile(tree, 'config.pbtxt') && versions.length === 0) {
        throw new PullError(
          'Triton needs a model directory: config.pbtxt and numeric version directories (1/model.onnx, …)',
        );
      }
      if (versions.length === 0) {
        throw new PullError(
          'Triton needs at least one numeric version directory (e.g. 1/) next to config.pbtxt',
        );
      }
      return { root, extraFiles: {} };
    }
    case 'mlserver':
      return { root, extraFiles: mlserverSettings(tree, files, model, version) };
  }
}

/**
 * MLServer serves the model whose directory holds `model-settings.json`. An upload with its own settings keeps
 * them, but the name must be the endpoint's model (clients call `/v2/models/<model>`); a single model file gets
 * settings naming the runtime its extension implies.
 */
function mlserverSettings(
  tree: string[],
  files: string[],
  model: string,
  version: string,
): Record<string, string> {
  if (hasFile(tree, 'model-settings.json')) return {};
  const candidates = files.filter((file) => !file.includes('/'));
  const matches = candidates.flatMap((file) => {
    const runtime = MLSERVER_IMPLEMENTATIONS.find(({ extensions }) =>
      extensions.some((extension) => file.toLowerCase().endsWith(extension)),
    );
    return runtime ? [{ file, implementation: runtime.implementation }] : [];
  });
  if (matches.length !== 1) {
    throw new PullError(
      matches.length === 0
        ? 'MLServer needs model-settings.json or one model file (.joblib/.pkl for scikit-learn, .bst/.ubj/.json for XGBoost, .txt for LightGBM)'
        : `MLServer found several model files (${matches.map((m) => m.file).join(', ')}): add a model-settings.json naming one`,
    );
  }
  const [{ file, implementation }] = matches as [{ file: string; implementation: string }];
  const settings = {
    name: model,
    implementation,
    parameters: { uri: `./${file}`, version },
  };
  return { 'model-settings.json': `${JSON.stringify(settings, null, 2)}\n` };
}

/** Fixes the name in an uploaded model-settings.json to the endpoint's model; anything else stays. */
export function renamedMlserverSettings(text: string, model: string): string {
  let settings: unknown;
  try {
    settings = JSON.parse(text);
  } catch {
    throw new PullError('model-settings.json is not valid JSON');
  }
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw new PullError('model-settings.json must hold a JSON object');
  }
  return `${JSON.stringify({ ...settings, name: model }, null, 2)}\n`;
}
