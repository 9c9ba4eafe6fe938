// Per-feature preparation shared by every numeric method: drop missing
// values and sort once. Every statistic after that (KS, Wasserstein,
// histograms, distinct counts, moments) is a linear pass over sorted arrays.

import { sortFloat64 } from './radix-sort.js';

/** A numeric sample with NaN and ±Infinity removed (as Evidently drops them), sorted ascending. */
export interface SortedSample {
  readonly values: Float64Array;
  /** Rows that were missing or non-finite, for the record. */
  readonly dropped: number;
}

/**
 * Finite values only (NaN and ±Infinity dropped, as Evidently drops them), -0
 * folded into 0: one value to pandas and scipy alike, and the typed-array
 * sort would otherwise order -0 before 0 and split a tie.
 */
export function finiteValues(input: ArrayLike<number>): Float64Array {
  const n = input.length;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = input[i] as number;
    if (Number.isFinite(v)) out[k++] = v === 0 ? 0 : v;
  }
  return k === n ? out : out.slice(0, k);
}

export function sortedSample(input: ArrayLike<number>): SortedSample {
  const values = sortFloat64(finiteValues(input));
  return { values, dropped: input.length - values.length };
}

/**
 * Distinct values across the given arrays, counting stops past `limit` (the
 * callers only ask "more than 5?", "more than 20?"), so continuous data exits
 * after a few elements instead of hashing a million.
 */
export function countDistinctUpTo(limit: number, ...arrays: Float64Array[]): number {
  const seen = new Set<number>();
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      seen.add(a[i] as number);
      if (seen.size > limit) return seen.size;
    }
  }
  return seen.size;
}

/** Neumaier-compensated sum: a million terms keep ~1e-16 relative error, like numpy's pairwise sum. */
export function compensatedSum(a: ArrayLike<number>, map?: (v: number) => number): number {
  let sum = 0;
  let c = 0;
  for (let i = 0; i < a.length; i++) {
    const v = map ? map(a[i] as number) : (a[i] as number);
    const t = sum + v;
    c += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
    sum = t;
  }
  return sum + c;
}

export function mean(a: Float64Array): number {
  return compensatedSum(a) / a.length;
}

/** Population standard deviation (ddof 0), `np.std`'s default, two-pass. */
export function populationStd(a: Float64Array, mu = mean(a)): number {
  let sum = 0;
  let c = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - mu;
    const v = d * d;
    const t = sum + v;
    c += sum >= v ? sum - t + v : v - t + sum;
    sum = t;
  }
  return Math.sqrt((sum + c) / a.length);
}
