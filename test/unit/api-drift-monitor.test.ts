// DriftMonitor spec: defaults (current, retrain, methods) and refusals.
import { describe, expect, it } from 'vitest';
import { assertSpec, parseSpec, type DriftMonitorSpecInput } from '../../src/api/index.js';

const base = (): DriftMonitorSpecInput => ({
  modelRef: { name: 'churn' },
  schedule: '*/15 * * * *',
  reference: { uri: 's3://data/churn/reference.csv' },
});

const template = {
  trainer: { builtin: { algorithm: 'logistic' as const, target: 'churned' } },
  dataset: { uri: 's3://data/churn/train.csv' },
  output: { uri: 's3://models/churn/' },
};

function refused(spec: unknown): string {
  const r = parseSpec('DriftMonitor', spec);
  if (r.success) throw new Error('expected the spec to be refused');
  return r.message;
}

describe('DriftMonitor spec', () => {
  it('applies defaults: live traffic, report only', () => {
    const spec = assertSpec('DriftMonitor', base());
    expect(spec.suspend).toBe(false);
    expect(spec.current).toEqual({ source: 'Serving', minSamples: 500, maxSamples: 10000 });
    expect(spec.datasetDriftShare).toBe(0.5);
    expect(spec.retrain).toEqual({ enabled: false, consecutiveChecks: 1, cooldown: '6h', maxConcurrent: 1, maxConsecutiveRejections: 3 });
  });

  it("accepts a reference that follows the serving version's training data, with credentials", () => {
    const spec = assertSpec('DriftMonitor', { ...base(), reference: { fromServingVersion: true, credentialsSecretRef: { name: 's3' } } });
    expect(spec.reference).toEqual({ fromServingVersion: true, credentialsSecretRef: { name: 's3' } });
    expect(parseSpec('DriftMonitor', { ...base(), reference: { uri: 's3://data/r.csv', fromServingVersion: false } }).success).toBe(true);
  });

  it.each([
    ['both a uri and fromServingVersion', { uri: 's3://data/r.csv', fromServingVersion: true }],
    ['neither', {}],
    ['fromServingVersion: false alone', { fromServingVersion: false }],
  ])('refuses a reference with %s', (_, reference) => {
    expect(refused({ ...base(), reference })).toContain('spec.reference: reference must set exactly one of uri (a fixed data set) or fromServingVersion: true');
  });

  it('refuses a retrain budget below 1', () => {
    expect(refused({ ...base(), retrain: { maxConsecutiveRejections: 0 } })).toContain('spec.retrain.maxConsecutiveRejections');
  });

  it('defaults feature methods to auto and the template like a RetrainJob', () => {
    const spec = assertSpec('DriftMonitor', { ...base(), features: [{ name: 'tenure' }], retrain: { enabled: true, template } });
    expect(spec.features).toEqual([{ name: 'tenure', method: 'auto' }]);
    expect(spec.retrain.template).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 3600, trainer: { builtin: { validationSplit: 0.2 } } });
  });

  it("accepts a retrain template that trains on the prediction log, defaulted like a RetrainJob's", () => {
    const spec = assertSpec('DriftMonitor', {
      ...base(),
      retrain: { enabled: true, template: { ...template, dataset: { predictionLog: { window: '72h', labels: { uri: 's3://data/churn/labels/' } } } } },
    });
    expect(spec.retrain.template?.dataset).toEqual({
      predictionLog: { window: '72h', labelDelay: '0s', minRows: 100, labels: { uri: 's3://data/churn/labels/', idColumn: 'id', labelColumn: 'label' } },
    });
    const both = parseSpec('DriftMonitor', { ...base(), retrain: { template: { ...template, dataset: { uri: 's3://data/x.csv', predictionLog: { labels: { uri: 's3://data/labels/' } } } } } });
    expect(both.success ? '' : both.message).toContain('spec.retrain.template.dataset: dataset must set exactly one of uri (a data file) or predictionLog');
  });

  it.each(['@hourly', '0 3 * * *', '*/5 1-3,7 ? JAN-MAR mon-fri', '15,45 */2 1 1-12/3 0', '*/01 * * * *', '5/2 * * * *', '1-1 * * * *', '0 0 * * SUN-sat'])('accepts the schedule %s', (schedule) => {
    expect(parseSpec('DriftMonitor', { ...base(), schedule }).success).toBe(true);
  });

  it.each([
    ['a schedule with four fields', { schedule: '* * * *' }, 'spec.schedule: must be a cron schedule'],
    ['a minute out of range', { schedule: '61 * * * *' }, 'spec.schedule'],
    ['prose as a schedule', { schedule: 'every 5 minutes' }, 'spec.schedule'],
    // What the CronJob's validation refuses (issue 13, item 2): the CRD must refuse it first.
    ['a step of zero', { schedule: '*/0 * * * *' }, 'spec.schedule: must be a cron schedule'],
    ['a step of 00', { schedule: '0 */00 * * *' }, 'spec.schedule: must be a cron schedule'],
    ['a range backwards', { schedule: '5-2 * * * *' }, 'spec.schedule: every range of the schedule must run forwards'],
    ['day names backwards', { schedule: '0 0 * * sat-sun' }, 'spec.schedule: every range of the schedule must run forwards'],
    ['month names backwards', { schedule: '0 0 1 dec-jan *' }, 'spec.schedule: every range of the schedule must run forwards'],
    ['an unknown day name', { schedule: '0 0 * * xyz' }, 'spec.schedule: must be a cron schedule'],
    ['a month name as a day', { schedule: '0 0 * * jan' }, 'spec.schedule: must be a cron schedule'],
    ['day of week 7', { schedule: '0 0 * * 7' }, 'spec.schedule: must be a cron schedule'],
    ['a template metric logistic never writes', { retrain: { template: { trainer: { builtin: { algorithm: 'logistic', target: 'y' } }, dataset: { uri: 's3://d/t.csv' }, output: { uri: 's3://m/' }, acceptance: { metric: 'rmse', max: 2 } } } }, 'spec.retrain.template.acceptance.metric: acceptance.metric must be one the built-in algorithm reports'],
    ['an unknown drift method', { features: [{ name: 'a', method: 'magic' }] }, 'spec.features[0].method'],
    ['a ks threshold above 1', { features: [{ name: 'a', method: 'ks', threshold: 1.5 }] }, 'spec.features[0].threshold: threshold must be between 0 and 1'],
    ['a negative threshold', { features: [{ name: 'a', method: 'psi', threshold: -0.1 }] }, 'spec.features[0].threshold'],
    ['duplicate features', { features: [{ name: 'a' }, { name: 'a' }] }, 'spec.features: feature names must be unique'],
    ['both current source and uri', { current: { source: 'Serving', uri: 's3://d/c.csv' } }, 'spec.current: current must set exactly one'],
    ['neither current source nor uri', { current: { minSamples: 10 } }, 'spec.current'],
    ['minSamples above maxSamples', { current: { source: 'Serving', minSamples: 100, maxSamples: 10 } }, 'spec.current.minSamples'],
    ['an unknown current source', { current: { source: 'Kafka' } }, 'spec.current.source'],
    ['a window with a data set', { current: { uri: 's3://data/c.csv', window: '6h' } }, 'spec.current.window: current.window applies only to source PredictionLog'],
    ['a window with live samples', { current: { source: 'Serving', window: '6h' } }, 'spec.current.window: current.window applies only to source PredictionLog'],
    ['a window of zero', { current: { source: 'PredictionLog', window: '0s' } }, 'spec.current.window: current.window must be longer than 0'],
    ['a window beyond 90 days', { current: { source: 'PredictionLog', window: '2161h' } }, 'spec.current.window: current.window must be longer than 0 and at most 2160h'],
    ['a window in days', { current: { source: 'PredictionLog', window: '7d' } }, 'spec.current.window'],
    ['current credentials with the log', { current: { source: 'PredictionLog', credentialsSecretRef: { name: 's3' } } }, "spec.current.credentialsSecretRef: current.credentialsSecretRef does not apply to source PredictionLog"],
    ['outputs with live samples', { outputs: [{ name: 'score' }] }, 'spec.outputs: outputs need current.source: PredictionLog or current.uri'],
    ['outputs with an explicit Serving source', { current: { source: 'Serving' }, outputs: [{ name: 'score' }] }, 'spec.outputs: outputs need current.source'],
    ['duplicate outputs', { current: { source: 'PredictionLog' }, outputs: [{ name: 'score' }, { name: 'score' }] }, 'spec.outputs: output names must be unique'],
    ['an output named like a feature', { current: { source: 'PredictionLog' }, features: [{ name: 'tenure' }], outputs: [{ name: 'tenure' }] }, 'spec.outputs: an output must not have the name of a feature'],
    ['an output ks threshold above 1', { current: { source: 'PredictionLog' }, outputs: [{ name: 's', method: 'ks', threshold: 2 }] }, 'spec.outputs[0].threshold: threshold must be between 0 and 1'],
    ['a negative output index', { current: { source: 'PredictionLog' }, outputs: [{ name: 's', index: -1 }] }, 'spec.outputs[0].index'],
    ['an unknown output type', { current: { source: 'PredictionLog' }, outputs: [{ name: 's', type: 'text' }] }, 'spec.outputs[0].type'],
    ['an output name with a space', { current: { source: 'PredictionLog' }, outputs: [{ name: 'my score' }] }, 'spec.outputs[0].name'],
    ['a drift share above 1', { datasetDriftShare: 2 }, 'spec.datasetDriftShare'],
    ['retrain enabled without a template', { retrain: { enabled: true } }, 'spec.retrain.template: retrain.template is required'],
    ['a bad cooldown', { retrain: { cooldown: '6 hours' } }, 'spec.retrain.cooldown'],
    ['zero consecutive checks', { retrain: { consecutiveChecks: 0 } }, 'spec.retrain.consecutiveChecks'],
  ])('refuses %s', (_what, patch, expected) => {
    expect(refused({ ...base(), ...patch })).toContain(expected);
  });

  it('reads the prediction log: no window default in the schema (the check applies 24h), outputs default to numeric, index 0, auto', () => {
    const spec = assertSpec('DriftMonitor', { ...base(), current: { source: 'PredictionLog' }, outputs: [{ name: 'score', output: 'probability' }] });
    expect(spec.current).toEqual({ source: 'PredictionLog', minSamples: 500, maxSamples: 10000 });
    expect(spec.outputs).toEqual([{ name: 'score', output: 'probability', index: 0, type: 'numeric', method: 'auto' }]);
    const windowed = assertSpec('DriftMonitor', { ...base(), current: { source: 'PredictionLog', window: '1h30m', minSamples: 50 } });
    expect(windowed.current).toMatchObject({ source: 'PredictionLog', window: '1h30m', minSamples: 50 });
  });

  it('accepts outputs with a data set as current data', () => {
    const spec = assertSpec('DriftMonitor', { ...base(), current: { uri: 's3://data/scored.csv' }, outputs: [{ name: 'class', type: 'categorical', method: 'chisquare', threshold: 0.01 }] });
    expect(spec.outputs?.[0]).toMatchObject({ name: 'class', type: 'categorical', method: 'chisquare', threshold: 0.01 });
  });

  it('accepts a data set as current data, with a higher threshold for distances', () => {
    const spec = assertSpec('DriftMonitor', {
      ...base(),
      current: { uri: 's3://data/churn/last-week.csv' },
      features: [{ name: 'spend', method: 'wasserstein', threshold: 2.5 }],
    });
    expect(spec.current.uri).toBe('s3://data/churn/last-week.csv');
  });
});

describe('DriftMonitor spec.performance', () => {
  const performance = (patch: Record<string, unknown> = {}) => ({
    labels: { uri: 's3://labels/churn/' },
    prediction: { output: 'probabilities', index: 1 },
    task: 'BinaryClassification',
    ...patch,
  });

  it('applies defaults: id and label columns, threshold 0.5, a 168h window without delay, 100 labelled rows', () => {
    const spec = assertSpec('DriftMonitor', { ...base(), performance: performance() });
    expect(spec.performance).toEqual({
      labels: { uri: 's3://labels/churn/', idColumn: 'id', labelColumn: 'label' },
      prediction: { output: 'probabilities', index: 1 },
      task: 'BinaryClassification',
      threshold: 0.5,
      window: '168h',
      labelDelay: '0s',
      minLabelledRows: 100,
    });
    expect(assertSpec('DriftMonitor', base()).performance).toBeUndefined();
  });

  it.each([
    ['auc', { metric: 'auc', min: 0.75 }],
    ['accuracy', { metric: 'accuracy', maxDropFromServing: 0.05 }],
    ['logLoss', { metric: 'logLoss', max: 0.6 }],
    ['f1', { metric: 'f1', min: 0 }],
  ])('accepts a BinaryClassification trigger on %s', (_m, trigger) => {
    expect(parseSpec('DriftMonitor', { ...base(), performance: performance({ trigger }) }).success).toBe(true);
  });

  it.each([
    ['rmse', { metric: 'rmse', max: 3.5 }],
    ['mae', { metric: 'mae', maxDropFromServing: 0.5 }],
    ['r2', { metric: 'r2', min: -0.5 }],
  ])('accepts a Regression trigger on %s', (_m, trigger) => {
    const spec = { ...base(), performance: performance({ task: 'Regression', prediction: { output: 'variable' }, trigger }) };
    expect(parseSpec('DriftMonitor', spec).success).toBe(true);
  });

  it.each([
    ['no labels', { labels: undefined }, 'spec.performance.labels'],
    ['an http labels uri', { labels: { uri: 'https://example.com/labels/' } }, 'spec.performance.labels.uri: labels.uri must be listable: use s3://, pvc:// or file://'],
    ['no prediction output', { prediction: {} }, 'spec.performance.prediction.output'],
    ['an unknown task', { task: 'MultiClass' }, 'spec.performance.task'],
    ['a negative output index', { prediction: { output: 'p', index: -1 } }, 'spec.performance.prediction.index'],
    ['a window in days', { window: '7d' }, 'spec.performance.window'],
    ['a bad label delay', { labelDelay: 'two hours' }, 'spec.performance.labelDelay'],
    ['zero labelled rows', { minLabelledRows: 0 }, 'spec.performance.minLabelledRows'],
    ['a trigger without a bound', { trigger: { metric: 'auc' } }, 'spec.performance.trigger: trigger must set exactly one of min, max or maxDropFromServing'],
    ['a trigger with two bounds', { trigger: { metric: 'auc', min: 0.7, maxDropFromServing: 0.1 } }, 'spec.performance.trigger: trigger must set exactly one of min, max or maxDropFromServing'],
    ['a max on auc', { trigger: { metric: 'auc', max: 0.7 } }, 'spec.performance.trigger.max: trigger.max is for metrics where lower is better (logLoss, rmse, mae); for auc, accuracy, f1, r2 use trigger.min'],
    ['a min on logLoss', { trigger: { metric: 'logLoss', min: 0.2 } }, 'spec.performance.trigger.min: trigger.min is for metrics where higher is better (auc, accuracy, f1, r2); for logLoss, rmse, mae use trigger.max'],
    ['an auc minimum above 1', { trigger: { metric: 'auc', min: 75 } }, 'spec.performance.trigger.min: trigger.min must be between 0 and 1 for auc, accuracy, f1'],
    ['a log loss maximum of 0', { trigger: { metric: 'logLoss', max: 0 } }, 'spec.performance.trigger.max: trigger.max must be greater than 0 for logLoss'],
    ['a negative drop', { trigger: { metric: 'auc', maxDropFromServing: -0.1 } }, 'spec.performance.trigger.maxDropFromServing'],
    ['an unknown metric', { trigger: { metric: 'precision', min: 0.5 } }, 'spec.performance.trigger.metric'],
    ['a regression metric for a classifier', { trigger: { metric: 'rmse', max: 2 } }, 'spec.performance.trigger.metric: trigger.metric must suit the task: accuracy, auc, f1, logLoss for BinaryClassification; rmse, mae, r2 for Regression'],
    ['a classification metric for a regression', { task: 'Regression', trigger: { metric: 'auc', min: 0.7 } }, 'spec.performance.trigger.metric: trigger.metric must suit the task'],
    ['a positive label for a regression', { task: 'Regression', positiveLabel: 'yes' }, 'spec.performance.positiveLabel: positiveLabel is only for task BinaryClassification'],
  ])('refuses %s', (_what, patch, expected) => {
    expect(refused({ ...base(), performance: performance(patch) })).toContain(expected);
  });
});
