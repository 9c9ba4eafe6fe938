// The performance part of a drift check: read the Model's prediction log for
// the window [now - labelDelay - window, now - labelDelay), take the
// prediction from each logged request, join the labels that arrived by
// request id, and compute the task's metrics and the serving version's
// baseline. What the inputs got wrong (unreadable label files or log
// objects, labels for unknown ids, duplicate ids, conflicting labels,
// unusable rows) is counted in the figures and worded for the condition;
// only a store that cannot be listed at all fails the part. Never throws.
import type { Logger } from 'pino';
import { parseDuration, type Model, type PerformanceSpec } from '../api/index.js';
import { LABELS_CREDENTIALS_PREFIX } from '../controllers/drift-monitor/check-credentials.js';
import { joinLabels, readLabels, readLogWindow, toRowTable } from '../predictions/index.js';
import { kubeTime } from '../runtime/conditions.js';
import { s3OptionsFromPrefixedEnv, type S3Options } from '../storage/index.js';
import { computePerformance } from './performance-metrics.js';
import { servingBaseline, type InputNote, type PerformanceEvaluation, type PerformanceFigures } from './performance-status.js';

/** The column the prediction is read into (any name would do: it is not a feature). */
const PREDICTION_COLUMN = '__prediction';

export interface PerformanceCheckOptions {
  spec: PerformanceSpec;
  model: Model;
  now: Date;
  /** Where the labels' prefixed credentials are read from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** S3 settings of the prediction log (the check passes the FLUXORA_PREDICTION_LOG_* ones); default: the process's AWS_*. */
  logS3?: S3Options;
  logger?: Logger;
}

/** The judged window: it ends labelDelay before the check and lasts `window`. */
export function performanceWindow(spec: Pick<PerformanceSpec, 'window' | 'labelDelay'>, now: Date): { from: Date; to: Date } {
  const to = new Date(now.getTime() - parseDuration(spec.labelDelay));
  return { from: new Date(to.getTime() - parseDuration(spec.window)), to };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export async function evaluatePerformance(o: PerformanceCheckOptions): Promise<PerformanceEvaluation> {
  try {
    return await evaluate(o);
  } catch (e) {
    // A bug or an input nothing above foresaw: the drift part's verdict still stands.
    o.logger?.error({ err: e }, 'performance check failed');
    return { kind: 'failed', reason: 'PerformanceCheckFailed', message: (e as Error).message };
  }
}

async function evaluate(o: PerformanceCheckOptions): Promise<PerformanceEvaluation> {
  const { spec, model, now } = o;
  const env = o.env ?? process.env;
  const log = model.spec.serving?.predictionLog;
  if (!log) {
    return {
      kind: 'failed',
      reason: 'PredictionLogNotConfigured',
      message: `Model "${model.metadata.name}" has no spec.serving.predictionLog, so there are no logged predictions to judge against labels`,
    };
  }
  const { from, to } = performanceWindow(spec, now);

  let window;
  try {
    window = await readLogWindow({ prefix: log.uri, model: model.metadata.name, from, to, ...(o.logS3 ? { s3: o.logS3 } : {}) });
  } catch (e) {
    return { kind: 'failed', reason: 'PredictionLogUnreadable', message: `the prediction log ${log.uri} could not be listed: ${(e as Error).message}` };
  }
  const outputs = new Map([[PREDICTION_COLUMN, { output: spec.prediction.output, index: spec.prediction.index, type: 'numeric' as const }]]);
  const table = toRowTable(window.records, { outputs });
  // The records are no longer needed: only ids and predictions are (the log of a window can be large).
  window.records.length = 0;

  let labels;
  try {
    // Labels for predictions of the window can only have been written after it began.
    labels = await readLabels({ uri: spec.labels.uri, idColumn: spec.labels.idColumn, labelColumn: spec.labels.labelColumn, modifiedSince: from, s3: s3OptionsFromPrefixedEnv(LABELS_CREDENTIALS_PREFIX, env) });
  } catch (e) {
    return { kind: 'failed', reason: 'LabelsUnreadable', message: `the labels at ${spec.labels.uri} could not be listed: ${(e as Error).message}` };
  }
  const join = joinLabels(table.ids, labels.byId);
  const predictions = table.columns[PREDICTION_COLUMN] as Float64Array;
  const joined = new Float64Array(join.rows.length);
  for (let i = 0; i < join.rows.length; i++) joined[i] = predictions[join.rows[i]!]!;
  const perf = computePerformance({ task: spec.task, predictions: joined, labels: join.labels, threshold: spec.threshold, ...(spec.positiveLabel !== undefined ? { positiveLabel: spec.positiveLabel } : {}) });

  const notes: InputNote[] = [];
  const labelFiles = labels.problems.summary('label file(s)');
  if (labelFiles) notes.push(labelFiles);
  const logProblems = window.problems.summary('log object(s) or line(s)');
  if (logProblems) notes.push(logProblems);
  const requests = table.problems.summary(`logged request(s) without output "${spec.prediction.output}"[${spec.prediction.index}]`);
  if (requests) notes.push(requests);
  if (join.unmatchedLabels) notes.push(`${plural(join.unmatchedLabels, 'label')} matched no prediction of the window (unknown ids, or predictions outside it)`);
  if (join.duplicateIds) notes.push(`${plural(join.duplicateIds, 'prediction')} repeated an id logged later in the window (only the latest is judged)`);
  if (labels.conflicting) notes.push(`${plural(labels.conflicting, 'label row')} gave an id another value than an earlier one (the latest file wins)`);
  if (labels.incomplete) notes.push(`${plural(labels.incomplete, 'label row')} had no id or no value`);
  if (perf.badPredictions) notes.push(`${plural(perf.badPredictions, 'labelled prediction')} left out: the output is missing or not a number`);
  if (perf.badLabels) {
    const need = spec.task === 'Regression' ? 'a number' : spec.positiveLabel === undefined ? 'a class (0/1 or true/false; set performance.positiveLabel for named classes)' : 'a class';
    notes.push(`${plural(perf.badLabels, 'label')} left out: not ${need}, e.g. ${JSON.stringify(perf.badLabelExample)}`);
  }

  const baseline = spec.trigger ? servingBaseline(model, spec.trigger.metric) : undefined;
  const figures: PerformanceFigures = {
    checkTime: kubeTime(now),
    windowStart: kubeTime(from),
    windowEnd: kubeTime(to),
    predictions: join.predictions,
    labelled: perf.used,
    coverage: join.coverage,
    duplicateIds: join.duplicateIds,
    unmatchedLabels: join.unmatchedLabels,
    conflictingLabels: labels.conflicting,
    excludedRows: perf.badPredictions + perf.badLabels,
    labelFiles: labels.files,
    skippedLabelFiles: labels.problems.count,
    incompleteLabels: labels.incomplete,
    skippedRecords: window.problems.count + table.problems.count,
    metrics: perf.metrics,
    ...(perf.unavailable.length ? { unavailableMetrics: perf.unavailable } : {}),
    ...(baseline ? { baseline } : {}),
  };
  o.logger?.info(
    { predictions: figures.predictions, labelled: figures.labelled, coverage: figures.coverage, metrics: figures.metrics, logObjects: window.objects, labelFiles: labels.files },
    'performance figures',
  );
  return { kind: 'figures', figures, notes };
}
