// A training data set built from live traffic: the Model's prediction log for
// a fixed window [from, to), turned into feature columns, joined with the
// labels that arrived for those requests, written to the run's prefix as
// dataset.csv (the features in the Model's order, then the label) with
// dataset.json beside it (digest, counts, window, what was skipped). The
// trainer then reads an ordinary file, and the operator records dataset.json
// as the run's lineage.
//
// The same inputs give the same bytes: rows follow the log's order (time, then
// object name, then line), numbers are printed in their shortest round-trip
// form and dataset.json holds no build time. A retried pod finds the data set
// of its window already written (dataset.json, then a dataset.csv with the
// digest it names) and keeps it, so the file a run records is the file its
// trainer read, even when labels kept arriving between two attempts.
import {
  joinLabels,
  readLabels,
  readLogWindow,
  toRowTable,
  type FeatureSpec,
  type LogProblem,
  type ProblemList,
} from '../predictions/index.js';
import { isStorageError, joinUri, readObject, sha256Hex, writeObject, type CommonOptions, type S3Options } from '../storage/index.js';
import { csvNumber, csvRecord, csvText } from '../table/index.js';
import { TrainingError } from './errors.js';

export const DATASET_FILE = 'dataset.csv';
export const MANIFEST_FILE = 'dataset.json';

/**
 * The labels store's credentials reach the step with this envFrom prefix
 * (FLUXORA_LABELS_AWS_ACCESS_KEY_ID, ...), beside the output's AWS_* and the
 * log's FLUXORA_PREDICTION_LOG_AWS_*.
 */
export const LABELS_CREDENTIALS_PREFIX = 'FLUXORA_LABELS_';

export interface LoggedDatasetSpec {
  /** The Model's spec.serving.predictionLog.uri. */
  logUri: string;
  model: string;
  /** The Model's features, in serving order: the first columns of dataset.csv. */
  features: readonly FeatureSpec[];
  /** Requests logged from (inclusive) to (exclusive). */
  from: Date;
  to: Date;
  labels: { uri: string; idColumn: string; labelColumn: string };
  /** Name of the label column in dataset.csv (the built-in trainer's target, else labels.labelColumn). */
  target: string;
  /** Fewest labelled rows worth training on. */
  minRows: number;
  /** The run's prefix (ends in "/"): dataset.csv and dataset.json go under it. */
  outputUri: string;
}

/** Each store's settings; unset means the process's own AWS_* variables. */
export interface LoggedDatasetStores {
  log?: S3Options;
  labels?: S3Options;
  output?: S3Options;
  signal?: AbortSignal;
}

export interface SkippedReport {
  count: number;
  /** The first few, verbatim. */
  first: LogProblem[];
}

/** dataset.json: what the operator records, and what a person reads to see where a version's data came from. */
export interface DatasetManifest {
  uri: string;
  sha256: string;
  /** Data rows of dataset.csv: the labelled prediction rows. */
  rows: number;
  /** Logged prediction rows in the window that hold the features (a request of N rows counts N). */
  predictions: number;
  /** Prediction rows joined with a label (= rows). */
  labelled: number;
  /** labelled / distinct prediction ids. */
  coverage: number;
  /** Prediction rows not used because a later row of the window has the same id. */
  duplicateIds: number;
  /** Labels whose id matches no prediction of the window. */
  unmatchedLabels: number;
  /** Logged requests in the window, and the log objects read for them. */
  requests: number;
  logObjects: number;
  labels: { files: number; rows: number; conflicting: number; incomplete: number };
  /** What could not be used: damaged log objects or lines, requests without the features, unreadable label files. */
  skipped: { log: SkippedReport; requests: SkippedReport; labels: SkippedReport };
  window: { from: string; to: string };
  logUri: string;
  model: string;
  labelsUri: string;
  idColumn: string;
  labelColumn: string;
  /** The header of dataset.csv. */
  columns: string[];
}

/** The window holds fewer labelled rows than minRows; the message has the counts. */
export class DatasetTooSmallError extends TrainingError {
  constructor(
    message: string,
    readonly counts: { labelled: number; predictions: number; minRows: number },
  ) {
    super(message);
    this.name = 'DatasetTooSmallError';
  }
}

const report = (p: ProblemList): SkippedReport => ({ count: p.count, first: p.items.map((i) => ({ ...i })) });

/** The fields that decide the content: a manifest with the same ones describes the data set this spec builds. */
function recipe(m: Pick<DatasetManifest, 'window' | 'logUri' | 'model' | 'labelsUri' | 'idColumn' | 'labelColumn' | 'columns'>): string {
  return JSON.stringify([m.window, m.logUri, m.model, m.labelsUri, m.idColumn, m.labelColumn, m.columns]);
}

const columnsOf = (spec: LoggedDatasetSpec) => [...spec.features.map((f) => f.name), spec.target];
const windowOf = (spec: LoggedDatasetSpec) => ({ from: spec.from.toISOString(), to: spec.to.toISOString() });

/** The data set this spec built on an earlier attempt, when both files are there and agree; else undefined. */
async function earlierBuild(spec: LoggedDatasetSpec, o: CommonOptions): Promise<DatasetManifest | undefined> {
  const read = async (uri: string, maxBytes?: number) => {
    try {
      return await readObject(uri, { ...o, ...(maxBytes ? { maxBytes } : {}) });
    } catch (e) {
      if (isStorageError(e, 'NotFound')) return undefined;
      throw e;
    }
  };
  const json = await read(joinUri(spec.outputUri, MANIFEST_FILE), 1 << 20);
  if (!json) return undefined;
  let manifest: DatasetManifest;
  try {
    manifest = JSON.parse(json.toString('utf8')) as DatasetManifest;
  } catch {
    return undefined;
  }
  const wanted = { window: windowOf(spec), logUri: spec.logUri, model: spec.model, labelsUri: spec.labels.uri, ...spec.labels, columns: columnsOf(spec) };
  if (typeof manifest !== 'object' || manifest === null || recipe(manifest) !== recipe(wanted)) return undefined;
  const csv = await read(joinUri(spec.outputUri, DATASET_FILE));
  return csv && sha256Hex(csv) === manifest.sha256 ? manifest : undefined;
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * Builds (or finds, on a retry) the data set of `spec`. Throws
 * DatasetTooSmallError below minRows (nothing is written), TrainingError for a
 * spec that cannot make a table, and StorageError when a store fails as a
 * whole (a listing refused or unreachable; single bad objects are skipped and
 * reported in dataset.json).
 */
export async function buildLoggedDataset(spec: LoggedDatasetSpec, stores: LoggedDatasetStores = {}): Promise<{ manifest: DatasetManifest; reused: boolean }> {
  const names = spec.features.map((f) => f.name);
  if (names.includes(spec.target)) {
    throw new TrainingError(`the label column "${spec.target}" is also a feature of the Model (${names.join(', ')}): dataset.csv cannot hold both; name the target differently`);
  }
  if (!(spec.from.getTime() < spec.to.getTime())) throw new TrainingError(`the window is empty: from ${spec.from.toISOString()} is not before to ${spec.to.toISOString()}`);
  const signal = stores.signal ? { signal: stores.signal } : {};
  const output: CommonOptions = { ...signal, ...(stores.output ? { s3: stores.output } : {}) };
  const earlier = await earlierBuild(spec, output);
  if (earlier) return { manifest: earlier, reused: true };

  const log = await readLogWindow({ prefix: spec.logUri, model: spec.model, from: spec.from, to: spec.to, ...signal, ...(stores.log ? { s3: stores.log } : {}) });
  const table = toRowTable(log.records, { features: spec.features });
  // Labels written before the window began cannot be for its predictions: those files are not read.
  const labels = await readLabels({ ...spec.labels, modifiedSince: spec.from, ...signal, ...(stores.labels ? { s3: stores.labels } : {}) });
  const join = joinLabels(table.ids, labels.byId);
  const labelled = join.rows.length;
  const window = windowOf(spec);

  if (labelled < spec.minRows) {
    const skipped = [log.problems.summary('log objects or lines'), table.problems.summary('requests without the features'), labels.problems.summary('label files')].filter(Boolean);
    throw new DatasetTooSmallError(
      `${labelled} labelled rows in the window ${window.from} to ${window.to}, fewer than minRows ${spec.minRows}: ` +
        `${table.rows} prediction rows logged (${log.records.length} requests in ${log.objects} objects under ${spec.logUri}), ` +
        `${labels.byId.size} labelled ids read from ${labels.files} files under ${spec.labels.uri} (columns ${spec.labels.idColumn}, ${spec.labels.labelColumn}), ` +
        `coverage ${percent(join.coverage)}, ${join.unmatchedLabels} labels matched no prediction of the window` +
        (skipped.length ? `; ${skipped.join('; ')}` : ''),
      { labelled, predictions: table.rows, minRows: spec.minRows },
    );
  }

  const columns = columnsOf(spec);
  const parts: string[] = [csvRecord(columns.map(csvText))];
  const featureColumns = spec.features.map((f) => table.columns[f.name]!);
  for (let j = 0; j < labelled; j++) {
    const r = join.rows[j]!;
    const cells = featureColumns.map((c) => (c instanceof Float64Array ? csvNumber(c[r]!) : csvText(c[r] ?? '')));
    const label = join.labels[j]!;
    cells.push(typeof label === 'number' ? csvNumber(label) : csvText(label));
    parts.push(csvRecord(cells));
  }
  const bytes = Buffer.from(parts.join(''), 'utf8');
  const uri = joinUri(spec.outputUri, DATASET_FILE);
  const manifest: DatasetManifest = {
    uri,
    sha256: sha256Hex(bytes),
    rows: labelled,
    predictions: join.predictions,
    labelled,
    coverage: join.coverage,
    duplicateIds: join.duplicateIds,
    unmatchedLabels: join.unmatchedLabels,
    requests: log.records.length,
    logObjects: log.objects,
    labels: { files: labels.files, rows: labels.rows, conflicting: labels.conflicting, incomplete: labels.incomplete },
    skipped: { log: report(log.problems), requests: report(table.problems), labels: report(labels.problems) },
    window,
    logUri: spec.logUri,
    model: spec.model,
    labelsUri: spec.labels.uri,
    idColumn: spec.labels.idColumn,
    labelColumn: spec.labels.labelColumn,
    columns,
  };
  // The data first, its description last: a dataset.json always describes a complete dataset.csv.
  await writeObject(uri, bytes, { ...output, contentType: 'text/csv' });
  await writeObject(joinUri(spec.outputUri, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { ...output, contentType: 'application/json' });
  return { manifest, reused: false };
}
