// A trained model as ONNX, in the serving layout: one FP32 input
// [batch, features] and one FP32 output [batch, 1] holding the prediction
// (regression) or the positive-class probability (classification).
import { buildLinearModel, buildMlpModel } from '../serving/onnx-builder.js';
import type { TrainedModel } from './model.js';

export interface ExportNames {
  inputName: string;
  outputName: string;
  /** Stored as ONNX metadata_props: features, target, algorithm, seed, data hash. */
  metadata: Record<string, string>;
  docString?: string;
}

export function exportOnnx(m: TrainedModel, names: ExportNames): Uint8Array {
  const activation = m.task === 'classification' ? 'sigmoid' : 'none';
  const common = { ...names, activation } as const;
  if (m.kind === 'linear') {
    return buildLinearModel({ ...common, weights: Array.from(m.w, (v) => [v]), bias: [m.b], graphName: m.task === 'classification' ? 'logistic' : 'linear' });
  }
  const h = m.b1.length;
  const d = m.w1.length / h;
  return buildMlpModel({
    ...common,
    w1: Array.from({ length: d }, (_, j) => Array.from(m.w1.subarray(j * h, (j + 1) * h))),
    b1: Array.from(m.b1),
    w2: Array.from(m.w2, (v) => [v]),
    b2: [m.b2],
  });
}
