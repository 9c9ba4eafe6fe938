// Evidently's `get_binned_data`: turn two samples into two aligned vectors of
// shares, the input of PSI and Jensen-Shannon. Ported from Evidently 0.7's
// legacy stattests/utils.py, which its current metrics still call:
//  - numeric with more than 20 distinct reference values: equal-width bins
//    over the *combined* sample, bin count by Sturges' rule
//    (`np.histogram_bin_edges(concat(ref, cur), bins="sturges")`);
//  - otherwise (categorical, or few distinct numbers): one bin per value seen
//    in either sample;
//  - optionally ("feel zeroes") replace empty bins by 0.0001, or by the
//    smallest non-zero share / 1e6 when that share is itself <= 0.0001.
import { countDistinctUpTo } from './sample.js';

/** A category: a string label, or a number when a numeric feature is treated as categorical. */
export type CategoryKey = string | number;

/** Category counts of one sample, plus its size. */
export interface CategoryCounts {
  readonly counts: ReadonlyMap<CategoryKey, number>;
  readonly n: number;
}

export interface BinnedShares {
  readonly reference: Float64Array;
  readonly current: Float64Array;
}

/** Evidently switches from per-value bins to a histogram above this many distinct reference values. */
export const HISTOGRAM_MIN_DISTINCT = 20;

function extent(a: Float64Array, b: Float64Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const arr of [a, b]) {
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i] as number;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

/** `np.histogram_bin_edges(concat(a, b), bins="sturges")`. */
export function sturgesEdges(a: Float64Array, b: Float64Array): Float64Array {
  let [first, last] = extent(a, b);
  const ptp = last - first;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const width = ptp / (Math.log2(a.length + b.length) + 1);
  const nBins = width ? Math.ceil((last - first) / width) : 1;
  // np.linspace: i * step + start, with the last edge pinned to stop.
  const edges = new Float64Array(nBins + 1);
  const step = (last - first) / nBins;
  for (let i = 0; i <= nBins; i++) edges[i] = i * step + first;
  edges[nBins] = last;
  return edges;
}

/**
 * `np.histogram(values, edges)` in one pass without sorting: bin i holds
 * edges[i] <= x < edges[i+1], the last bin also its right edge, values
 * outside every bin are not counted. The bin is guessed arithmetically, then
 * moved until it agrees with the edges themselves, so rounding in the guess
 * never puts a value on the wrong side of an edge.
 */
export function histogram(values: Float64Array, edges: Float64Array): Float64Array {
  const nBins = edges.length - 1;
  const counts = new Float64Array(nBins);
  const first = edges[0] as number;
  const last = edges[nBins] as number;
  const scale = nBins / (last - first);
  for (let k = 0; k < values.length; k++) {
    const x = values[k] as number;
    if (!(x >= first && x <= last)) continue;
    let i = Math.min(Math.floor((x - first) * scale), nBins - 1);
    while (i > 0 && x < (edges[i] as number)) i--;
    while (i < nBins - 1 && x >= (edges[i + 1] as number)) i++;
    counts[i] = (counts[i] as number) + 1;
  }
  return counts;
}

/** Counts per distinct value of a numeric sample, as category counts keyed by value. */
export function countsOf(values: Float64Array): CategoryCounts {
  const counts = new Map<CategoryKey, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return { counts, n: values.length };
}

/** Per-category shares over the union of both samples' categories. */
export function categoryShares(ref: CategoryCounts, cur: CategoryCounts): BinnedShares {
  const keys = new Set<CategoryKey>(ref.counts.keys());
  for (const k of cur.counts.keys()) keys.add(k);
  const reference = new Float64Array(keys.size);
  const current = new Float64Array(keys.size);
  let i = 0;
  for (const k of keys) {
    reference[i] = (ref.counts.get(k) ?? 0) / ref.n;
    current[i] = (cur.counts.get(k) ?? 0) / cur.n;
    i++;
  }
  return { reference, current };
}

/** Evidently's binning of two numeric samples (finite values; sorted or not). */
export function numericShares(ref: Float64Array, cur: Float64Array): BinnedShares {
  if (countDistinctUpTo(HISTOGRAM_MIN_DISTINCT, ref) > HISTOGRAM_MIN_DISTINCT) {
    const edges = sturgesEdges(ref, cur);
    const rc = histogram(ref, edges);
    const cc = histogram(cur, edges);
    for (let i = 0; i < rc.length; i++) {
      rc[i] = (rc[i] as number) / ref.length;
      cc[i] = (cc[i] as number) / cur.length;
    }
    return { reference: rc, current: cc };
  }
  return categoryShares(countsOf(ref), countsOf(cur));
}

/** Evidently's "feel zeroes": empty bins get a small share so log ratios stay finite. Returns a copy. */
export function fillZeroes(shares: Float64Array): Float64Array {
  let minNonZero = Infinity;
  for (const s of shares) if (s !== 0 && s < minNonZero) minNonZero = s;
  const fill = minNonZero <= 0.0001 ? minNonZero / 1e6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}
