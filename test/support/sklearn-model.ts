import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { assetPath, provisionAssets } from '../../src/testenv/provision.ts';

/** A trained model on disk and what it predicts for a few inputs. */
export interface TrainedModel {
  /** The joblib file MLServer's scikit-learn runtime loads. */
  path: string;
  /** Four features per row (iris: sepal and petal length and width, in cm). */
  inputs: number[][];
  /** The class the model predicts for each input. */
  predictions: number[];
}

const script = fileURLToPath(new URL('./train_sklearn_model.py', import.meta.url));

/**
 * Trains a tiny real scikit-learn classifier into `output` (a `.joblib` file) with the provisioned, cached
 * venv (scripts/testenv/provision.sh sklearn), so end-to-end tests upload and serve a real model. With
 * `rotateLabels` every class is learnt as the next one: another version that answers differently.
 */
export async function trainSklearnModel(
  output: string,
  options: { rotateLabels?: boolean } = {},
): Promise<TrainedModel> {
  const python = assetPath(await provisionAssets(['sklearn']), 'sklearn-python');
  const args = [script, output, ...(options.rotateLabels ? ['--rotate-labels'] : [])];
  const { stdout } = await promisify(execFile)(python, args, { timeout: 120_000 });
  const result = JSON.parse(stdout) as { inputs: number[][]; predictions: number[] };
  return { path: output, ...result };
}
