// Evaluation metrics on the holdout, named as the acceptance gate knows them
// (src/api/retrain-job.ts ACCEPTANCE_METRICS), with scikit-learn's
// definitions so numbers agree with what data scientists compute.
import type { Task } from './model.js';

export type MetricValues = Record<string, number>;

export function regressionMetrics(y: Float64Array, pred: ArrayLike<number>): MetricValues {
  const n = y.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean /= n;
  let sse = 0;
  let sae = 0;
  let sst = 0;
  for (let i = 0; i < n; i++) {
    const e = y[i]! - pred[i]!;
    sse += e * e;
    sae += Math.abs(e);
    sst += (y[i]! - mean) ** 2;
  }
  const mse = sse / n;
  // r2 of a constant target is undefined; scikit-learn reports 1 for a perfect fit, 0 otherwise.
  const r2 = sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0;
  return { rmse: Math.sqrt(mse), mse, mae: sae / n, r2 };
}

/**
 * ROC AUC by the Mann-Whitney statistic: the share of (positive, negative)
 * pairs the score orders correctly, a tie counting half; equal to
 * roc_auc_score's trapezoidal area. Both classes' scores are sorted once
 * (native typed-array sorts, O(n log n)) and merged. `y[i] === 1` is the
 * positive class. Undefined with one class only. The trainer's holdout and
 * the drift check's realized performance both use it.
 */
export function rocAuc(y: ArrayLike<number>, score: ArrayLike<number>): number | undefined {
  let positives = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) positives++;
  const negatives = y.length - positives;
  if (positives === 0 || negatives === 0) return undefined;
  const pos = new Float64Array(positives);
  const neg = new Float64Array(negatives);
  for (let i = 0, p = 0, q = 0; i < y.length; i++) {
    if (y[i] === 1) pos[p++] = score[i]!;
    else neg[q++] = score[i]!;
  }
  pos.sort();
  neg.sort();
  // below: negatives scored under the current positive; upTo: those scored under or equal.
  let below = 0;
  let upTo = 0;
  let pairs = 0;
  for (let k = 0; k < positives; k++) {
    const s = pos[k]!;
    while (below < negatives && neg[below]! < s) below++;
    if (upTo < below) upTo = below;
    while (upTo < negatives && neg[upTo]! <= s) upTo++;
    pairs += below + (upTo - below) / 2;
  }
  return pairs / positives / negatives;
}

export function classificationMetrics(y: Float64Array, prob: ArrayLike<number>): MetricValues {
  const n = y.length;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let correct = 0;
  let logloss = 0;
  const eps = 1e-15; // scikit-learn's clipping
  for (let i = 0; i < n; i++) {
    const p = Math.min(Math.max(prob[i]!, eps), 1 - eps);
    const positive = y[i] === 1;
    const predicted = prob[i]! >= 0.5;
    if (predicted === positive) correct++;
    if (predicted && positive) tp++;
    if (predicted && !positive) fp++;
    if (!predicted && positive) fn++;
    logloss -= positive ? Math.log(p) : Math.log(1 - p);
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  const auc = rocAuc(y, prob);
  return { accuracy: correct / n, ...(auc !== undefined ? { auc } : {}), logloss: logloss / n, precision, recall, f1 };
}

export const evaluate = (task: Task, y: Float64Array, pred: ArrayLike<number>): MetricValues =>
  task === 'classification' ? classificationMetrics(y, pred) : regressionMetrics(y, pred);
