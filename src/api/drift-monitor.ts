// DriftMonitor: a schedule and thresholds. The operator runs each check as a
// CronJob (`fluxora drift-check`), which compares the live feature (and,
// with spec.outputs, output) distributions, from the serving pods' samples or
// the prediction log, with a reference data set and writes the verdict to
// status; sustained drift can start a RetrainJob from `retrain.template`.
import { z } from 'zod';
import {
  ConditionsSchema,
  CronScheduleSchema,
  DurationSchema,
  GROUP_VERSION,
  LocalObjectReferenceSchema,
  ObjectMetaSchema,
  ObservedGenerationSchema,
  SecretReferenceSchema,
  Sha256Schema,
  StorageUriSchema,
  TimestampSchema,
  type KindResource,
} from './common.js';
import { DURATION_PATTERN, parseDuration } from './duration.js';
import { listMap, withRules, type CelRule } from './kube-meta.js';
import { PerformanceSpecSchema, PerformanceStatusSchema } from './performance.js';
import { RetrainJobTemplateSchema } from './retrain-job.js';

export const DriftMonitorResource = {
  apiVersion: GROUP_VERSION,
  kind: 'DriftMonitor',
  plural: 'driftmonitors',
  singular: 'driftmonitor',
  shortNames: ['fxdm'],
  namespaced: true,
} as const satisfies KindResource;

/** Concrete drift methods, as reported in status. */
export const DRIFT_METHODS = ['ks', 'psi', 'jensenshannon', 'wasserstein', 'chisquare', 'zscore'] as const;
export type DriftMethod = (typeof DRIFT_METHODS)[number];
/** Methods whose score is bounded by 1 (a p-value or a bounded distance), so a threshold above 1 is a mistake. */
export const UNIT_BOUNDED_METHODS: readonly DriftMethod[] = ['ks', 'chisquare', 'jensenshannon'];

/** How far back a check with source PredictionLog reads when current.window is unset. */
export const DEFAULT_LOG_WINDOW = '24h';
// Refinements run even when the pattern failed (that issue is reported on its own).
const DURATION_RE = new RegExp(DURATION_PATTERN);
/** The longest current.window: 90 days (the log is listed one hour partition at a time). */
export const MAX_LOG_WINDOW_MS = 90 * 24 * 3_600_000;

const CurrentSchema = withRules(
  z.object({
    source: z
      .enum(['Serving', 'PredictionLog'])
      .optional()
      .describe(
        "Serving: use the samples the Model's serving pods captured from live traffic (see the Model's serving.sampling). " +
          "PredictionLog: use the requests the Model's serving pods wrote to its prediction log (the Model's serving.predictionLog) " +
          'within current.window before the check; the log survives restarts and rollouts.',
      ),
    // No schema default: a default would be set on every monitor, and a window
    // beside uri (or Serving) is refused below. The check applies 24h.
    window: DurationSchema.optional().describe(
      'With source PredictionLog: the check reads the requests logged within this long before it starts, e.g. 30m, 6h or 24h; ' +
        'at most 2160h (90 days). Default 24h. Only valid with source PredictionLog.',
    ),
    minSamples: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(500)
      .describe(
        'With source Serving or PredictionLog: skip the check (no verdict) until at least this many rows were captured (Serving) ' +
          'or logged within the window (PredictionLog). Default 500.',
      ),
    maxSamples: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(10000)
      .describe(
        'With source Serving or PredictionLog: use at most this many of the most recent rows (for PredictionLog, the newest rows of the window). Default 10000.',
      ),
    uri: StorageUriSchema.optional().describe('A data set (CSV or JSON Lines) to compare with the reference instead of live traffic.'),
    credentialsSecretRef: SecretReferenceSchema.optional().describe(
      `${SecretReferenceSchema.description} Not with source PredictionLog: the log is read with the Model's predictionLog credentials.`,
    ),
  }),
  [
    {
      rule: 'has(self.source) != has(self.uri)',
      message: 'current must set exactly one of source (live traffic: Serving or PredictionLog) or uri (a data set)',
      check: (c) => (c.source !== undefined) !== (c.uri !== undefined),
    },
    {
      // has() guards: the API server also checks the rule against the bare default {source: Serving}.
      rule: '!has(self.minSamples) || !has(self.maxSamples) || self.minSamples <= self.maxSamples',
      message: 'current.minSamples must be less than or equal to current.maxSamples',
      fieldPath: '.minSamples',
      path: ['minSamples'],
      check: (c) => c.minSamples <= c.maxSamples,
    },
    {
      rule: "!has(self.window) || (has(self.source) && self.source == 'PredictionLog')",
      message: 'current.window applies only to source PredictionLog (how far back the log is read); remove it, or set source: PredictionLog',
      fieldPath: '.window',
      reason: 'FieldValueForbidden',
      path: ['window'],
      check: (c) => c.window === undefined || c.source === 'PredictionLog',
    },
    {
      rule: `!has(self.window) || (duration(self.window) > duration('0s') && duration(self.window) <= duration('${MAX_LOG_WINDOW_MS / 3_600_000}h'))`,
      message: 'current.window must be longer than 0 and at most 2160h (90 days)',
      fieldPath: '.window',
      path: ['window'],
      check: (c) => c.window === undefined || !DURATION_RE.test(c.window) || (parseDuration(c.window) > 0 && parseDuration(c.window) <= MAX_LOG_WINDOW_MS),
    },
    {
      rule: "!has(self.credentialsSecretRef) || !has(self.source) || self.source != 'PredictionLog'",
      message:
        "current.credentialsSecretRef does not apply to source PredictionLog: the log is read with the Model's spec.serving.predictionLog.credentialsSecretRef (else its artifact's)",
      fieldPath: '.credentialsSecretRef',
      reason: 'FieldValueForbidden',
      path: ['credentialsSecretRef'],
      check: (c) => c.credentialsSecretRef === undefined || c.source !== 'PredictionLog',
    },
  ],
)
  .prefault({ source: 'Serving' })
  .describe(
    'The data checked for drift: exactly one of source: Serving (live traffic captured by the serving pods, the default), ' +
      "source: PredictionLog (the Model's prediction log, over current.window) or uri (a data set).",
  );

/** The annotation whose new value re-arms a monitor whose retrain budget is exhausted. */
export const RETRAIN_REARM_ANNOTATION = 'fluxora.io/retrain-rearm';

const ReferenceSchema = withRules(
  z.object({
    uri: StorageUriSchema.optional().describe('A fixed reference data set (CSV or JSON Lines), usually a sample of the training data.'),
    fromServingVersion: z
      .boolean()
      .optional()
      .describe(
        "true: the reference is the data set the Model's serving version was trained on (its status.versions[].dataset: a RetrainJob's " +
          'training file, or spec.artifact.trainingData), followed as the serving version changes. A serving version that records none ' +
          'stops the checks (condition reason NoReferenceForVersion) until one does.',
      ),
    credentialsSecretRef: SecretReferenceSchema.optional().describe(
      `${SecretReferenceSchema.description} For the reference data set, whether fixed (uri) or the serving version's.`,
    ),
  }),
  [
    {
      rule: 'has(self.uri) != (has(self.fromServingVersion) && self.fromServingVersion)',
      message:
        'reference must set exactly one of uri (a fixed data set) or fromServingVersion: true (the data set the serving version was trained on)',
      check: (r) => (r.uri !== undefined) !== (r.fromServingVersion === true),
    },
  ],
).describe(
  'What current data is compared with: exactly one of uri (a fixed data set, usually a sample of the training data) or ' +
    'fromServingVersion: true (the data set the serving version was trained on).',
);
export type DriftReference = z.output<typeof ReferenceSchema>;

const MethodSchema = z
  .enum(['auto', ...DRIFT_METHODS])
  .default('auto')
  .describe(
    'Drift method: ks (Kolmogorov-Smirnov test), chisquare (chi-square test), psi (population stability index), ' +
      'jensenshannon (Jensen-Shannon distance), wasserstein (Wasserstein distance, in reference standard deviations), ' +
      "zscore (shift of the mean, in reference standard deviations), or auto (chosen from the type and the sample size). Default auto.",
  );

const ThresholdSchema = z
  .number()
  .min(0)
  .max(1000)
  .optional()
  .describe(
    'When the column counts as drifted. For the tests (ks, chisquare) it is the p-value below which drift is reported, e.g. 0.05; ' +
      'for the distances (psi, jensenshannon, wasserstein, zscore) the score at or above which it is, e.g. 0.1. ' +
      "At most 1 for ks, chisquare and jensenshannon. Unset uses the method's default.",
  );

/** A p-value or a bounded distance cannot have a threshold above 1 (features and outputs alike). */
const thresholdRule = <T extends { method: string; threshold?: number | undefined }>(): CelRule<T> => ({
  rule: "!has(self.threshold) || !(self.method in ['ks', 'chisquare', 'jensenshannon']) || self.threshold <= 1.0",
  message: 'threshold must be between 0 and 1 for methods ks and chisquare (a p-value) and jensenshannon (a distance bounded by 1)',
  fieldPath: '.threshold',
  path: ['threshold'],
  check: (f) => f.threshold === undefined || !(UNIT_BOUNDED_METHODS as readonly string[]).includes(f.method) || f.threshold <= 1,
});

/** One entry of spec.features; `fluxora drift compute` checks its --method/--threshold with it too. */
export const FeatureCheckSchema = withRules(
  z.object({
    name: z.string().min(1).max(128).describe("Feature to check, as named in the Model's spec.features."),
    method: MethodSchema,
    threshold: ThresholdSchema,
  }),
  [thresholdRule()],
).describe('How one feature is checked.');

/** One entry of spec.outputs: a model output monitored like a feature (prediction drift). */
const OutputCheckSchema = withRules(
  z.object({
    name: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/)
      .describe(
        "The output's column: in the reference data set (which must hold the model's output for each of its rows), in current.uri's data set, " +
          "and its name in status.outputs. Must differ from the Model's feature names. Letters, digits, _ . -.",
      ),
    output: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe('With source PredictionLog: the model output (ONNX output tensor name, as logged) the value is read from. Default: name.'),
    index: z
      .int()
      .min(0)
      .max(65535)
      .default(0)
      .describe(
        'With source PredictionLog: the element of the output\'s row that is monitored, e.g. 1 for the probability of class 1 in an output of shape [N, 2]. Default 0.',
      ),
    type: z
      .enum(['numeric', 'categorical'])
      .default('numeric')
      .describe('numeric (a score, a probability, a regression value) or categorical (a predicted class). Default numeric.'),
    method: MethodSchema,
    threshold: ThresholdSchema,
  }),
  [thresholdRule()],
).describe('How one model output is checked.');

const FeatureChecksSchema = withRules(listMap(z.array(FeatureCheckSchema).max(256), ['name']), [
  {
    rule: 'self.all(f, self.exists_one(g, g.name == f.name))',
    message: 'feature names must be unique',
    check: (fs) => new Set(fs.map((f) => f.name)).size === fs.length,
  },
]);

const OutputChecksSchema = withRules(listMap(z.array(OutputCheckSchema).max(32), ['name']), [
  {
    rule: 'self.all(o, self.exists_one(p, p.name == o.name))',
    message: 'output names must be unique',
    check: (os) => new Set(os.map((o) => o.name)).size === os.length,
  },
]);

const RetrainPolicySchema = withRules(
  z.object({
    enabled: z.boolean().default(false).describe('Create a RetrainJob when drift or degraded performance persists. Default false (report only).'),
    consecutiveChecks: z
      .int()
      .min(1)
      .max(100)
      .default(1)
      .describe('Checks in a row that must report drift or degraded performance (spec.performance.trigger) before a retrain starts. Default 1.'),
    cooldown: DurationSchema.default('6h').describe('Minimum time between two retrains started by this monitor, e.g. 30m or 6h. Default 6h.'),
    maxConcurrent: z
      .int()
      .min(1)
      .max(10)
      .default(1)
      .describe("RetrainJobs of this monitor that may run at once; no new one starts while this many are neither Succeeded, Failed nor Rejected. Default 1."),
    maxConsecutiveRejections: z
      .int()
      .min(1)
      .max(100)
      .default(3)
      .describe(
        'The retrain budget: when the newest this-many RetrainJobs this monitor started for the Model all ended Rejected (Failed runs are skipped), ' +
          'it starts no more and is Stalled (reason RetrainBudgetExhausted) until a person re-arms it: a change of the spec, or a new value ' +
          `of the annotation ${RETRAIN_REARM_ANNOTATION}. Default 3.`,
      ),
    template: RetrainJobTemplateSchema.optional().describe(
      'Spec of the RetrainJobs to create, without modelRef (the monitored Model is used). Required when enabled is true.',
    ),
  }),
  [
    {
      rule: '!(has(self.enabled) && self.enabled) || has(self.template)',
      message: 'retrain.template is required when retrain.enabled is true',
      fieldPath: '.template',
      reason: 'FieldValueRequired',
      path: ['template'],
      check: (r) => !r.enabled || r.template !== undefined,
    },
  ],
)
  .prefault({})
  .describe('What to do when drift persists: optionally start a RetrainJob. Default: report only.');

export const DriftMonitorSpecSchema = withRules(
  z.object({
    modelRef: LocalObjectReferenceSchema.describe('The Model whose inputs are monitored, in the same namespace.'),
    schedule: CronScheduleSchema,
    suspend: z.boolean().default(false).describe('Pause the checks (the CronJob is suspended); status is kept. Default false.'),
    reference: ReferenceSchema,
    current: CurrentSchema,
    features: FeatureChecksSchema.optional().describe(
      "Per-feature methods and thresholds. Features of the Model not listed here are checked with method auto and the default threshold. Names must be unique.",
    ),
    datasetDriftShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('Share of checked features (0 to 1) that must drift for the data set as a whole to count as drifted. Default 0.5.'),
    outputs: OutputChecksSchema.optional().describe(
      'Model outputs to check for drift like features (prediction drift): score distributions, class shares. ' +
        'Needs current.source PredictionLog (outputs as logged) or current.uri (a column per output); the reference data set needs the column too. ' +
        'Any drifted output sets driftDetected. Names must be unique.',
    ),
    retrain: RetrainPolicySchema,
    performance: PerformanceSpecSchema.optional(),
  }),
  [
    {
      // After defaulting, current is {source: Serving} when unset.
      rule: "!has(self.outputs) || size(self.outputs) == 0 || !has(self.current.source) || self.current.source != 'Serving'",
      message:
        "outputs need current.source: PredictionLog or current.uri: the serving pods' samples hold the inputs only, not the model's outputs",
      fieldPath: '.outputs',
      reason: 'FieldValueForbidden',
      path: ['outputs'],
      check: (s) => !s.outputs?.length || s.current.source !== 'Serving',
    },
    {
      rule: '!has(self.outputs) || !has(self.features) || self.outputs.all(o, !self.features.exists(f, f.name == o.name))',
      message: 'an output must not have the name of a feature: both are columns of the reference data set',
      fieldPath: '.outputs',
      path: ['outputs'],
      check: (s) => !(s.outputs ?? []).some((o) => (s.features ?? []).some((f) => f.name === o.name)),
    },
  ],
).describe(
  'When and how to compare live inputs (and outputs) of a Model with a reference data set, and optionally judge its logged predictions against labels.',
);
export type DriftMonitorSpec = z.output<typeof DriftMonitorSpecSchema>;
export type DriftMonitorSpecInput = z.input<typeof DriftMonitorSpecSchema>;

const FeatureResultSchema = z
  .object({
    name: z.string().min(1).max(128).describe('Feature (or output) name.'),
    method: z.enum(DRIFT_METHODS).describe('The method used (auto resolved to a concrete method).'),
    score: z.number().describe('The drift score: the test statistic for ks and chisquare, the distance for the others.'),
    pValue: z.number().min(0).max(1).optional().describe('p-value of the test, for ks and chisquare.'),
    threshold: z.number().describe('The threshold the feature (or output) was judged against.'),
    drifted: z.boolean().describe('Whether this feature (or output) drifted.'),
  })
  .describe('The result of one feature (or output) in the last check.');

export const DriftMonitorStatusSchema = z
  .object({
    observedGeneration: ObservedGenerationSchema.optional(),
    lastCheckTime: TimestampSchema.optional().describe(
      'When the last check that produced a verdict finished: a drift verdict, or a performance verdict (enough labelled rows) when the drift part had too few samples.',
    ),
    driftDetected: z
      .boolean()
      .optional()
      .describe(
        'Whether the last verdict found drift: data set drift (driftShare at or above datasetDriftShare), or any output drifted (predictionDrift); ' +
          'absent when that verdict had too few samples to judge drift.',
      ),
    driftShare: z.number().min(0).max(1).optional().describe('Share of checked features that drifted in the last check (0 to 1).'),
    consecutiveDriftChecks: z
      .int()
      .min(0)
      .optional()
      .describe('Verdicts in a row, up to the last one, that found drift or degraded performance: what retrain.consecutiveChecks counts.'),
    sampleCount: z.int().min(0).optional().describe('Rows of current data used by the last check.'),
    streakVersion: z
      .string()
      .max(32)
      .optional()
      .describe(
        "The Model's serving version during the verdicts consecutiveDriftChecks counts: a verdict while another version serves starts a new streak.",
      ),
    reference: z
      .object({
        uri: StorageUriSchema.describe('The reference data set.'),
        sha256: Sha256Schema.optional().describe('Its SHA-256, as the version recorded it.'),
        version: z.string().max(32).optional().describe('With reference.fromServingVersion: the Model version whose training data set it is.'),
      })
      .optional()
      .describe('The reference data set the last verdict compared with.'),
    retrainBudget: z
      .object({
        generation: z.int().min(0).describe('The monitor generation the budget was last armed at: a newer one re-arms it.'),
        rearm: z.string().max(253).optional().describe(`The value of the annotation ${RETRAIN_REARM_ANNOTATION} last seen: a new value re-arms it.`),
        armedAt: TimestampSchema.optional().describe('When it was last re-armed: RetrainJobs created before do not count. Unset: never re-armed.'),
        armedBy: z.string().max(512).optional().describe('What re-armed it last: a spec change or the annotation.'),
        consecutiveRejections: z.int().min(0).describe('Rejected RetrainJobs in a row, newest first, since it was armed (Failed runs skipped).'),
        exhausted: z.boolean().describe('Whether retrain.maxConsecutiveRejections is reached: no RetrainJob starts until it is re-armed.'),
      })
      .optional()
      .describe('The retrain budget (retrain.maxConsecutiveRejections): rejections counted, and what last re-armed it.'),
    lastRetrainJob: z.string().max(253).optional().describe('Name of the last RetrainJob this monitor created.'),
    lastRetrainTime: TimestampSchema.optional().describe('When this monitor last created a RetrainJob (the cooldown counts from here).'),
    features: listMap(z.array(FeatureResultSchema).max(256), ['name']).optional().describe('Per-feature results of the last check.'),
    outputs: listMap(z.array(FeatureResultSchema).max(32), ['name'])
      .optional()
      .describe('Per-output results of the last check (spec.outputs), judged like features. Absent without spec.outputs.'),
    predictionDrift: z.boolean().optional().describe('Whether any of spec.outputs drifted in the last check. Absent without spec.outputs.'),
    performance: PerformanceStatusSchema.optional(),
    conditions: ConditionsSchema.optional(),
  })
  .describe('Results of the checks. Written by the operator and the drift-check pods only.');
export type DriftMonitorStatus = z.output<typeof DriftMonitorStatusSchema>;

export const DriftMonitorSchema = z.object({
  apiVersion: z.literal(DriftMonitorResource.apiVersion),
  kind: z.literal(DriftMonitorResource.kind),
  metadata: ObjectMetaSchema,
  spec: DriftMonitorSpecSchema,
  status: DriftMonitorStatusSchema.optional(),
});
export type DriftMonitor = z.output<typeof DriftMonitorSchema>;
export type DriftMonitorFeatureResult = z.output<typeof FeatureResultSchema>;
export type DriftMonitorOutputCheck = z.output<typeof OutputCheckSchema>;
