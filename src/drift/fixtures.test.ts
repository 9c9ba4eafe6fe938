// The engine against scipy 1.17 / Evidently 0.7 on the data sets that
// hack/drift-fixtures.py generated (test/fixtures/drift/*.json): every
// statistic, p-value, auto-selected method and verdict.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { categoryShares, countsOf, numericShares } from './binning.js';
import { chiSquare } from './chisquare.js';
import { categoryCounts, featureDrift } from './compute.js';
import { jensenShannon } from './jensen-shannon.js';
import { kstwoSf } from './kolmogorov.js';
import { ks2samp, KS_EXACT_MAX_N } from './ks.js';
import { psi } from './psi.js';
import { finiteValues, sortedSample } from './sample.js';
import { chi2Sf, ndtr } from './special.js';
import { wassersteinNormed } from './wasserstein.js';
import { meanShift, proportionsZTest } from './zscore.js';

type Num = number | 'NaN' | 'Infinity' | '-Infinity';
type Value = number | string | null;

interface TestExpectations {
  chisquare: { statistic: Num; pValue: Num };
  zscore: { statistic: Num; pValue: Num };
}

interface Expected extends Partial<TestExpectations> {
  ks?: { statistic: Num; pValue: Num; mode: 'exact' | 'asymp' };
  psi: Num;
  jensenshannon: Num;
  wasserstein?: Num;
  zscore?: Num & TestExpectations['zscore'];
  categorical?: TestExpectations;
  auto: { method: string; score: Num; drifted: boolean; threshold: Num };
  referenceCount: number;
  currentCount: number;
}

interface Case {
  name: string;
  description: string;
  type: 'numeric' | 'categorical';
  reference: Value[] | { sameAs: string };
  current: Value[];
  expected: Expected;
}

const FIXTURES = new URL('../../test/fixtures/drift/', import.meta.url);
const load = <T,>(name: string): T => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;

const decode = (v: Num): number => (typeof v === 'number' ? v : Number(v));

/** 1e-9 relative; values within 1e-12 of each other pass (near zero relative error means nothing). */
function expectClose(actual: number, expected: Num, what: string): void {
  const e = decode(expected);
  if (Number.isNaN(e) || !Number.isFinite(e)) {
    expect(actual, what).toBe(e);
    return;
  }
  const diff = Math.abs(actual - e);
  const ok = diff <= 1e-9 * Math.abs(e) || diff <= 1e-12;
  expect(ok, `${what}: got ${actual}, scipy/Evidently ${e} (rel ${(diff / Math.abs(e)).toExponential(2)})`).toBe(true);
}

function resolve(cases: Case[]): (Case & { reference: Value[] })[] {
  const byName = new Map(cases.map((c) => [c.name, c]));
  return cases.map((c) => {
    const ref = Array.isArray(c.reference) ? c.reference : byName.get(c.reference.sameAs)?.reference;
    if (!Array.isArray(ref)) throw new Error(`fixture ${c.name}: unresolved reference`);
    return { ...c, reference: ref };
  });
}

const numbers = (values: Value[]): Float64Array => Float64Array.from(values, (v) => (v === null ? NaN : Number(v)));

describe('numeric features vs scipy/Evidently', () => {
  const cases = resolve(load<{ cases: Case[] }>('numeric.json').cases);
  for (const c of cases) {
    describe(`${c.name}: ${c.description}`, () => {
      const ref = sortedSample(numbers(c.reference)).values;
      const cur = sortedSample(numbers(c.current)).values;
      const x = c.expected;

      it('drops missing values as Evidently does', () => {
        expect([ref.length, cur.length]).toEqual([x.referenceCount, x.currentCount]);
      });

      it('KS statistic and p-value (ks_2samp, method auto)', () => {
        const r = ks2samp(ref, cur);
        expectClose(r.statistic, x.ks!.statistic, 'D');
        expectClose(r.pValue, x.ks!.pValue, 'p');
        expect(r.method).toBe(x.ks!.mode);
        expect(Math.max(ref.length, cur.length) <= KS_EXACT_MAX_N).toBe(x.ks!.mode === 'exact');
      });

      it('PSI, Jensen-Shannon, Wasserstein (normed), mean shift', () => {
        // Binning takes the samples in file order (no sort needed) and must agree with numpy's histogram.
        const [uRef, uCur] = [finiteValues(numbers(c.reference)), finiteValues(numbers(c.current))];
        expectClose(psi(numericShares(uRef, uCur)), x.psi, 'psi');
        expectClose(jensenShannon(numericShares(uRef, uCur)), x.jensenshannon, 'jensenshannon');
        expectClose(wassersteinNormed(ref, cur), x.wasserstein!, 'wasserstein');
        expectClose(meanShift(ref, cur), x.zscore as Num, 'zscore (mean shift)');
      });

      if (x.categorical) {
        const cat = x.categorical;
        it('chi-square and z on the values as categories', () => {
          const chi = chiSquare(countsOf(ref), countsOf(cur));
          expectClose(chi.statistic, cat.chisquare.statistic, 'chi2');
          expectClose(chi.pValue, cat.chisquare.pValue, 'chi2 p');
          const z = proportionsZTest(countsOf(ref), countsOf(cur));
          expectClose(z.statistic, cat.zscore.statistic, '|z|');
          expectClose(z.pValue, cat.zscore.pValue, 'z p');
        });
      }

      it('auto: the method Evidently picks, its score, threshold and verdict', () => {
        const f = featureDrift({ name: c.name, type: 'numeric' }, numbers(c.reference), numbers(c.current));
        expect(f.method).toBe(x.auto.method);
        // Evidently's drift_score is the p-value for the tests and the distance otherwise.
        expectClose(f.pValue ?? f.score, x.auto.score, 'auto score');
        expectClose(f.threshold, x.auto.threshold, 'threshold');
        expect(f.drifted).toBe(x.auto.drifted);
      });
    });
  }
});

describe('categorical features vs scipy/Evidently', () => {
  const cases = resolve(load<{ cases: Case[] }>('categorical.json').cases);
  for (const c of cases) {
    describe(`${c.name}: ${c.description}`, () => {
      const ref = categoryCounts(c.reference);
      const cur = categoryCounts(c.current);
      const x = c.expected;

      it('chi-square, z, PSI and Jensen-Shannon', () => {
        expect([ref.n, cur.n]).toEqual([x.referenceCount, x.currentCount]);
        const chi = chiSquare(ref, cur);
        expectClose(chi.statistic, x.chisquare!.statistic, 'chi2');
        if (x.chisquare!.pValue === 'NaN') {
          // One category: scipy's chi2 has 0 degrees of freedom and answers NaN (never "drifted" in
          // Evidently, as NaN < threshold is false). We answer p = 1: the same verdict, and a number.
          expect(chi.pValue).toBe(1);
        } else {
          expectClose(chi.pValue, x.chisquare!.pValue, 'chi2 p');
        }
        const z = proportionsZTest(ref, cur);
        expectClose(z.statistic, x.zscore!.statistic, '|z|');
        expectClose(z.pValue, x.zscore!.pValue, 'z p');
        expectClose(psi(categoryShares(ref, cur)), x.psi, 'psi');
        expectClose(jensenShannon(categoryShares(ref, cur)), x.jensenshannon, 'jensenshannon');
      });

      it('auto: the method Evidently picks, its score, threshold and verdict', () => {
        const f = featureDrift({ name: c.name, type: 'categorical' }, c.reference, c.current);
        expect(f.method).toBe(x.auto.method);
        expectClose(f.pValue ?? f.score, x.auto.score, 'auto score');
        expectClose(f.threshold, x.auto.threshold, 'threshold');
        expect(f.drifted).toBe(x.auto.drifted);
      });
    });
  }
});

describe('distribution functions vs scipy', () => {
  const grid = load<{
    kstwo: { n: number; d: number; sf: Num }[];
    chi2: { x: number; df: number; sf: Num }[];
    ndtr: { x: number; cdf: Num }[];
  }>('distributions.json');

  it(`kstwo.sf on ${grid.kstwo.length} (n, d) points across every algorithm branch`, () => {
    for (const g of grid.kstwo) expectClose(kstwoSf(g.d, g.n), g.sf, `kstwo.sf(${g.d}, ${g.n})`);
  });
  it('chi2.sf', () => {
    for (const g of grid.chi2) expectClose(chi2Sf(g.x, g.df), g.sf, `chi2.sf(${g.x}, ${g.df})`);
  });
  it('ndtr', () => {
    for (const g of grid.ndtr) expectClose(ndtr(g.x), g.cdf, `ndtr(${g.x})`);
  });
});
