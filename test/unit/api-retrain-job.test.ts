// RetrainJob spec: defaults and refusals (trainer one-of, dataset one-of, acceptance, output).
import { describe, expect, it } from 'vitest';
import { assertSpec, LabelsSourceSchema, parseSpec, type RetrainJobSpecInput } from '../../src/api/index.js';

const base = (): RetrainJobSpecInput => ({
  modelRef: { name: 'churn' },
  trainer: { builtin: { algorithm: 'logistic', target: 'churned' } },
  dataset: { uri: 's3://data/churn/train.csv' },
  output: { uri: 's3://models/churn/' },
});

function refused(spec: unknown): string {
  const r = parseSpec('RetrainJob', spec);
  if (r.success) throw new Error('expected the spec to be refused');
  return r.message;
}

describe('RetrainJob spec', () => {
  it('applies defaults', () => {
    const spec = assertSpec('RetrainJob', { ...base(), acceptance: { metric: 'auc', min: 0.7 } });
    expect(spec.backoffLimit).toBe(2);
    expect(spec.activeDeadlineSeconds).toBe(3600);
    expect(spec.trainer.builtin?.validationSplit).toBe(0.2);
    expect(spec.acceptance).toEqual({ metric: 'auc', min: 0.7, mustBeatServing: false });
  });

  it('accepts a container trainer', () => {
    const spec = assertSpec('RetrainJob', {
      ...base(),
      trainer: { container: { image: 'ghcr.io/acme/trainer:1', args: ['--epochs', '3'], env: [{ name: 'LR', value: '0.1' }], resources: { limits: { memory: '2Gi' } } } },
    });
    expect(spec.trainer.container?.env).toEqual([{ name: 'LR', value: '0.1' }]);
  });

  it('accepts the prediction log as the data set, with its defaults: 7 days, no label delay, labels id/label, 100 rows', () => {
    const spec = assertSpec('RetrainJob', { ...base(), dataset: { predictionLog: { labels: { uri: 's3://data/churn/labels/' } } } });
    expect(spec.dataset).toEqual({
      predictionLog: { window: '168h', labelDelay: '0s', minRows: 100, labels: { uri: 's3://data/churn/labels/', idColumn: 'id', labelColumn: 'label' } },
    });
    const set = assertSpec('RetrainJob', {
      ...base(),
      dataset: { predictionLog: { window: '24h', labelDelay: '1h30m', minRows: 5000, labels: { uri: 'pvc://labels/churn/', credentialsSecretRef: { name: 'labels' }, idColumn: 'request_id', labelColumn: 'churned' } } },
    });
    expect(set.dataset.predictionLog).toMatchObject({ window: '24h', labelDelay: '1h30m', minRows: 5000, labels: { idColumn: 'request_id', credentialsSecretRef: { name: 'labels' } } });
  });

  it('LabelsSourceSchema (shared with the performance check) defaults the id and label columns', () => {
    expect(LabelsSourceSchema.parse({ uri: 's3://bucket/labels/' })).toEqual({ uri: 's3://bucket/labels/', idColumn: 'id', labelColumn: 'label' });
  });

  it('accepts the longest window, a year', () => {
    expect(parseSpec('RetrainJob', { ...base(), dataset: { predictionLog: { window: '8760h', labels: { uri: 's3://data/labels/' } } } }).success).toBe(true);
  });

  const fromLog = (predictionLog: Record<string, unknown>) => ({ dataset: { predictionLog: { labels: { uri: 's3://data/labels/' }, ...predictionLog } } });
  it.each([
    ['both a file and the log', { dataset: { uri: 's3://data/x.csv', predictionLog: { labels: { uri: 's3://data/labels/' } } } }, 'spec.dataset: dataset must set exactly one of uri (a data file) or predictionLog'],
    ['neither a file nor the log', { dataset: {} }, 'spec.dataset: dataset must set exactly one of uri'],
    ['file credentials with the log', { dataset: { credentialsSecretRef: { name: 's' }, predictionLog: { labels: { uri: 's3://data/labels/' } } } }, 'spec.dataset.credentialsSecretRef: dataset.credentialsSecretRef goes with dataset.uri'],
    ['the log without labels', { dataset: { predictionLog: {} } }, 'spec.dataset.predictionLog.labels'],
    ['labels over http', fromLog({ labels: { uri: 'https://example.com/labels/' } }), 'spec.dataset.predictionLog.labels.uri: labels.uri must be listable'],
    ['a zero window', fromLog({ window: '0s' }), 'spec.dataset.predictionLog.window: predictionLog.window must be a duration above 0 and at most 8760h'],
    ['a window over a year', fromLog({ window: '8761h' }), 'spec.dataset.predictionLog.window: predictionLog.window must be a duration above 0'],
    ['a window too long to compare', fromLog({ window: '999999999h' }), 'spec.dataset.predictionLog.window: predictionLog.window must be'],
    ['a window in days', fromLog({ window: '7d' }), 'spec.dataset.predictionLog.window'],
    ['a label delay over a year', fromLog({ labelDelay: '9000h' }), 'spec.dataset.predictionLog.labelDelay: predictionLog.labelDelay must be a duration of at least 0'],
    ['zero minRows', fromLog({ minRows: 0 }), 'spec.dataset.predictionLog.minRows'],
    ['an empty id column', fromLog({ labels: { uri: 's3://data/labels/', idColumn: '' } }), 'spec.dataset.predictionLog.labels.idColumn'],
  ])('refuses a data set with %s', (_what, patch, expected) => {
    expect(refused({ ...base(), ...patch })).toContain(expected);
  });

  it.each([
    ['both trainers', { trainer: { builtin: { algorithm: 'mlp', target: 'y' }, container: { image: 'x' } } }, 'spec.trainer: trainer must set exactly one'],
    ['no trainer', { trainer: {} }, 'spec.trainer: trainer must set exactly one'],
    ['an unknown algorithm', { trainer: { builtin: { algorithm: 'xgboost', target: 'y' } } }, 'spec.trainer.builtin.algorithm'],
    ['a validation split of 1', { trainer: { builtin: { algorithm: 'mlp', target: 'y', validationSplit: 1 } } }, 'spec.trainer.builtin.validationSplit'],
    ['a validation split of 0', { trainer: { builtin: { algorithm: 'mlp', target: 'y', validationSplit: 0 } } }, 'spec.trainer.builtin.validationSplit'],
    ['reserved env names', { trainer: { container: { image: 'x', env: [{ name: 'FLUXORA_OUTPUT_URI', value: '/' }] } } }, 'spec.trainer.container.env: environment variables starting with FLUXORA_'],
    ['an http output', { output: { uri: 'https://example.com/out/' } }, 'spec.output.uri: output.uri must be writable'],
    ['acceptance min above max', { acceptance: { metric: 'auc', min: 0.9, max: 0.5 } }, 'spec.acceptance.min'],
    ['acceptance without a criterion', { acceptance: { metric: 'auc' } }, 'spec.acceptance: acceptance needs at least one criterion'],
    ['an unknown metric', { acceptance: { metric: 'bleu', min: 1 } }, 'spec.acceptance.metric'],
    // Metrics the built-in algorithm never writes (issue 13, item 10).
    ['auc with linear', { trainer: { builtin: { algorithm: 'linear', target: 'y' } }, acceptance: { metric: 'auc', min: 0.7 } }, 'spec.acceptance.metric: acceptance.metric must be one the built-in algorithm reports'],
    ['rmse with logistic', { acceptance: { metric: 'rmse', max: 2 } }, 'spec.acceptance.metric: acceptance.metric must be one'],
    ['a request above its limit', { trainer: { container: { image: 'x', resources: { requests: { memory: '1Gi' }, limits: { memory: '512Mi' } } } } }, 'spec.trainer.container.resources.requests: resources.requests must be less than or equal'],
    ['backoffLimit above 10', { backoffLimit: 11 }, 'spec.backoffLimit'],
    ['a zero deadline', { activeDeadlineSeconds: 0 }, 'spec.activeDeadlineSeconds'],
    ['no modelRef', { modelRef: undefined }, 'spec.modelRef'],
  ])('refuses %s', (_what, patch, expected) => {
    expect(refused({ ...base(), ...patch })).toContain(expected);
  });
});
