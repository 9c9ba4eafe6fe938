// RetrainJob: one training run as a batch Job. The operator runs the trainer,
// reads model.onnx and metrics.json from the output prefix, gates the result
// on `acceptance`, and records an accepted artifact as a new Model version.
import { z } from 'zod';
import {
  ConditionsSchema,
  ContainerImageSchema,
  DurationSchema,
  GROUP_VERSION,
  LabelsSourceSchema,
  LocalObjectReferenceSchema,
  MetricMapSchema,
  ObjectMetaSchema,
  ObservedGenerationSchema,
  ResourceRequirementsSchema,
  SecretReferenceSchema,
  Sha256Schema,
  StorageUriSchema,
  TimeWindowSchema,
  TimestampSchema,
  type KindResource,
} from './common.js';
import { parseDuration } from './duration.js';
import { listMap, listSet, withRules, type CelRule } from './kube-meta.js';

export const RetrainJobResource = {
  apiVersion: GROUP_VERSION,
  kind: 'RetrainJob',
  plural: 'retrainjobs',
  singular: 'retrainjob',
  shortNames: ['fxrj'],
  namespaced: true,
} as const satisfies KindResource;

/** A column of the training data set. */
const ColumnName = z.string().min(1).max(128);

export const BUILTIN_ALGORITHMS = ['linear', 'logistic', 'mlp'] as const;

export const BuiltinTrainerSchema = z
  .object({
    algorithm: z
      .enum(BUILTIN_ALGORITHMS)
      .describe('Model family: linear (regression), logistic (binary classification) or mlp (a small multi-layer perceptron).'),
    target: ColumnName.describe('Column of the data set holding the label to predict.'),
    features: listSet(z.array(ColumnName).max(256))
      .optional()
      .describe("Columns used as inputs, in order. Defaults to the Model's spec.features."),
    seed: z.int().min(0).max(2147483647).optional().describe('Random seed, for reproducible runs. Unset means a random seed.'),
    validationSplit: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.2)
      .describe('Fraction of the rows held out to compute the metrics (strictly between 0 and 1). Default 0.2.'),
  })
  .describe('The trainer built into the Fluxora image (`fluxora train`), for tabular data.');

const EnvVarSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/)
      .describe('Name of the environment variable.'),
    value: z.string().max(4096).default('').describe('Value of the environment variable. Default empty.'),
  })
  .describe('An environment variable for the trainer container.');

const Argument = z.string().max(1024);

const ContainerTrainerSchema = z
  .object({
    image: ContainerImageSchema,
    command: z.array(Argument).max(64).optional().describe("Entrypoint, as in a Pod's container command. Unset uses the image's ENTRYPOINT."),
    args: z.array(Argument).max(64).optional().describe("Arguments to the entrypoint. Unset uses the image's CMD."),
    env: withRules(listMap(z.array(EnvVarSchema).max(64), ['name']), [
      {
        rule: "self.all(e, !e.name.startsWith('FLUXORA_'))",
        message: 'environment variables starting with FLUXORA_ are reserved: the operator sets them (dataset, output and serving URIs)',
        check: (env) => env.every((e) => !e.name.startsWith('FLUXORA_')),
      },
    ])
      .optional()
      .describe('Extra environment variables. Names starting with FLUXORA_ are reserved for the trainer contract.'),
    resources: ResourceRequirementsSchema.optional(),
  })
  .describe(
    'Any container image as the trainer. It receives FLUXORA_DATASET_URI, FLUXORA_OUTPUT_URI (a fresh version prefix) and FLUXORA_SERVING_URI, ' +
      'and must write model.onnx and metrics.json (a JSON object of metric name to number) under FLUXORA_OUTPUT_URI.',
  );

const TrainerSchema = withRules(
  z.object({
    builtin: BuiltinTrainerSchema.optional(),
    container: ContainerTrainerSchema.optional(),
  }),
  [
    {
      rule: 'has(self.builtin) != has(self.container)',
      message: 'trainer must set exactly one of builtin or container',
      check: (t) => (t.builtin !== undefined) !== (t.container !== undefined),
    },
  ],
).describe('What trains the model: exactly one of builtin or container.');

/** The most a training window (and a label delay) may span: a year. */
export const MAX_WINDOW = '8760h';
const MAX_WINDOW_MS = parseDuration(MAX_WINDOW);

/**
 * A duration CEL can compare without overflow: at most 4 parts of at most 5
 * digits each (under 2^63 ns), checked before duration() is called; CEL's
 * && is false as soon as one side is, so a refused string never errors.
 */
const BOUNDED_DURATION = String.raw`^([0-9]{1,5}(\.[0-9]{1,9})?(ms|s|m|h)){1,4}$`;
const boundedDuration = (field: string, min: 'above' | 'from', check: (ms: number) => boolean) => ({
  rule: `self.matches(r'${BOUNDED_DURATION}') && duration(self) ${min === 'above' ? '>' : '>='} duration('0s') && duration(self) <= duration('${MAX_WINDOW}')`,
  message: `${field} must be a duration ${min === 'above' ? 'above 0' : 'of at least 0'} and at most ${MAX_WINDOW} (a year), e.g. 168h (7 days) or 6h`,
  check: (d: string) => new RegExp(BOUNDED_DURATION).test(d) && check(parseDuration(d)),
});

const PredictionLogDatasetSchema = z
  .object({
    window: withRules(DurationSchema, [boundedDuration('predictionLog.window', 'above', (ms) => ms > 0 && ms <= MAX_WINDOW_MS)])
      .default('168h')
      .describe('How much logged traffic to train on: the requests logged within this long before the window ends, e.g. 168h (7 days, the default) or 24h.'),
    labelDelay: withRules(DurationSchema, [boundedDuration('predictionLog.labelDelay', 'from', (ms) => ms >= 0 && ms <= MAX_WINDOW_MS)])
      .default('0s')
      .describe(
        'How long labels take to arrive: the window ends this long before the RetrainJob was created, so its newest predictions have had time to be labelled. Default 0s.',
      ),
    labels: LabelsSourceSchema,
    minRows: z
      .int()
      .min(1)
      .max(100_000_000)
      .default(100)
      .describe('Fewest labelled rows to train on; with fewer the run fails (reason DatasetTooSmall) before the trainer starts. Default 100.'),
  })
  .describe(
    "Train on the Model's prediction log (spec.serving.predictionLog) joined with labels by request id. The window is fixed when the run starts: " +
      'it ends at the creation time minus labelDelay and spans window. The joined rows are written to <output.uri>/<name>/dataset.csv ' +
      "(the Model's features plus the label, named after trainer.builtin.target, or labels.labelColumn for a container trainer) and the trainer reads that file.",
  );

const DatasetSchema = withRules(
  z.object({
    uri: StorageUriSchema.optional().describe('A CSV or JSON Lines file with the feature columns and the target.'),
    credentialsSecretRef: SecretReferenceSchema.optional().describe("A Secret with the storage variables for dataset.uri (for s3://, the AWS SDK variables)."),
    predictionLog: PredictionLogDatasetSchema.optional(),
  }),
  [
    {
      rule: 'has(self.uri) != has(self.predictionLog)',
      message: 'dataset must set exactly one of uri (a data file) or predictionLog (logged traffic joined with labels)',
      check: (d) => (d.uri !== undefined) !== (d.predictionLog !== undefined),
    },
    {
      rule: '!has(self.predictionLog) || !has(self.credentialsSecretRef)',
      message:
        "dataset.credentialsSecretRef goes with dataset.uri; with predictionLog, the log is read with the Model's predictionLog credentials " +
        'and the labels with predictionLog.labels.credentialsSecretRef',
      fieldPath: '.credentialsSecretRef',
      path: ['credentialsSecretRef'],
      check: (d) => d.predictionLog === undefined || d.credentialsSecretRef === undefined,
    },
  ],
).describe("Training data: exactly one of uri (a data file) or predictionLog (the Model's logged traffic joined with labels).");
export type RetrainDataset = z.output<typeof DatasetSchema>;

/** Metrics the acceptance gate understands, with the direction that counts as better. */
export const ACCEPTANCE_METRICS = {
  auc: 'higher',
  accuracy: 'higher',
  f1: 'higher',
  precision: 'higher',
  recall: 'higher',
  r2: 'higher',
  rmse: 'lower',
  mae: 'lower',
  mse: 'lower',
  logloss: 'lower',
} as const satisfies Record<string, 'higher' | 'lower'>;
export type AcceptanceMetric = keyof typeof ACCEPTANCE_METRICS;
const METRIC_NAMES = Object.keys(ACCEPTANCE_METRICS) as [AcceptanceMetric, ...AcceptanceMetric[]];

const AcceptanceSchema = withRules(
  z.object({
    metric: z
      .enum(METRIC_NAMES)
      .describe(
        'Metric from metrics.json that gates the new version: auc, accuracy, f1, precision, recall, r2 (higher is better) or rmse, mae, mse, logloss (lower is better).',
      ),
    min: z.number().optional().describe('The metric must be at least this value.'),
    max: z.number().optional().describe('The metric must be at most this value.'),
    mustBeatServing: z
      .boolean()
      .default(false)
      .describe("The metric must be strictly better than the serving version's recorded value for the same metric. Default false."),
  }),
  [
    {
      rule: '!has(self.min) || !has(self.max) || self.min <= self.max',
      message: 'acceptance.min must be less than or equal to acceptance.max',
      fieldPath: '.min',
      path: ['min'],
      check: (a) => a.min === undefined || a.max === undefined || a.min <= a.max,
    },
    {
      rule: 'has(self.min) || has(self.max) || (has(self.mustBeatServing) && self.mustBeatServing)',
      message: 'acceptance needs at least one criterion: min, max or mustBeatServing: true',
      check: (a) => a.min !== undefined || a.max !== undefined || a.mustBeatServing,
    },
  ],
).describe(
  'Gate on the trained model: when its metrics fail, the run ends in phase Rejected and nothing is promoted. Unset accepts every successful run.',
);

const OutputSchema = withRules(
  z.object({
    uri: StorageUriSchema.describe(
      'Prefix under which each run writes a fresh version directory (model.onnx, metrics.json): s3://, pvc:// or file:// (http is read only).',
    ),
    credentialsSecretRef: SecretReferenceSchema.optional(),
  }),
  [
    {
      rule: "!self.uri.startsWith('http://') && !self.uri.startsWith('https://')",
      message: 'output.uri must be writable: use s3://, pvc:// or file:// (http(s) is read only)',
      fieldPath: '.uri',
      path: ['uri'],
      check: (o) => !/^https?:\/\//.test(o.uri),
    },
  ],
).describe('Where the trained artifacts go.');

/** The metrics each built-in algorithm writes to metrics.json (src/training/metrics.ts); mlp writes either set, by its target. */
export const BUILTIN_METRICS: Record<(typeof BUILTIN_ALGORITHMS)[number], readonly AcceptanceMetric[]> = {
  linear: ['rmse', 'mse', 'mae', 'r2'],
  logistic: ['accuracy', 'auc', 'logloss', 'precision', 'recall', 'f1'],
  mlp: METRIC_NAMES,
};

/** Rules across trainer and acceptance, for a RetrainJob's spec and a DriftMonitor's template alike. */
const templateRules: CelRule<{ trainer: { builtin?: { algorithm: (typeof BUILTIN_ALGORITHMS)[number] } }; acceptance?: { metric: AcceptanceMetric } }>[] = [
  {
    rule:
      '!has(self.acceptance) || !has(self.trainer.builtin) || ' +
      (['linear', 'logistic'] as const)
        .map((a) => `(self.trainer.builtin.algorithm != '${a}' || self.acceptance.metric in [${BUILTIN_METRICS[a].map((m) => `'${m}'`).join(', ')}])`)
        .join(' && '),
    message:
      `acceptance.metric must be one the built-in algorithm reports: linear reports ${BUILTIN_METRICS.linear.join(', ')}; ` +
      `logistic reports ${BUILTIN_METRICS.logistic.join(', ')} (a metric it never writes would fail every run)`,
    fieldPath: '.acceptance.metric',
    path: ['acceptance', 'metric'],
    check: (t) => !t.acceptance || !t.trainer.builtin || BUILTIN_METRICS[t.trainer.builtin.algorithm].includes(t.acceptance.metric),
  },
];

const TemplateFields = z.object({
  trainer: TrainerSchema,
  dataset: DatasetSchema,
  output: OutputSchema,
  acceptance: AcceptanceSchema.optional(),
  backoffLimit: z
    .int()
    .min(0)
    .max(10)
    .default(2)
    .describe('Retries of the training Job before the run counts as Failed (the Job backoffLimit). Default 2.'),
  activeDeadlineSeconds: z
    .int()
    .min(1)
    .max(604800)
    .default(3600)
    .describe('Seconds the training Job may run, retries included, before it is stopped and the run Failed. Default 3600 (one hour), at most 604800 (a week).'),
});

/** Everything a RetrainJob needs except the Model: a DriftMonitor's retrain.template. */
export const RetrainJobTemplateSchema = withRules(TemplateFields, templateRules);
export type BuiltinTrainer = z.output<typeof BuiltinTrainerSchema>;
export type RetrainJobTemplate = z.output<typeof RetrainJobTemplateSchema>;

export const RetrainJobSpecSchema = withRules(
  TemplateFields.extend({
    modelRef: LocalObjectReferenceSchema.describe('The Model this run trains a new version of, in the same namespace.'),
  }),
  [
    ...templateRules,
    {
      // A run is a record of what was trained; editing it afterwards would
      // make status describe a spec that never ran (the same rule as Job).
      rule: 'self == oldSelf',
      message: 'RetrainJob spec is immutable; create a new RetrainJob instead',
    },
  ],
).describe('A training run: what to train, on which data, where to write it and when to accept it. Immutable once created.');
export type RetrainJobSpec = z.output<typeof RetrainJobSpecSchema>;
export type RetrainJobSpecInput = z.input<typeof RetrainJobSpecSchema>;

export const RETRAIN_PHASES = ['Pending', 'Running', 'Evaluating', 'Succeeded', 'Failed', 'Rejected'] as const;
export type RetrainJobPhase = (typeof RETRAIN_PHASES)[number];

/** What a run trained on, when the operator built the data set (dataset.predictionLog): read from dataset.json after the Job. */
export const RunDatasetSchema = z
  .object({
    uri: StorageUriSchema.describe('The data set the trainer read: <output.uri>/<name>/dataset.csv.'),
    sha256: Sha256Schema.describe('SHA-256 of dataset.csv, as the trainer read it.'),
    rows: z.int().min(0).describe('Rows of dataset.csv: the logged prediction rows of the window that have a label.'),
    predictions: z.int().min(0).describe('Logged prediction rows in the window (a request of N rows counts N).'),
    labelled: z.int().min(0).describe('Prediction rows of the window joined with a label (the rows of dataset.csv).'),
    coverage: z.number().min(0).max(1).describe('labelled / distinct prediction ids of the window, 0 to 1.'),
    window: TimeWindowSchema.describe('The logged traffic it came from: requests logged from (inclusive) to (exclusive).'),
  })
  .describe("The data set built from the Model's prediction log for this run (dataset.predictionLog), as recorded in its dataset.json.");

export type RunDataset = z.output<typeof RunDatasetSchema>;

export const RetrainJobStatusSchema = z
  .object({
    observedGeneration: ObservedGenerationSchema.optional(),
    phase: z
      .enum(RETRAIN_PHASES)
      .optional()
      .describe(
        'Where the run is: Pending (Job not started), Running (training), Evaluating (the Job finished; reading metrics, checking acceptance, ' +
          'retried while the output store does not answer), Succeeded (accepted and recorded), Failed (the Job failed or timed out, ' +
          'or its output is unusable: missing, not numbers, no Model to record it in) or Rejected (trained, but acceptance failed). ' +
          'Succeeded, Failed and Rejected are final.',
      ),
    jobName: z.string().max(63).optional().describe('Name of the batch Job running the trainer.'),
    startTime: TimestampSchema.optional().describe('When the training Job started.'),
    completionTime: TimestampSchema.optional().describe('When the run reached Succeeded, Failed or Rejected.'),
    artifact: z
      .object({
        uri: StorageUriSchema.describe('Where the trained model.onnx is.'),
        sha256: Sha256Schema.optional(),
      })
      .optional()
      .describe('The trained artifact.'),
    metrics: MetricMapSchema.optional().describe('Metrics the trainer reported in metrics.json, by name.'),
    dataset: RunDatasetSchema.optional(),
    promotedVersion: z
      .string()
      .max(32)
      .optional()
      .describe("The Model version (in the Model's status.versions) this run was recorded as, once accepted."),
    conditions: ConditionsSchema.optional(),
  })
  .describe('What the operator observed about the run. Written by the operator only.');
export type RetrainJobStatus = z.output<typeof RetrainJobStatusSchema>;

export const RetrainJobSchema = z.object({
  apiVersion: z.literal(RetrainJobResource.apiVersion),
  kind: z.literal(RetrainJobResource.kind),
  metadata: ObjectMetaSchema,
  spec: RetrainJobSpecSchema,
  status: RetrainJobStatusSchema.optional(),
});
export type RetrainJob = z.output<typeof RetrainJobSchema>;
