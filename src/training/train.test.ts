import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildLogisticModel } from '../serving/onnx-builder.js';
import type { TrainConfig } from './config.js';
import { normal, seededRandom } from './random.js';
import { train } from './train.js';

const FEATURES = ['tenure', 'spend', 'visits'].map((name) => ({ name, type: 'numeric' as const }));
let dir: string;
const uri = (f: string) => pathToFileURL(join(dir, f)).href;

/** Rows of three features; `label` maps them to the target column. */
function csv(rows: number, seed: number, label: (x: number[], g: () => number) => number, shift = 0): string {
  const g = normal(seededRandom(seed));
  const lines = ['tenure,spend,visits,target'];
  for (let i = 0; i < rows; i++) {
    const x = [g() + shift, 2 * g() + 5, g() - 1];
    lines.push([...x, label(x, g)].join(','));
  }
  return lines.join('\n') + '\n';
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const config = (dataset: string, builtin: Partial<TrainConfig['builtin']>, over: Partial<TrainConfig> = {}): TrainConfig => ({
  datasetUri: uri(dataset),
  outputUri: uri('out/'),
  modelFeatures: FEATURES,
  builtin: { algorithm: 'linear', target: 'target', validationSplit: 0.2, seed: 7, ...builtin },
  ...over,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fluxora-train-'));
  // Noise-free linear target: least squares must recover it exactly.
  await writeFile(join(dir, 'exact.csv'), csv(500, 1, (x) => 3 * x[0]! - 0.5 * x[1]! + 2 * x[2]! + 4));
  await writeFile(join(dir, 'binary.csv'), csv(3000, 2, (x, g) => (g() * 0.3 + sigmoid(1.5 * x[0]! - 0.6 * (x[1]! - 5) + 0.8 * x[2]!) > 0.5 ? 1 : 0)));
  await writeFile(join(dir, 'small.csv'), csv(600, 8, (x, g) => (x[0]! + x[2]! + g() > 0 ? 1 : 0)));
  await writeFile(join(dir, 'noisy.csv'), csv(1000, 3, (x, g) => 0.5 * x[0]! + g()));
  await writeFile(join(dir, 'served.onnx'), buildLogisticModel({ weights: [[1.5], [-0.6], [0.8]], bias: [3], inputName: 'features', outputName: 'churn_probability' }));
});

describe('fluxora train', { timeout: 60_000 }, () => {
  it('linear regression recovers a noise-free linear target exactly', async () => {
    const r = await train(config('exact.csv', { algorithm: 'linear' }));
    expect(r.metrics.r2).toBeCloseTo(1, 9);
    expect(r.metrics.rmse as number).toBeLessThan(1e-4); // FP32 export of the weights
    expect(r.metrics.dataset).toMatchObject({ rows: 500, droppedRows: 0, trainRows: 400, validationRows: 100 });
  });

  it.each(['linear', 'logistic', 'mlp'] as const)('%s: onnxruntime on the exported model predicts what the trainer predicts', async (algorithm) => {
    const r = await train(config({ linear: 'noisy.csv', logistic: 'binary.csv', mlp: 'small.csv' }[algorithm], { algorithm }));
    expect(r.holdout.own.length).toBeGreaterThan(0);
    r.holdout.own.forEach((v, i) => expect(r.holdout.onnx[i]).toBeCloseTo(v, 4));
  });

  it('logistic regression learns the signal and reports the gate metrics', async () => {
    const r = await train(config('binary.csv', { algorithm: 'logistic' }));
    expect(r.metrics).toMatchObject({ task: 'classification', algorithm: 'logistic', target: 'target', features: ['tenure', 'spend', 'visits'] });
    expect(r.metrics.auc as number).toBeGreaterThan(0.85);
    for (const m of ['accuracy', 'logloss', 'precision', 'recall', 'f1']) expect(typeof r.metrics[m]).toBe('number');
    // Only quality metrics are top-level numbers (the gate reads those); the run's details are nested.
    expect(Object.keys(r.metrics).filter((k) => typeof r.metrics[k] === 'number').sort()).toEqual(['accuracy', 'auc', 'f1', 'logloss', 'precision', 'recall']);
    expect(r.metrics.split).toEqual({ seed: 7, validationSplit: 0.2 });
  });

  it('the mlp is at least as good as logistic regression on a non-linear boundary', async () => {
    await writeFile(join(dir, 'ring.csv'), csv(1000, 4, (x) => (x[0]! ** 2 + (x[2]! + 1) ** 2 < 1.4 ? 1 : 0)));
    const lin = await train(config('ring.csv', { algorithm: 'logistic' }));
    const mlp = await train(config('ring.csv', { algorithm: 'mlp' }));
    expect(lin.metrics.auc as number).toBeLessThan(0.7); // a circle is not linearly separable
    expect(mlp.metrics.auc as number).toBeGreaterThan(0.95);
  });

  it('is reproducible: the same seed gives the same bytes, another seed another split', async () => {
    const a = await train(config('small.csv', { algorithm: 'mlp', seed: 3 }));
    const b = await train(config('small.csv', { algorithm: 'mlp', seed: 3 }));
    const c = await train(config('small.csv', { algorithm: 'mlp', seed: 4 }));
    expect(Buffer.from(a.model).equals(Buffer.from(b.model))).toBe(true);
    expect(a.metrics).toEqual(b.metrics);
    expect(Buffer.from(a.model).equals(Buffer.from(c.model))).toBe(false);
    expect(a.metrics.logloss).not.toEqual(c.metrics.logloss);
  });

  it('evaluates the served model on the same holdout and keeps its input and output names', async () => {
    const r = await train(config('binary.csv', { algorithm: 'logistic' }, { servingUri: uri('served.onnx') }));
    const serving = r.metrics.serving as Record<string, number>;
    // The served model has the right direction but a biased intercept: same ranking, worse calibration.
    expect(serving.auc).toBeCloseTo(r.metrics.auc as number, 1);
    expect(serving.logloss).toBeGreaterThan(r.metrics.logloss as number);
    const text = Buffer.from(r.model).toString('latin1');
    expect(text).toContain('features');
    expect(text).toContain('churn_probability');
  });

  it('still trains when the served model cannot be read, and says why', async () => {
    const r = await train(config('binary.csv', { algorithm: 'logistic' }, { servingUri: uri('missing.onnx') }));
    expect(r.metrics.serving).toBeUndefined();
    expect(r.metrics.servingError).toMatch(/cannot read the served model: .*missing\.onnx/);
  });

  it('drops rows with missing values and counts them', async () => {
    await writeFile(join(dir, 'gaps.csv'), csv(100, 5, (x) => x[0]!).replace(/\n([^,\n]+),/g, (m, a: string, off: number) => (off % 7 === 0 ? '\n,' : m)));
    const r = await train(config('gaps.csv', { algorithm: 'linear' }));
    const ds = r.metrics.dataset as { rows: number; droppedRows: number; trainRows: number; validationRows: number };
    expect(ds.droppedRows).toBeGreaterThan(0);
    expect(ds.trainRows + ds.validationRows + ds.droppedRows).toBe(100);
  });

  it.each([
    ['a missing target column', 'tenure,spend,visits\n1,2,3\n', {}, /missing columns? "target"/],
    ['a non-numeric value', 'tenure,spend,visits,target\n1,2,3,1\n1,x,3,0\n', {}, /:3: column "spend": "x" is not a number/],
    ['an empty file', '', {}, /the data set is empty/],
    ['a header only', 'tenure,spend,visits,target\n', {}, /0 usable rows .* at least 10 are needed/],
    ['a non-binary target for logistic', csv(50, 6, (x) => x[0]!), { algorithm: 'logistic' as const }, /target "target" must be 0 or 1 for logistic regression/],
  ])('refuses %s with a clear message', async (_what, text, builtin, message) => {
    const name = `bad-${Math.random().toString(36).slice(2)}.csv`;
    await writeFile(join(dir, name), text);
    await expect(train(config(name, builtin))).rejects.toThrow(message);
  });

  it('refuses categorical features and a target listed as a feature', async () => {
    await expect(train(config('exact.csv', {}, { modelFeatures: [...FEATURES.slice(0, 2), { name: 'visits', type: 'categorical' }] }))).rejects.toThrow(
      /numeric features only; visits is categorical/,
    );
    await expect(train(config('exact.csv', { features: ['tenure', 'target'] }))).rejects.toThrow(/the target "target" is also listed as a feature/);
  });
});
