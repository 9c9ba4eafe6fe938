// A trained model in the form the exporter writes and the trainer predicts
// with: weights already on raw (unscaled) inputs, float64.

export type Task = 'regression' | 'classification';

export interface LinearParams {
  kind: 'linear';
  task: Task;
  /** One weight per input column. */
  w: Float64Array;
  b: number;
}

export interface MlpParams {
  kind: 'mlp';
  task: Task;
  /** inputs x hidden, row-major. */
  w1: Float64Array;
  b1: Float64Array;
  /** One output weight per hidden unit. */
  w2: Float64Array;
  b2: number;
}

export type TrainedModel = LinearParams | MlpParams;

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Predictions for row-major x (rows x d): values for regression, positive-class probabilities for classification. */
export function predict(m: TrainedModel, x: Float64Array, rows: number): Float64Array {
  const d = m.kind === 'linear' ? m.w.length : m.w1.length / m.b1.length;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let z: number;
    if (m.kind === 'linear') {
      z = m.b;
      for (let j = 0; j < d; j++) z += x[i * d + j]! * m.w[j]!;
    } else {
      const h = m.b1.length;
      z = m.b2;
      for (let u = 0; u < h; u++) {
        let a = m.b1[u]!;
        for (let j = 0; j < d; j++) a += x[i * d + j]! * m.w1[j * h + u]!;
        z += Math.tanh(a) * m.w2[u]!;
      }
    }
    out[i] = m.task === 'classification' ? sigmoid(z) : z;
  }
  return out;
}
