import path from 'node:path';
import { trainSklearnModel } from '../test/support/sklearn-model.ts';

/**
 * `npm run example:model -- <file.joblib>`: a small real scikit-learn classifier (iris) for the quickstart, trained
 * with the project's cached scikit-learn venv, and an input row to send it with what it should answer.
 */
const output = path.resolve(process.argv[2] ?? 'iris.joblib');
const model = await trainSklearnModel(output);
const row = model.inputs[1]!;
process.stdout.write(
  `wrote ${output}\n` +
    `try: --input '${JSON.stringify({ name: 'input-0', datatype: 'FP64', shape: [1, 4], data: row })}'` +
    ` (expect class ${model.predictions[1]})\n`,
);
