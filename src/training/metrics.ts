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

/** Area under the ROC curve by the rank-sum statistic (ties count half); undefined with one class only. */
export function rocAuc(y: Float64Array, score: ArrayLike<number>): number | undefined {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a]! - score[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && score[order[j + 1]!] === score[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[order[k]!] === 1) {
        positives++;
        rankSum += avgRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return undefined;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
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
