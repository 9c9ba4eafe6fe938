// Current data from the prediction log (current.source: PredictionLog): the
// requests the Model's serving pods logged within the window before the
// check, newest maxSamples rows, as feature and output columns.
//
// Damaged objects and lines, and requests that do not hold the features or an
// output (another version's inputs, a mistyped output name), are skipped and
// reported, never fatal: one bad object must not blind a monitor to the rest.
// Only a store that cannot be listed (unreachable, access denied) fails the
// check, since then nothing at all is known about the window.
import { DEFAULT_LOG_WINDOW, parseDuration, type DriftMonitor, type Model } from '../api/index.js';
import { predictionLogCredentials } from '../controllers/model/children.js';
import { readLogWindow, toRowTable, type ProblemList } from '../predictions/index.js';
import type { S3Options } from '../storage/index.js';
import { CheckError, type CheckedColumns } from './check-data.js';
import type { Table } from './types.js';

export interface LogCurrent {
  columns: Table;
  rows: number;
  /** The window read, for messages ("24h"). */
  window: string;
  prefix: string;
  objects: number;
  /** What was skipped and why, for a condition message; '' when nothing was. */
  skipped: string;
  /** Skipped objects, lines and requests. */
  skippedCount: number;
}

export interface ReadLogCurrentOptions {
  monitor: DriftMonitor;
  model: Model;
  columns: CheckedColumns;
  now: Date;
  /** The log's S3 settings (the check pod's FLUXORA_PREDICTION_LOG_* variables). */
  s3?: S3Options;
}

const summaries = (...lists: ProblemList[]) =>
  lists
    .map((p, i) => p.summary(i === 0 ? 'log objects or lines' : 'logged requests'))
    .filter(Boolean)
    .join('; ');

/** Which credentials the check pod reads the log with (as the operator gave them), so a refusal points at the right Secret. */
function readWith(model: Model): string {
  const secrets = predictionLogCredentials(model, { podHasArtifactCredentials: false })
    .reverse()
    .map((c) => `Secret "${c.secretName}" (${c.field})`);
  return secrets.length
    ? `the check reads the log with ${secrets.join(', falling back to ')}`
    : "the check reads the log with its own AWS_* settings (the reference's): the Model names no Secret for its log or artifact";
}

export async function readLogCurrent(o: ReadLogCurrentOptions): Promise<LogCurrent> {
  const modelName = o.model.metadata.name;
  const log = o.model.spec.serving?.predictionLog;
  if (!log) {
    throw new CheckError(
      'PredictionLogNotConfigured',
      `current.source is PredictionLog, but Model "${modelName}" has no prediction log: set spec.serving.predictionLog.uri on the Model ` +
        '(its serving pods then log every request there), or use current.source: Serving',
    );
  }
  const window = o.monitor.spec.current.window ?? DEFAULT_LOG_WINDOW;
  const from = new Date(o.now.getTime() - parseDuration(window));
  let read;
  try {
    read = await readLogWindow({ prefix: log.uri, model: modelName, from, to: o.now, maxRows: o.monitor.spec.current.maxSamples, ...(o.s3 ? { s3: o.s3 } : {}) });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new CheckError('PredictionLogUnreadable', `prediction log ${log.uri} (spec.serving.predictionLog.uri of Model "${modelName}"): ${message}; ${readWith(o.model)}`);
  }
  const outputs = new Map(o.columns.outputs.map((c) => [c.name, { output: c.output, index: c.index, type: c.type }]));
  const table = toRowTable(read.records, { features: o.columns.features.map((f) => ({ name: f.name, type: f.type })), outputs });
  return {
    columns: table.columns,
    rows: table.rows,
    window,
    prefix: log.uri,
    objects: read.objects,
    skipped: summaries(read.problems, table.problems),
    skippedCount: read.problems.count + table.problems.count,
  };
}
