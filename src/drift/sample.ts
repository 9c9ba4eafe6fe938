// Per-feature preparation shared by every numeric method: drop missing
// values and sort once. Every statistic after that (KS, Wasserstein,
// histograms, distinct counts, moments) is a linear pass over sorted arrays.

/** A numeric sample with NaN and ±Infinity removed (as Evidently drops them), sorted ascending. */
export interface SortedSample {
  readonly values: Float64Array;
  /** Rows that were missing or non-finite, for the record. */
  readonly dropped: number;
}

export function sortedSample(input: ArrayLike<number>): SortedSample {
  const n = input.length;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = input[i] as number;
    // -0 and 0 are one value to Evidently (pandas) and scipy alike; normalising
    // keeps the typed-array sort, which orders -0 before 0, from splitting ties.
    if (Number.isFinite(v)) out[k++] = v === 0 ? 0 : v;
  }
  const values = k === n ? out : out.slice(0, k);
  values.sort();
  return { values, dropped: n - k };
}

/** Distinct values of a sorted array. */
export function countDistinctSorted(a: Float64Array): number {
  if (a.length === 0) return 0;
  let count = 1;
  for (let i = 1; i < a.length; i++) if (a[i] !== a[i - 1]) count++;
  return count;
}

/** Distinct values of the union of two sorted arrays. */
export function countDistinctUnion(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let count = 0;
  while (i < a.length || j < b.length) {
    const ai = i < a.length ? (a[i] as number) : Infinity;
    const bj = j < b.length ? (b[j] as number) : Infinity;
    const v = ai <= bj ? ai : bj;
    count++;
    while (i < a.length && a[i] === v) i++;
    while (j < b.length && b[j] === v) j++;
  }
  return count;
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
