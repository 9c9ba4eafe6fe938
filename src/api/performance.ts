// DriftMonitor spec.performance and status.performance: the realized
// performance of a Model's logged predictions, judged against ground-truth
// labels that arrive later (joined by request id), with an optional trigger
// that counts like drift for the retrain trigger.
//
// Kept apart from drift-monitor.ts, which only embeds these schemas. The
// labels source (common.ts) is the one the RetrainJob's training window reads.
import { z } from 'zod';
import { DurationSchema, LabelsSourceSchema, TimestampSchema } from './common.js';
import { listMap, withRules } from './kube-meta.js';

/** Whether a higher or a lower value of each performance metric is better. */
export const PERFORMANCE_METRICS = {
  auc: 'higher',
  accuracy: 'higher',
  f1: 'higher',
  logLoss: 'lower',
  rmse: 'lower',
  mae: 'lower',
  r2: 'higher',
} as const satisfies Record<string, 'higher' | 'lower'>;
export type PerformanceMetric = keyof typeof PERFORMANCE_METRICS;
const METRIC_NAMES = Object.keys(PERFORMANCE_METRICS) as [PerformanceMetric, ...PerformanceMetric[]];

export const PERFORMANCE_TASKS = ['BinaryClassification', 'Regression'] as const;
export type PerformanceTask = (typeof PERFORMANCE_TASKS)[number];

/** The metrics each task reports (and may trigger on). */
export const TASK_METRICS: Record<PerformanceTask, readonly PerformanceMetric[]> = {
  BinaryClassification: ['accuracy', 'auc', 'f1', 'logLoss'],
  Regression: ['rmse', 'mae', 'r2'],
};

const HIGHER = METRIC_NAMES.filter((m) => PERFORMANCE_METRICS[m] === 'higher');
const LOWER = METRIC_NAMES.filter((m) => PERFORMANCE_METRICS[m] === 'lower');
const celList = (names: readonly string[]) => `[${names.map((n) => `'${n}'`).join(', ')}]`;
/** Metrics bounded by [0, 1], where a threshold outside that range can never be met or breached. */
const UNIT_METRICS: readonly PerformanceMetric[] = ['auc', 'accuracy', 'f1'];


const PredictionSchema = z
  .object({
    output: z.string().min(1).max(256).describe('Name of the model output that holds the prediction, as it appears in the prediction log (e.g. probabilities, variable).'),
    index: z
      .int()
      .min(0)
      .max(100_000)
      .default(0)
      .describe('Element of the output row to use, e.g. 1 for the probability of class 1 in [N, 2] probabilities. Default 0.'),
  })
  .describe('Which logged model output is the prediction: a score or probability of the positive class, or the predicted value (Regression).');

const TriggerSchema = withRules(
  z.object({
    metric: z
      .enum(METRIC_NAMES)
      .describe(
        'Metric that triggers: auc, accuracy, f1 (BinaryClassification, higher is better), logLoss (BinaryClassification, lower is better), ' +
          'r2 (Regression, higher is better), rmse, mae (Regression, lower is better).',
      ),
    min: z.number().min(-1e12).max(1e12).optional().describe('Degraded when the metric is below this value. Only for metrics where higher is better (auc, accuracy, f1, r2).'),
    max: z.number().min(-1e12).max(1e12).optional().describe('Degraded when the metric is above this value. Only for metrics where lower is better (logLoss, rmse, mae).'),
    maxDropFromServing: z
      .number()
      .min(0)
      .max(1e12)
      .optional()
      .describe(
        "Degraded when the metric is worse than the serving version's holdout value (status.versions[].metrics of the Model, as its trainer reported it) " +
          'by more than this, in the metric\'s own units: 0.05 with auc means "more than 5 points under the holdout AUC"; with rmse, "more than 0.05 above it".',
      ),
  }),
  [
    {
      rule: '(has(self.min) ? 1 : 0) + (has(self.max) ? 1 : 0) + (has(self.maxDropFromServing) ? 1 : 0) == 1',
      message: 'trigger must set exactly one of min, max or maxDropFromServing',
      check: (t) => [t.min, t.max, t.maxDropFromServing].filter((v) => v !== undefined).length === 1,
    },
    {
      rule: `!has(self.min) || self.metric in ${celList(HIGHER)}`,
      message: `trigger.min is for metrics where higher is better (${HIGHER.join(', ')}); for ${LOWER.join(', ')} use trigger.max`,
      fieldPath: '.min',
      path: ['min'],
      check: (t) => t.min === undefined || PERFORMANCE_METRICS[t.metric] === 'higher',
    },
    {
      rule: `!has(self.max) || self.metric in ${celList(LOWER)}`,
      message: `trigger.max is for metrics where lower is better (${LOWER.join(', ')}); for ${HIGHER.join(', ')} use trigger.min`,
      fieldPath: '.max',
      path: ['max'],
      check: (t) => t.max === undefined || PERFORMANCE_METRICS[t.metric] === 'lower',
    },
    {
      rule: `!has(self.min) || !(self.metric in ${celList(UNIT_METRICS)}) || (self.min >= 0.0 && self.min <= 1.0)`,
      message: `trigger.min must be between 0 and 1 for ${UNIT_METRICS.join(', ')} (they never leave that range)`,
      fieldPath: '.min',
      path: ['min'],
      check: (t) => t.min === undefined || !UNIT_METRICS.includes(t.metric) || (t.min >= 0 && t.min <= 1),
    },
    {
      rule: "!has(self.max) || self.metric != 'logLoss' || self.max > 0.0",
      message: 'trigger.max must be greater than 0 for logLoss (a log loss is never below 0)',
      fieldPath: '.max',
      path: ['max'],
      check: (t) => t.max === undefined || t.metric !== 'logLoss' || t.max > 0,
    },
  ],
).describe('When the performance counts as degraded: the metric and exactly one of min, max or maxDropFromServing.');

const classificationMetrics = TASK_METRICS.BinaryClassification;

export const PerformanceSpecSchema = withRules(
  z.object({
    labels: LabelsSourceSchema,
    prediction: PredictionSchema,
    task: z
      .enum(PERFORMANCE_TASKS)
      .describe('BinaryClassification (metrics accuracy, auc, f1, logLoss) or Regression (metrics rmse, mae, r2).'),
    threshold: z
      .number()
      .min(-1e12)
      .max(1e12)
      .default(0.5)
      .describe('BinaryClassification: a prediction at or above this score counts as the positive class (for accuracy and f1). Default 0.5.'),
    positiveLabel: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe(
        'BinaryClassification: the label value of the positive class, e.g. churned; every other value is the negative class. ' +
          'Unset: labels must be 0/1 or true/false, and 1/true is positive.',
      ),
    window: DurationSchema.default('168h').describe(
      'Predictions logged within this long (ending labelDelay before the check) are judged, e.g. 24h or 168h (7 days). Default 168h.',
    ),
    labelDelay: DurationSchema.default('0s').describe(
      'How long labels take to arrive: the window ends this long before the check, so predictions whose labels cannot be there yet are left out. Default 0s.',
    ),
    minLabelledRows: z
      .int()
      .min(1)
      .max(100_000_000)
      .default(100)
      .describe('Labelled predictions needed for a verdict; with fewer, PerformanceDegraded is Unknown (InsufficientLabels) and nothing triggers. Default 100.'),
    trigger: TriggerSchema.optional(),
  }),
  [
    {
      rule: `!has(self.trigger) || (self.task == 'BinaryClassification') == (self.trigger.metric in ${celList(classificationMetrics)})`,
      message:
        `trigger.metric must suit the task: ${TASK_METRICS.BinaryClassification.join(', ')} for BinaryClassification; ` +
        `${TASK_METRICS.Regression.join(', ')} for Regression`,
      fieldPath: '.trigger.metric',
      path: ['trigger', 'metric'],
      check: (p) => !p.trigger || TASK_METRICS[p.task].includes(p.trigger.metric),
    },
    {
      rule: "!has(self.positiveLabel) || self.task == 'BinaryClassification'",
      message: 'positiveLabel is only for task BinaryClassification',
      fieldPath: '.positiveLabel',
      reason: 'FieldValueForbidden',
      path: ['positiveLabel'],
      check: (p) => p.positiveLabel === undefined || p.task === 'BinaryClassification',
    },
  ],
).describe(
  "Realized performance: the Model's logged predictions (its spec.serving.predictionLog) joined by request id with ground-truth labels, " +
    'the metrics of the task per window, the label coverage, and an optional trigger that starts a retrain like drift does.',
);
export type PerformanceSpec = z.output<typeof PerformanceSpecSchema>;

const PerformanceMetricsSchema = z
  .object(Object.fromEntries(METRIC_NAMES.map((m) => [m, z.number().optional().describe(`${m} of the labelled predictions.`)])) as Record<PerformanceMetric, z.ZodOptional<z.ZodNumber>>)
  .describe('The metrics of the task; a metric that cannot be computed (AUC with one class only) is absent and listed in unavailableMetrics.');

const UnavailableMetricSchema = z
  .object({
    metric: z.enum(METRIC_NAMES).describe('The metric.'),
    reason: z.string().max(512).describe('Why it could not be computed.'),
  })
  .describe('A metric of the task that could not be computed for this window.');

export const PerformanceStatusSchema = z
  .object({
    checkTime: TimestampSchema.describe('When the check that computed these figures ran.'),
    windowStart: TimestampSchema.describe('Start of the judged window of logged predictions (inclusive).'),
    windowEnd: TimestampSchema.describe('End of the judged window (exclusive): the check time minus labelDelay.'),
    predictions: z.int().min(0).describe('Logged prediction rows in the window (a request of N rows counts N).'),
    labelled: z.int().min(0).describe('Prediction rows with a usable label: the rows the metrics are computed on.'),
    coverage: z.number().min(0).max(1).describe('Share of distinct prediction ids in the window that have a label (0 to 1).'),
    duplicateIds: z.int().min(0).describe('Prediction rows not judged because a later row of the window carries the same id.'),
    unmatchedLabels: z.int().min(0).describe('Labels whose id matches no prediction of the window (unknown ids, or predictions outside it).'),
    conflictingLabels: z.int().min(0).describe('Label rows that repeated an id with a different value; the latest file wins.'),
    excludedRows: z
      .int()
      .min(0)
      .describe('Joined rows left out of the metrics: the prediction is missing or not a number, or the label cannot be read as the task needs.'),
    labelFiles: z.int().min(0).describe('Label files read (those modified since the window start).'),
    skippedLabelFiles: z.int().min(0).describe('Label files that could not be read or parsed, skipped whole.'),
    incompleteLabels: z.int().min(0).describe('Label rows without an id or a value.'),
    skippedRecords: z.int().min(0).describe('Log objects, lines or requests of the window that could not be read or hold no such output, skipped.'),
    metrics: PerformanceMetricsSchema,
    unavailableMetrics: listMap(z.array(UnavailableMetricSchema).max(8), ['metric']).optional().describe('Metrics of the task that could not be computed, with the reason.'),
    baseline: z
      .object({
        version: z.string().max(32).describe('The serving version.'),
        metric: z.enum(METRIC_NAMES).describe('The trigger metric.'),
        value: z.number().describe("The metric on the version's holdout, as its trainer reported it."),
      })
      .optional()
      .describe("The serving version's holdout value of the trigger metric, when the Model records it."),
    degraded: z.boolean().describe('Whether this check found the performance degraded: at least minLabelledRows labelled rows and the trigger breached.'),
  })
  .describe('Realized performance of the last check that evaluated spec.performance.');
export type PerformanceStatus = z.output<typeof PerformanceStatusSchema>;
export type PerformanceMetrics = z.output<typeof PerformanceMetricsSchema>;
