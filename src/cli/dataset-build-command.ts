// `fluxora dataset-build`: the first step of a RetrainJob whose data set is
// the prediction log (the trainer Job's init container). Builds dataset.csv
// and dataset.json in the run's prefix from a fixed window of the log and the
// labels (src/training/logged-dataset.ts), then exits so the trainer starts.
// Everything comes from flags or the environment the operator sets, so the
// step needs no access to the Kubernetes API.
//
// Exit codes (src/training/exit-codes.ts; the Job's podFailurePolicy and the
// RetrainJob controller read them): 0 built (or already built by an earlier
// attempt); 1 a retry may help (a store unreachable); 2 bad flags; 3 the log
// or the labels cannot be read (denied, no such bucket, a bad URI), or the
// output cannot be written; 4 fewer labelled rows than --min-rows. The one
// line on failure also goes to the termination message, which the operator
// quotes in the RetrainJob's Failed condition.
import { parseFeatures, ConfigError, PREDICTION_LOG_CREDENTIALS_PREFIX } from '../serving/config.js';
import { isStorageError, s3OptionsFromPrefixedEnv, StorageError } from '../storage/index.js';
import { TrainingError } from '../training/errors.js';
import { EXIT_BAD_INPUT, EXIT_DATASET_TOO_SMALL, EXIT_RETRYABLE, EXIT_USAGE } from '../training/exit-codes.js';
import { buildLoggedDataset, DatasetTooSmallError, LABELS_CREDENTIALS_PREFIX, type LoggedDatasetSpec } from '../training/logged-dataset.js';
import { createLogger } from './logger.js';
import { writeTerminationMessage } from './termination-message.js';
import { EXIT_OK, exitStatusHelp, logLevel, numberFlag, parseFlags, UsageError } from './usage.js';

/** Flag -> the variable the operator sets on the init container. */
const FLAGS = {
  'log-uri': 'FLUXORA_PREDICTION_LOG_URI',
  'model-name': 'FLUXORA_MODEL_NAME',
  features: 'FLUXORA_FEATURES',
  from: 'FLUXORA_DATASET_WINDOW_FROM',
  to: 'FLUXORA_DATASET_WINDOW_TO',
  'labels-uri': 'FLUXORA_LABELS_URI',
  'id-column': 'FLUXORA_LABELS_ID_COLUMN',
  'label-column': 'FLUXORA_LABELS_LABEL_COLUMN',
  target: 'FLUXORA_DATASET_TARGET',
  'min-rows': 'FLUXORA_DATASET_MIN_ROWS',
  output: 'FLUXORA_OUTPUT_URI',
} as const;
type Flag = keyof typeof FLAGS;

const HELP = `usage: fluxora dataset-build [flags]

Builds a training data set from a Model's prediction log: the requests logged
in [--from, --to), as the Model's feature columns, joined by request id with
the labels under --labels-uri (files modified since --from), written to
<output>/dataset.csv (the features, then the label column named --target) and
<output>/dataset.json (its sha256, row counts, coverage, the window and what
was skipped). A RetrainJob with dataset.predictionLog runs it before the
trainer. When <output> already holds the data set of the same window (a
retried pod), it is kept as it is.

Every flag falls back to the environment variable the operator sets:
  --log-uri URI         FLUXORA_PREDICTION_LOG_URI    the Model's spec.serving.predictionLog.uri
  --model-name NAME     FLUXORA_MODEL_NAME            the Model (its model=<name> partition)
  --features JSON       FLUXORA_FEATURES              the Model's features [{"name","type"}], in serving order
  --from TIME           FLUXORA_DATASET_WINDOW_FROM   window start, RFC 3339 (inclusive)
  --to TIME             FLUXORA_DATASET_WINDOW_TO     window end, RFC 3339 (exclusive)
  --labels-uri URI      FLUXORA_LABELS_URI            prefix or file of CSV / JSON Lines labels
  --id-column NAME      FLUXORA_LABELS_ID_COLUMN      default id
  --label-column NAME   FLUXORA_LABELS_LABEL_COLUMN   default label
  --target NAME         FLUXORA_DATASET_TARGET        the label's column in dataset.csv; default --label-column
  --min-rows N          FLUXORA_DATASET_MIN_ROWS      fewest labelled rows; default 100
  --output URI          FLUXORA_OUTPUT_URI            the run's prefix
  -h, --help

Credentials: the log is read with the FLUXORA_PREDICTION_LOG_AWS_* variables
and the labels with FLUXORA_LABELS_AWS_* when set, else with AWS_*, which
also write the output.

${exitStatusHelp(
  {
    [EXIT_OK]: 'built, or already built for this window',
    [EXIT_RETRYABLE]: 'a retry may help (a store unreachable, anything unexpected)',
    [EXIT_USAGE]: 'bad flags (a missing setting, a bad time, the label column also a feature)',
    [EXIT_BAD_INPUT]: 'the log or the labels cannot be read (access denied, no such bucket, a bad URI), or the output cannot be written',
    [EXIT_DATASET_TOO_SMALL]: 'fewer labelled rows in the window than --min-rows',
  },
  { signals: true },
)}`;

function parseTime(flag: Flag, value: string): Date {
  // RFC 3339 with a zone, as Kubernetes writes times; Date.parse alone would take "2026" or a local time.
  const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) && Number.isFinite(Date.parse(value));
  if (!ok) throw new UsageError(`--${flag} must be an RFC 3339 time such as 2026-03-14T12:00:00Z, got "${value}"`, HELP);
  return new Date(value);
}

export function parseDatasetBuildConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): LoggedDatasetSpec | 'help' {
  const options = Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }]));
  const values = parseFlags(argv, { ...options, help: { type: 'boolean', short: 'h' } }, HELP) as Partial<Record<Flag, string>> & { help?: boolean };
  if (values.help) return 'help';
  const get = (flag: Flag): string | undefined => {
    const v = values[flag] ?? env[FLAGS[flag]];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const required = (flag: Flag): string => {
    const v = get(flag);
    if (v === undefined) throw new UsageError(`--${flag} (or ${FLAGS[flag]}) is required`, HELP);
    return v;
  };
  const logUri = required('log-uri');
  const model = required('model-name');
  let features;
  try {
    features = parseFeatures(required('features'));
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message, HELP);
    throw e;
  }
  if (features.length === 0) throw new UsageError('--features must name at least one feature', HELP);
  const from = parseTime('from', required('from'));
  const to = parseTime('to', required('to'));
  if (from.getTime() >= to.getTime()) throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`, HELP);
  const labelColumn = get('label-column') ?? 'label';
  const target = get('target') ?? labelColumn;
  if (features.some((f) => f.name === target)) {
    throw new UsageError(`the label column of dataset.csv, "${target}", is also a feature of the Model: name the target differently`, HELP);
  }
  let outputUri = required('output');
  if (!outputUri.endsWith('/')) outputUri += '/';
  return {
    logUri,
    model,
    features,
    from,
    to,
    labels: { uri: required('labels-uri'), idColumn: get('id-column') ?? 'id', labelColumn },
    target,
    minRows: numberFlag('min-rows', get('min-rows') ?? '100', HELP, { min: 1, integer: true }),
    outputUri,
  };
}

export async function runDatasetBuildCommand(argv: string[]): Promise<number> {
  let spec;
  try {
    spec = parseDatasetBuildConfig(argv);
  } catch (e) {
    if (e instanceof UsageError) writeTerminationMessage(e.message);
    throw e;
  }
  if (spec === 'help') {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  const level = logLevel(process.env.FLUXORA_LOG_LEVEL ?? 'info', 'FLUXORA_LOG_LEVEL', HELP);
  const logger = createLogger(level, { component: 'dataset-build', model: spec.model });
  const started = Date.now();
  const fail = (e: Error, code: number) => {
    logger.error({ err: e, exitCode: code }, 'building the data set failed');
    process.stderr.write(`fluxora dataset-build: ${e.message}\n`);
    writeTerminationMessage(e.message);
    return code;
  };
  try {
    logger.info({ log: spec.logUri, labels: spec.labels.uri, from: spec.from.toISOString(), to: spec.to.toISOString(), output: spec.outputUri }, 'building the data set');
    const { manifest, reused } = await buildLoggedDataset(spec, {
      log: s3OptionsFromPrefixedEnv(PREDICTION_LOG_CREDENTIALS_PREFIX),
      labels: s3OptionsFromPrefixedEnv(LABELS_CREDENTIALS_PREFIX),
    });
    const { skipped, columns: _columns, ...counts } = manifest;
    logger.info(
      { ...counts, skipped: { log: skipped.log.count, requests: skipped.requests.count, labels: skipped.labels.count }, reused, seconds: (Date.now() - started) / 1000 },
      reused ? 'the data set of this window was already built; kept' : 'data set written',
    );
    return EXIT_OK;
  } catch (e) {
    if (e instanceof DatasetTooSmallError) return fail(e, EXIT_DATASET_TOO_SMALL);
    if (e instanceof StorageError) return fail(e, isStorageError(e, 'Unreachable') ? EXIT_RETRYABLE : EXIT_BAD_INPUT);
    if (e instanceof TrainingError) return fail(e, EXIT_USAGE);
    // Anything else is a bug or a passing fault: main.ts prints it and exits 1 (retried); the operator still gets a line.
    writeTerminationMessage(e instanceof Error ? e.message : String(e));
    throw e;
  }
}
