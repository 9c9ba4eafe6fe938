// The realized performance of labelled predictions: accuracy, ROC AUC, F1
// and log loss for a binary classifier; RMSE, MAE and R² for a regression.
// Pure logic, no I/O.
//
// Numbers follow scikit-learn's definitions (accuracy_score, roc_auc_score,
// f1_score, log_loss, root_mean_squared_error, mean_absolute_error,
// r2_score), so they agree with what data scientists compute on the same
// rows: checked against scikit-learn 1.9 in performance-metrics.test.ts. Where
// scikit-learn refuses or answers NaN (AUC with one class, log loss of scores
// that are no probabilities, R² of one row) the metric is reported
// unavailable with the reason, never as NaN.
import type { PerformanceMetric, PerformanceTask } from '../api/index.js';
import type { LabelValue } from '../predictions/index.js';
import { parseNumberCell } from '../table/index.js';
import { regressionMetrics as trainerRegressionMetrics, rocAuc } from '../training/metrics.js';

export interface MetricResult {
  metrics: Partial<Record<PerformanceMetric, number>>;
  unavailable: { metric: PerformanceMetric; reason: string }[];
}

/**
 * scikit-learn's log_loss clips probabilities to [eps, 1 - eps] with eps the
 * machine epsilon of float64 (np.finfo(np.float64).eps), so a confident
 * mistake costs about 36, not infinity.
 */
export const LOG_LOSS_EPS = Number.EPSILON;

export { rocAuc };

/** Binary metrics of classes y (1 = positive) and scores: the positive class is predicted at or above `threshold`. */
export function binaryMetrics(y: Uint8Array, score: Float64Array, threshold: number): MetricResult {
  const n = y.length;
  const out: MetricResult = { metrics: {}, unavailable: [] };
  if (n === 0) {
    for (const metric of ['accuracy', 'auc', 'f1', 'logLoss'] as const) out.unavailable.push({ metric, reason: 'no labelled rows' });
    return out;
  }
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let correct = 0;
  let logLoss = 0;
  let probabilities = true;
  for (let i = 0; i < n; i++) {
    const s = score[i]!;
    const positive = y[i] === 1;
    const predicted = s >= threshold;
    if (predicted === positive) correct++;
    if (predicted && positive) tp++;
    else if (predicted) fp++;
    else if (positive) fn++;
    if (s < 0 || s > 1) probabilities = false;
    const p = Math.min(Math.max(s, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    logLoss -= positive ? Math.log(p) : Math.log(1 - p);
  }
  out.metrics.accuracy = correct / n;
  const auc = rocAuc(y, score);
  if (auc !== undefined) out.metrics.auc = auc;
  else out.unavailable.push({ metric: 'auc', reason: `all ${n} labelled rows are of one class (${tp + fn > 0 ? 'positive' : 'negative'}): AUC needs both` });
  // F1 of the positive class; with no positive predicted nor labelled, scikit-learn's zero_division gives 0.
  out.metrics.f1 = 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : 0;
  if (probabilities) out.metrics.logLoss = logLoss / n;
  else out.unavailable.push({ metric: 'logLoss', reason: 'some predictions are outside [0, 1], so they are not probabilities' });
  return out;
}

/** Regression metrics of true values y and predictions. */
export function regressionMetrics(y: Float64Array, pred: Float64Array): MetricResult {
  const n = y.length;
  const out: MetricResult = { metrics: {}, unavailable: [] };
  if (n === 0) {
    for (const metric of ['rmse', 'mae', 'r2'] as const) out.unavailable.push({ metric, reason: 'no labelled rows' });
    return out;
  }
  const { rmse, mae, r2 } = trainerRegressionMetrics(y, pred);
  out.metrics.rmse = rmse;
  out.metrics.mae = mae;
  if (n < 2) out.unavailable.push({ metric: 'r2', reason: 'R² needs at least 2 labelled rows' });
  // A constant target: scikit-learn's force_finite gives 1 for a perfect fit, 0 otherwise (as the trainer's).
  else out.metrics.r2 = r2;
  return out;
}

/**
 * A label as a class: 1 positive, 0 negative, undefined when it cannot be
 * read as one. With positiveLabel, that value is positive and every other
 * value negative; without, only 0/1 and true/false are classes.
 */
export function binaryClassOf(label: LabelValue, positiveLabel: string | undefined): 0 | 1 | undefined {
  if (positiveLabel !== undefined) return String(label) === positiveLabel ? 1 : 0;
  if (typeof label === 'number') return label === 1 ? 1 : label === 0 ? 0 : undefined;
  const t = label.trim().toLowerCase();
  if (t === '1' || t === 'true') return 1;
  if (t === '0' || t === 'false') return 0;
  return undefined;
}

export interface PerformanceInput {
  task: PerformanceTask;
  /** The prediction of each joined row: a score of the positive class, or the predicted value. */
  predictions: ArrayLike<number>;
  /** The label of each joined row, aligned with predictions. */
  labels: readonly LabelValue[];
  threshold: number;
  positiveLabel?: string;
}

export interface PerformanceFigures extends MetricResult {
  /** Rows the metrics were computed on. */
  used: number;
  /** Rows left out: the prediction missing or not a finite number. */
  badPredictions: number;
  /** Rows left out: the label not readable as the task needs. */
  badLabels: number;
  /** One label that could not be read, to name in a message. */
  badLabelExample?: LabelValue;
}

/** The task's metrics over the rows whose prediction and label are both usable; the others are counted. */
export function computePerformance(o: PerformanceInput): PerformanceFigures {
  const n = o.labels.length;
  const classification = o.task === 'BinaryClassification';
  const yClass = new Uint8Array(n);
  const yValue = new Float64Array(n);
  const pred = new Float64Array(n);
  let used = 0;
  let badPredictions = 0;
  let badLabels = 0;
  let badLabelExample: LabelValue | undefined;
  for (let i = 0; i < n; i++) {
    const p = o.predictions[i]!;
    if (!Number.isFinite(p)) {
      badPredictions++;
      continue;
    }
    const label = o.labels[i]!;
    if (classification) {
      const c = binaryClassOf(label, o.positiveLabel);
      if (c === undefined) {
        badLabels++;
        badLabelExample ??= label;
        continue;
      }
      yClass[used] = c;
    } else {
      // A file whose label column holds one word is read as text throughout: its numbers still count.
      const v = typeof label === 'number' ? label : (parseNumberCell(label) ?? Number.NaN);
      if (!Number.isFinite(v)) {
        badLabels++;
        badLabelExample ??= label;
        continue;
      }
      yValue[used] = v;
    }
    pred[used++] = p;
  }
  const result = classification
    ? binaryMetrics(yClass.subarray(0, used), pred.subarray(0, used), o.threshold)
    : regressionMetrics(yValue.subarray(0, used), pred.subarray(0, used));
  return { ...result, used, badPredictions, badLabels, ...(badLabelExample !== undefined ? { badLabelExample } : {}) };
}
