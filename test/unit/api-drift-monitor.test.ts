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
    expect(spec.retrain).toEqual({ enabled: false, consecutiveChecks: 1, cooldown: '6h', maxConcurrent: 1 });
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
