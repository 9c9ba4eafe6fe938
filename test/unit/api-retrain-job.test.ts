// RetrainJob spec: defaults and refusals (trainer one-of, acceptance, output).
import { describe, expect, it } from 'vitest';
import { assertSpec, parseSpec, type RetrainJobSpecInput } from '../../src/api/index.js';

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
