// One built-in training run: load, split, fit, export, score the exported
// artifact (and the served one) on the holdout, and produce the two files of
// the trainer contract. Pure of side effects other than reading storage; the
// CLI writes the result.
import { randomInt } from 'node:crypto';
import { readObject, type CommonOptions } from '../storage/index.js';
import type { TrainConfig } from './config.js';
import { loadNumericTable, matrix, pick, type NumericTable } from './dataset.js';
import { TrainingError } from './errors.js';
import { fitLinearRegression } from './linear.js';
import { fitLogisticRegression } from './logistic.js';
import { evaluate, type MetricValues } from './metrics.js';
import { fitMlp } from './mlp.js';
import { predict, type Task, type TrainedModel } from './model.js';
import { exportOnnx } from './onnx-export.js';
import { scoreOnnx, tabularLayout } from './onnx-scoring.js';
import { loadOnnxModel } from '../serving/onnx-model.js';
import { permutation, seededRandom } from './random.js';

/** Fewer usable rows than this cannot give both a fit and a meaningful holdout. */
export const MIN_ROWS = 10;

/** metrics.json: metric name -> number at the top level (what the gate reads), details in nested objects. */
export type MetricsFile = Record<string, unknown>;

export interface TrainResult {
  model: Uint8Array;
  metrics: MetricsFile;
  /** The trainer's own (float64) predictions and onnxruntime's on the holdout, for the consistency check. */
  holdout: { own: Float64Array; onnx: Float64Array };
}

function taskOf(algorithm: TrainConfig['builtin']['algorithm'], y: Float64Array, target: string): Task {
  const binary = y.every((v) => v === 0 || v === 1);
  if (algorithm === 'linear') return 'regression';
  if (algorithm === 'logistic') {
    if (!binary) {
      const bad = y.find((v) => v !== 0 && v !== 1);
      throw new TrainingError(`target "${target}" must be 0 or 1 for logistic regression; found ${bad}`);
    }
    return 'classification';
  }
  return binary ? 'classification' : 'regression';
}

function fit(config: TrainConfig, task: Task, x: Float64Array, y: Float64Array, rows: number, d: number, seed: number): TrainedModel {
  switch (config.builtin.algorithm) {
    case 'linear':
      return fitLinearRegression(x, y, rows, d);
    case 'logistic':
      return fitLogisticRegression(x, y, rows, d);
    case 'mlp':
      // Its own stream of the seed, so initialisation does not depend on how the split consumed it.
      return fitMlp(x, y, rows, d, task, seededRandom(seed ^ 0x5bd1e995));
  }
}

/** Input/output names for the new model: the served model's when it has the same layout, so clients keep working after promotion. */
async function namesFromServing(serving: Uint8Array | undefined, width: number, task: Task) {
  const fallback = { inputName: 'x', outputName: task === 'classification' ? 'probability' : 'y' };
  if (!serving) return fallback;
  try {
    const m = await loadOnnxModel(serving);
    try {
      const l = tabularLayout(m.signature, width);
      return m.signature.outputs.length === 1 ? l : { ...fallback, inputName: l.inputName };
    } finally {
      await m.release();
    }
  } catch {
    return fallback;
  }
}

export async function train(config: TrainConfig, storage: CommonOptions = {}): Promise<TrainResult> {
  const { builtin } = config;
  const features = builtin.features ?? config.modelFeatures.map((f) => f.name);
  if (features.length === 0) throw new TrainingError("no features: set trainer.builtin.features or the Model's spec.features");
  const categorical = features.filter((f) => config.modelFeatures.find((m) => m.name === f)?.type === 'categorical');
  if (categorical.length) {
    throw new TrainingError(
      `the built-in trainer takes numeric features only; ${categorical.join(', ')} ${categorical.length > 1 ? 'are' : 'is'} categorical (encode them, or use a container trainer)`,
    );
  }
  if (features.includes(builtin.target)) throw new TrainingError(`the target "${builtin.target}" is also listed as a feature`);

  // The served model takes the Model's features (in its order); evaluate it on those.
  const servingFeatures = config.modelFeatures.length && config.modelFeatures.every((f) => f.type === 'numeric') ? config.modelFeatures.map((f) => f.name) : features;
  const columns = [...new Set([...features, ...(config.servingUri ? servingFeatures : []), builtin.target])];
  const table: NumericTable = await loadNumericTable(config.datasetUri, columns, storage);
  if (table.rows < MIN_ROWS) {
    throw new TrainingError(
      `${config.datasetUri}: ${table.rows} usable rows (with ${columns.map((c) => `"${c}"`).join(', ')} all present); at least ${MIN_ROWS} are needed` +
        (table.dropped ? ` (${table.dropped} rows had missing values)` : ''),
    );
  }
  const yAll = table.columns.get(builtin.target)!;
  const task = taskOf(builtin.algorithm, yAll, builtin.target);

  const seed = builtin.seed ?? randomInt(0, 2 ** 31 - 1);
  const order = permutation(table.rows, seededRandom(seed));
  const validationRows = Math.min(Math.max(1, Math.round(table.rows * builtin.validationSplit)), table.rows - 2);
  const valIdx = order.subarray(0, validationRows);
  const trainIdx = order.subarray(validationRows);
  const d = features.length;

  const model = fit(config, task, matrix(table, features, trainIdx), pick(yAll, trainIdx), trainIdx.length, d, seed);

  const servingBytes = config.servingUri ? await readObject(config.servingUri, storage).catch((e: unknown) => e as Error) : undefined;
  const names = await namesFromServing(servingBytes instanceof Uint8Array ? servingBytes : undefined, d, task);
  const bytes = exportOnnx(model, {
    ...names,
    docString: `fluxora train: ${builtin.algorithm} on ${features.join(', ')} -> ${builtin.target}`,
    metadata: {
      'fluxora.features': JSON.stringify(features),
      'fluxora.target': builtin.target,
      'fluxora.algorithm': builtin.algorithm,
      'fluxora.seed': String(seed),
      'fluxora.dataset.sha256': table.sha256,
      ...(config.modelName ? { 'fluxora.model': config.modelName } : {}),
    },
  });

  const xVal = matrix(table, features, valIdx);
  const yVal = pick(yAll, valIdx);
  const own = predict(model, xVal, validationRows);
  const onnx = (await scoreOnnx(bytes, xVal, validationRows, d)).predictions;
  checkAgreement(own, onnx);

  let serving: MetricValues | undefined;
  let servingError: string | undefined;
  if (servingBytes instanceof Error) servingError = `cannot read the served model: ${servingBytes.message}`;
  else if (servingBytes) {
    try {
      const xs = matrix(table, servingFeatures, valIdx);
      serving = evaluate(task, yVal, (await scoreOnnx(servingBytes, xs, validationRows, servingFeatures.length)).predictions);
    } catch (e) {
      servingError = `cannot evaluate the served model: ${(e as Error).message}`;
    }
  }

  const metrics: MetricsFile = {
    ...evaluate(task, yVal, onnx),
    ...(serving ? { serving } : {}),
    ...(servingError ? { servingError } : {}),
    algorithm: builtin.algorithm,
    task,
    target: builtin.target,
    features,
    // Nested, like the row counts: every top-level number is read as a metric by the gate and shown in status.
    split: { seed, validationSplit: builtin.validationSplit },
    dataset: {
      uri: config.datasetUri,
      sha256: table.sha256,
      rows: table.rows + table.dropped,
      droppedRows: table.dropped,
      trainRows: trainIdx.length,
      validationRows,
    },
  };
  return { model: bytes, metrics, holdout: { own, onnx } };
}

/**
 * The exported FP32 model must predict what the float64 trainer predicts, up
 * to FP32 rounding; anything more is a bug in the export, and shipping it
 * would serve something other than what was evaluated.
 */
function checkAgreement(own: Float64Array, onnx: Float64Array): void {
  for (let i = 0; i < own.length; i++) {
    const tol = 1e-4 * Math.max(1, Math.abs(own[i]!));
    if (!(Math.abs(own[i]! - onnx[i]!) <= tol)) {
      throw new Error(`exported model disagrees with the trainer on holdout row ${i}: ${onnx[i]} vs ${own[i]}`);
    }
  }
}
