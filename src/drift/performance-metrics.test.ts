// The performance metrics against scikit-learn 1.9 on the cases
// hack/performance-fixtures.py generated (test/fixtures/performance/metrics.json):
// every metric to 1e-9 relative, and each metric scikit-learn refuses
// reported unavailable with a reason. Then how labels become classes and which
// rows are left out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PerformanceMetric } from '../api/index.js';
import { binaryClassOf, binaryMetrics, computePerformance, regressionMetrics, rocAuc } from './performance-metrics.js';

interface Case {
  name: string;
  task: 'BinaryClassification' | 'Regression';
  threshold?: number;
  y: number[];
  prediction: number[];
  expected: Partial<Record<PerformanceMetric, number | null>>;
}

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'performance', 'metrics.json'), 'utf8')) as { generator: string; cases: Case[] };

const close = (actual: number | undefined, expected: number, what: string) => {
  expect(actual, what).toBeDefined();
  expect(Math.abs(actual! - expected), `${what}: ${actual} vs scikit-learn's ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
};

describe('performance metrics against scikit-learn', () => {
  it('has cases of both tasks, with metrics scikit-learn refuses among them', () => {
    expect(fixture.generator).toContain('scikit-learn 1.9');
    expect(new Set(fixture.cases.map((c) => c.task))).toEqual(new Set(['BinaryClassification', 'Regression']));
    expect(fixture.cases.some((c) => c.expected.auc === null)).toBe(true);
    expect(fixture.cases.some((c) => c.expected.logLoss === null)).toBe(true);
    expect(fixture.cases.some((c) => c.expected.r2 === null)).toBe(true);
  });

  it.each(fixture.cases.map((c) => [`${c.task}: ${c.name}`, c] as const))('%s', (_name, c) => {
    const r =
      c.task === 'BinaryClassification'
        ? binaryMetrics(Uint8Array.from(c.y), Float64Array.from(c.prediction), c.threshold ?? 0.5)
        : regressionMetrics(Float64Array.from(c.y), Float64Array.from(c.prediction));
    for (const [metric, expected] of Object.entries(c.expected) as [PerformanceMetric, number | null][]) {
      if (expected === null) {
        expect(r.metrics[metric], `${metric} must be absent`).toBeUndefined();
        expect(r.unavailable.find((u) => u.metric === metric)?.reason, `${metric} needs a reason`).toMatch(/\w/);
      } else {
        close(r.metrics[metric], expected, metric);
      }
    }
    expect(Object.values(r.metrics).every(Number.isFinite)).toBe(true);
  });
});

describe('rocAuc', () => {
  it('counts a tied pair half, whatever the order of rows', () => {
    // One positive and one negative at the same score, one pair ordered right.
    expect(rocAuc(Uint8Array.from([1, 0, 1, 0]), Float64Array.from([0.5, 0.5, 0.9, 0.1]))).toBe(((1 + 1 + 1 + 0.5) / 4));
    expect(rocAuc(Uint8Array.from([0, 1, 0, 1]), Float64Array.from([0.1, 0.9, 0.5, 0.5]))).toBe(0.875);
  });

  it('is undefined with one class', () => {
    expect(rocAuc(Uint8Array.from([0, 0]), Float64Array.from([0.1, 0.2]))).toBeUndefined();
    expect(rocAuc(new Uint8Array(0), new Float64Array(0))).toBeUndefined();
  });

  it('takes a million rows in well under a second', () => {
    const n = 1_000_000;
    const y = new Uint8Array(n);
    const s = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = (i * 7919) % 1000 / 1000;
      y[i] = (i * 104729) % 3 === 0 ? 1 : 0;
    }
    const t = performance.now();
    const auc = rocAuc(y, s)!;
    expect(performance.now() - t).toBeLessThan(2000);
    expect(auc).toBeGreaterThan(0.4);
    expect(auc).toBeLessThan(0.6);
  });
});

describe('binaryClassOf', () => {
  it.each([
    [1, undefined, 1],
    [0, undefined, 0],
    ['1', undefined, 1],
    ['0', undefined, 0],
    ['true', undefined, 1],
    [' FALSE ', undefined, 0],
    [2, undefined, undefined],
    [0.5, undefined, undefined],
    ['yes', undefined, undefined],
    ['churned', 'churned', 1],
    ['stayed', 'churned', 0],
    [1, '1', 1],
    [0, '1', 0],
    ['Churned', 'churned', 0],
  ] as const)('%j with positiveLabel %j is %j', (label, positive, expected) => {
    expect(binaryClassOf(label, positive)).toBe(expected);
  });
});

describe('computePerformance', () => {
  it('leaves out rows without a numeric prediction or a readable label, and counts them', () => {
    const r = computePerformance({
      task: 'BinaryClassification',
      predictions: [0.9, Number.NaN, 0.2, 0.7, 0.4, Number.POSITIVE_INFINITY],
      labels: [1, 1, 0, 'maybe', 0, 0],
      threshold: 0.5,
    });
    expect(r).toMatchObject({ used: 3, badPredictions: 2, badLabels: 1, badLabelExample: 'maybe' });
    expect(r.metrics).toMatchObject({ accuracy: 1, auc: 1, f1: 1 });
  });

  it('reads string classes with positiveLabel', () => {
    const r = computePerformance({ task: 'BinaryClassification', predictions: [0.8, 0.3, 0.6], labels: ['churned', 'stayed', 'stayed'], threshold: 0.5, positiveLabel: 'churned' });
    expect(r.used).toBe(3);
    expect(r.metrics.accuracy).toBeCloseTo(2 / 3, 12);
    expect(r.metrics.f1).toBeCloseTo(2 / 3, 12);
  });

  it('takes numbers written as text for a regression, and refuses words', () => {
    const r = computePerformance({ task: 'Regression', predictions: [1, 2, 3, 4], labels: [1, '2.5', 'n/a?', 4], threshold: 0.5 });
    expect(r).toMatchObject({ used: 3, badLabels: 1, badLabelExample: 'n/a?' });
    expect(r.metrics.mae).toBeCloseTo(0.5 / 3, 12);
  });

  it('reports every metric unavailable, none as NaN, when no row is usable', () => {
    const r = computePerformance({ task: 'BinaryClassification', predictions: [Number.NaN], labels: [1], threshold: 0.5 });
    expect(r.metrics).toEqual({});
    expect(r.unavailable.map((u) => u.metric)).toEqual(['accuracy', 'auc', 'f1', 'logLoss']);
  });
});
