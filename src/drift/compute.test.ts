// computeDrift's contract: verdict semantics, defaults, errors, and the method
// names shared with the DriftMonitor API.
import { describe, expect, it } from 'vitest';
import { DRIFT_METHODS as API_DRIFT_METHODS } from '../api/drift-monitor.js';
import { computeDrift, featureDrift } from './compute.js';
import { DriftInputError } from './errors.js';
import { DRIFT_METHODS, type Column } from './types.js';

const range = (n: number, f: (i: number) => number): Float64Array => Float64Array.from({ length: n }, (_, i) => f(i));

function inputError(fn: () => unknown): DriftInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DriftInputError) return err;
    throw err;
  }
  throw new Error('expected a DriftInputError');
}

describe('computeDrift', () => {
  it('uses the API method names', () => {
    expect([...DRIFT_METHODS]).toEqual([...API_DRIFT_METHODS]);
  });

  it('judges every feature and the data set (share >= datasetDriftShare)', () => {
    const reference = new Map<string, Column>([
      ['a', range(300, (i) => i)],
      ['b', range(300, (i) => i % 7)],
      ['c', Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 'x' : 'y'))],
    ]);
    const current = {
      a: range(300, (i) => i + 150),
      b: range(300, (i) => i % 7),
      c: Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 'x' : 'y')),
    };
    const features = [
      { name: 'a', type: 'numeric' as const },
      { name: 'b', type: 'numeric' as const, method: 'psi' as const },
      { name: 'c', type: 'categorical' as const },
    ];
    const report = computeDrift({ reference, current, features });
    expect(report.features.map((f) => [f.name, f.method, f.drifted])).toEqual([
      ['a', 'ks', true],
      ['b', 'psi', false],
      ['c', 'zscore', false],
    ]);
    expect(report.driftedCount).toBe(1);
    expect(report.driftShare).toBeCloseTo(1 / 3, 15);
    expect(report.datasetDrift).toBe(false);
    expect(computeDrift({ reference, current, features, datasetDriftShare: 1 / 3 }).datasetDrift).toBe(true);
  });

  it('ks drifts at p <= threshold (Evidently), distances at score >= threshold', () => {
    const ref = range(50, (i) => i);
    const cur = range(50, (i) => i + 10);
    const ks = featureDrift({ name: 'x', type: 'numeric', method: 'ks' }, ref, cur);
    expect(featureDrift({ name: 'x', type: 'numeric', method: 'ks', threshold: ks.pValue! }, ref, cur).drifted).toBe(true);
    const w = featureDrift({ name: 'x', type: 'numeric', method: 'wasserstein' }, ref, cur);
    expect(w.pValue).toBeUndefined();
    expect(featureDrift({ name: 'x', type: 'numeric', method: 'wasserstein', threshold: w.score }, ref, cur).drifted).toBe(true);
  });

  it('numeric zscore is the mean shift in reference standard deviations', () => {
    const f = featureDrift({ name: 'x', type: 'numeric', method: 'zscore' }, [1, 2, 3, 4, NaN], [3, 4, 5, 6]);
    expect(f.score).toBeCloseTo(2 / Math.sqrt(1.25), 14);
    expect([f.threshold, f.drifted, f.referenceCount]).toEqual([0.1, true, 4]);
  });

  it('a category the reference never saw: chi-square +Infinity, p 0, drifted', () => {
    const f = featureDrift({ name: 'c', type: 'categorical', method: 'chisquare' }, ['a', 'b', 'a', 'c'], ['a', 'b', 'd']);
    expect([f.score, f.pValue, f.drifted]).toEqual([Infinity, 0, true]);
  });

  it('refuses methods that do not apply, unknown methods, bad thresholds and shares', () => {
    expect(inputError(() => featureDrift({ name: 'c', type: 'categorical', method: 'ks' }, ['a'], ['a'])).message).toBe(
      'feature "c": method ks needs a numeric feature',
    );
    expect(inputError(() => featureDrift({ name: 'n', type: 'numeric', method: 'chisquare' }, [1], [1])).code).toBe('InvalidSpec');
    const bogus = { name: 'n', type: 'numeric', method: 'median' } as unknown as Parameters<typeof featureDrift>[0];
    expect(inputError(() => featureDrift(bogus, [1], [1])).message).toContain('unknown method "median"');
    expect(inputError(() => featureDrift({ name: 'n', type: 'numeric', threshold: -1 }, [1], [1])).code).toBe('InvalidSpec');
    const one = { reference: { n: [1] }, current: { n: [1] }, features: [{ name: 'n', type: 'numeric' as const }] };
    expect(inputError(() => computeDrift({ ...one, datasetDriftShare: 2 })).message).toContain('datasetDriftShare');
    expect(inputError(() => computeDrift({ ...one, features: [] })).message).toBe('no features to check');
    expect(inputError(() => computeDrift({ ...one, features: [...one.features, ...one.features] })).message).toContain('twice');
  });

  it('names missing columns, empty samples and wrong column types', () => {
    const spec = [{ name: 'n', type: 'numeric' as const }];
    expect(inputError(() => computeDrift({ reference: { n: [1] }, current: {}, features: spec })).message).toBe(
      'current data has no column "n"',
    );
    expect(inputError(() => computeDrift({ reference: { n: [NaN, Infinity] }, current: { n: [1] }, features: spec })).message).toBe(
      'feature "n": the reference data has no values (all missing or no rows)',
    );
    expect(inputError(() => computeDrift({ reference: { n: [1, 'x'] }, current: { n: [1] }, features: spec })).message).toBe(
      'feature "n" is numeric but reference row 1 holds "x"',
    );
    // A record's inherited properties are not columns.
    expect(inputError(() => computeDrift({ reference: {}, current: {}, features: [{ name: 'toString', type: 'numeric' }] })).code).toBe(
      'MissingColumn',
    );
  });
});
