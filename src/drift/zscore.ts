// The two `zscore` methods. Evidently's `z` stattest is a two-proportion
// z-test for categorical data; for numeric data the API defines zscore as the
// shift of the mean in reference standard deviations (a distance, judged
// score >= threshold like Wasserstein), which is what we compute there.
import type { CategoryCounts, CategoryKey } from './binning.js';
import { mean, populationStd } from './sample.js';
import { ndtr } from './special.js';

export interface ProportionsZResult {
  /** |z|; the sign only says which sample has more of the first category. */
  statistic: number;
  pValue: number;
}

/** Python's sort order: numbers numerically, strings by code point (not UTF-16 unit, as JS's default). */
export function compareKeys(a: CategoryKey, b: CategoryKey): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  const ia = sa[Symbol.iterator]();
  const ib = sb[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx - cy;
  }
}

/**
 * Evidently's `z` stattest: the first category in sorted order against all
 * others, pooled-variance z for the difference of the two proportions,
 * two-sided p = 2 (1 - Phi(|z|)). Both samples holding the same single value
 * gives p = 1.
 */
export function proportionsZTest(ref: CategoryCounts, cur: CategoryCounts): ProportionsZResult {
  if (ref.counts.size === 1 && cur.counts.size === 1) {
    const [r] = ref.counts.keys();
    const [c] = cur.counts.keys();
    if (r === c) return { statistic: 0, pValue: 1 };
  }
  const keys = [...new Set<CategoryKey>([...ref.counts.keys(), ...cur.counts.keys()])].sort(compareKeys);
  const first = keys[0] as CategoryKey;
  const n1 = ref.n;
  const n2 = cur.n;
  // Share of "not the first category" in each sample (Evidently codes first -> 0, others -> 1).
  const p1 = (n1 - (ref.counts.get(first) ?? 0)) / n1;
  const p2 = (n2 - (cur.counts.get(first) ?? 0)) / n2;
  const P = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(P * (1 - P) * (1 / n1 + 1 / n2));
  return { statistic: Math.abs(z), pValue: 2 * (1 - ndtr(Math.abs(z))) };
}

/** Mean shift in reference standard deviations, with Evidently's 0.001 floor on the norm. */
export function meanShift(ref: Float64Array, cur: Float64Array): number {
  const mu = mean(ref);
  return Math.abs(mean(cur) - mu) / Math.max(populationStd(ref, mu), 0.001);
}
