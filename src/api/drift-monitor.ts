// DriftMonitor: a schedule and thresholds. The operator runs each check as a
// CronJob (`fluxora drift-check`), which compares the live feature
// distribution with a reference data set and writes the verdict to status;
// sustained drift can start a RetrainJob from `retrain.template`.
import { z } from 'zod';
import {
  ConditionsSchema,
  CronScheduleSchema,
  DataSourceSchema,
  DurationSchema,
  GROUP_VERSION,
  LocalObjectReferenceSchema,
  ObjectMetaSchema,
  ObservedGenerationSchema,
  SecretReferenceSchema,
  StorageUriSchema,
  TimestampSchema,
  type KindResource,
} from './common.js';
import { listMap, withRules } from './kube-meta.js';
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

const CurrentSchema = withRules(
  z.object({
    source: z
      .enum(['Serving'])
      .optional()
      .describe("Serving: use the samples the Model's serving pods captured from live traffic (see the Model's serving.sampling)."),
    minSamples: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(500)
      .describe('With source Serving: skip the check (no verdict) until at least this many samples were captured. Default 500.'),
    maxSamples: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(10000)
      .describe('With source Serving: use at most this many of the most recent samples. Default 10000.'),
    uri: StorageUriSchema.optional().describe('A data set (CSV or JSON Lines) to compare with the reference instead of live traffic.'),
    credentialsSecretRef: SecretReferenceSchema.optional(),
  }),
  [
    {
      rule: 'has(self.source) != has(self.uri)',
      message: 'current must set exactly one of source (live traffic) or uri (a data set)',
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
  ],
)
  .prefault({ source: 'Serving' })
  .describe('The data checked for drift: exactly one of source: Serving (live traffic, the default) or uri (a data set).');

/** One entry of spec.features; `fluxora drift compute` checks its --method/--threshold with it too. */
export const FeatureCheckSchema = withRules(
  z.object({
    name: z.string().min(1).max(128).describe("Feature to check, as named in the Model's spec.features."),
    method: z
      .enum(['auto', ...DRIFT_METHODS])
      .default('auto')
      .describe(
        'Drift method: ks (Kolmogorov-Smirnov test), chisquare (chi-square test), psi (population stability index), ' +
          'jensenshannon (Jensen-Shannon distance), wasserstein (Wasserstein distance, in reference standard deviations), ' +
          "zscore (shift of the mean, in reference standard deviations), or auto (chosen from the feature's type and the sample size). Default auto.",
      ),
    threshold: z
      .number()
      .min(0)
      .max(1000)
      .optional()
      .describe(
        "When the feature counts as drifted. For the tests (ks, chisquare) it is the p-value below which drift is reported, e.g. 0.05; " +
          'for the distances (psi, jensenshannon, wasserstein, zscore) the score at or above which it is, e.g. 0.1. ' +
          "At most 1 for ks, chisquare and jensenshannon. Unset uses the method's default.",
      ),
  }),
  [
    {
      rule: "!has(self.threshold) || !(self.method in ['ks', 'chisquare', 'jensenshannon']) || self.threshold <= 1.0",
      message: 'threshold must be between 0 and 1 for methods ks and chisquare (a p-value) and jensenshannon (a distance bounded by 1)',
      fieldPath: '.threshold',
      path: ['threshold'],
      check: (f) => f.threshold === undefined || !(UNIT_BOUNDED_METHODS as readonly string[]).includes(f.method) || f.threshold <= 1,
    },
  ],
).describe('How one feature is checked.');

const FeatureChecksSchema = withRules(listMap(z.array(FeatureCheckSchema).max(256), ['name']), [
  {
    rule: 'self.all(f, self.exists_one(g, g.name == f.name))',
    message: 'feature names must be unique',
    check: (fs) => new Set(fs.map((f) => f.name)).size === fs.length,
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

export const DriftMonitorSpecSchema = z
  .object({
    modelRef: LocalObjectReferenceSchema.describe('The Model whose inputs are monitored, in the same namespace.'),
    schedule: CronScheduleSchema,
    suspend: z.boolean().default(false).describe('Pause the checks (the CronJob is suspended); status is kept. Default false.'),
    reference: DataSourceSchema.describe(
      'The reference data set (CSV or JSON Lines), usually a sample of the training data, that current data is compared with.',
    ),
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
    retrain: RetrainPolicySchema,
    performance: PerformanceSpecSchema.optional(),
  })
  .describe('When and how to compare live inputs of a Model with a reference data set, and optionally judge its logged predictions against labels.');
export type DriftMonitorSpec = z.output<typeof DriftMonitorSpecSchema>;
export type DriftMonitorSpecInput = z.input<typeof DriftMonitorSpecSchema>;

const FeatureResultSchema = z
  .object({
    name: z.string().min(1).max(128).describe('Feature name.'),
    method: z.enum(DRIFT_METHODS).describe('The method used (auto resolved to a concrete method).'),
    score: z.number().describe('The drift score: the test statistic for ks and chisquare, the distance for the others.'),
    pValue: z.number().min(0).max(1).optional().describe('p-value of the test, for ks and chisquare.'),
    threshold: z.number().describe('The threshold the feature was judged against.'),
    drifted: z.boolean().describe('Whether this feature drifted.'),
  })
  .describe('The result of one feature in the last check.');

export const DriftMonitorStatusSchema = z
  .object({
    observedGeneration: ObservedGenerationSchema.optional(),
    lastCheckTime: TimestampSchema.optional().describe(
      'When the last check that produced a verdict finished: a drift verdict, or a performance verdict (enough labelled rows) when the drift part had too few samples.',
    ),
    driftDetected: z
      .boolean()
      .optional()
      .describe('Whether the last verdict found data set drift (driftShare at or above datasetDriftShare); absent when that verdict had too few samples to judge drift.'),
    driftShare: z.number().min(0).max(1).optional().describe('Share of checked features that drifted in the last check (0 to 1).'),
    consecutiveDriftChecks: z
      .int()
      .min(0)
      .optional()
      .describe('Verdicts in a row, up to the last one, that found drift or degraded performance: what retrain.consecutiveChecks counts.'),
    sampleCount: z.int().min(0).optional().describe('Rows of current data used by the last check.'),
    lastRetrainJob: z.string().max(253).optional().describe('Name of the last RetrainJob this monitor created.'),
    lastRetrainTime: TimestampSchema.optional().describe('When this monitor last created a RetrainJob (the cooldown counts from here).'),
    features: listMap(z.array(FeatureResultSchema).max(256), ['name']).optional().describe('Per-feature results of the last check.'),
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
