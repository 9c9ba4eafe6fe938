// Scores rows with an ONNX model in onnxruntime, the runtime `fluxora serve`
// uses: the trainer's metrics are those of the artifact that will be served,
// and the served model is evaluated on the same holdout for the gate.
import { loadOnnxModel } from '../serving/onnx-model.js';
import type { ModelSignature, TensorSpec } from '../serving/model-signature.js';
import { TrainingError } from './errors.js';

const CHUNK_ROWS = 4096;

/** The tensor that carries the prediction: a probability-looking output first, else the first numeric one. */
function predictionOutput(sig: ModelSignature): TensorSpec {
  const numeric = sig.outputs.filter((o) => ['FP32', 'FP64', 'INT64', 'INT32'].includes(o.datatype));
  const chosen = numeric.find((o) => /prob/i.test(o.name)) ?? numeric.find((o) => o.datatype === 'FP32' || o.datatype === 'FP64') ?? numeric[0];
  if (!chosen) throw new TrainingError(`no numeric output among ${sig.outputs.map((o) => `${o.name} (${o.datatype})`).join(', ')}`);
  return chosen;
}

export interface ScoringLayout {
  inputName: string;
  outputName: string;
}

/** The model's single tabular input, if it takes `width` feature columns. */
export function tabularLayout(sig: ModelSignature, width: number): ScoringLayout {
  const [input, ...more] = sig.inputs;
  if (!input || more.length > 0) throw new TrainingError(`the model has ${sig.inputs.length} inputs; a tabular model takes one [batch, features] tensor`);
  if (input.datatype !== 'FP32' && input.datatype !== 'FP64') throw new TrainingError(`input "${input.name}" is ${input.datatype}; a tabular model takes FP32 or FP64`);
  const cols = input.shape[1];
  if (input.shape.length !== 2 || (cols !== -1 && cols !== width)) {
    throw new TrainingError(`input "${input.name}" has shape [${input.shape.join(', ')}]; expected [batch, ${width}] for ${width} features`);
  }
  return { inputName: input.name, outputName: predictionOutput(sig).name };
}

/**
 * Predictions of the model for row-major x (rows x width): the positive-class
 * column for a two-column probability output (scikit-learn style), else the
 * single column.
 */
export async function scoreOnnx(bytes: Uint8Array, x: Float64Array, rows: number, width: number): Promise<{ predictions: Float64Array; layout: ScoringLayout }> {
  let model;
  try {
    model = await loadOnnxModel(bytes);
  } catch (e) {
    throw new TrainingError(`not a loadable ONNX model: ${(e as Error).message}`);
  }
  try {
    const layout = tabularLayout(model.signature, width);
    const fp64 = model.signature.inputs[0]!.datatype === 'FP64';
    const predictions = new Float64Array(rows);
    for (let start = 0; start < rows; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows - start);
      const slice = x.subarray(start * width, (start + n) * width);
      const data = fp64 ? Float64Array.from(slice) : Float32Array.from(slice);
      const out = await model.run(new Map([[layout.inputName, { datatype: fp64 ? 'FP64' : 'FP32', shape: [n, width], data }]]));
      const t = out.get(layout.outputName)!;
      const perRow = t.data.length / n;
      if (!Number.isInteger(perRow) || perRow < 1 || perRow > 2) {
        throw new TrainingError(`output "${layout.outputName}" has ${t.data.length} values for ${n} rows; expected 1 (or 2 class probabilities) per row`);
      }
      for (let i = 0; i < n; i++) predictions[start + i] = Number(t.data[i * perRow + perRow - 1]);
    }
    return { predictions, layout };
  } finally {
    await model.release();
  }
}
