// Pearson chi-square goodness-of-fit of the current category counts against
// the reference's, scaled to the current size: Evidently's `chisquare`
// stattest on top of `scipy.stats.chisquare`. A category the reference never
// saw has expected count 0, so the statistic is +Infinity and the p-value 0:
// Evidently reports that as drift rather than failing, and so do we.
import type { CategoryCounts, CategoryKey } from './binning.js';
import { chi2Sf } from './special.js';

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
}

export function chiSquare(ref: CategoryCounts, cur: CategoryCounts): ChiSquareResult {
  const keys = new Set<CategoryKey>(ref.counts.keys());
  for (const k of cur.counts.keys()) keys.add(k);
  const kNorm = cur.n / ref.n;
  let stat = 0;
  for (const k of keys) {
    const expected = (ref.counts.get(k) ?? 0) * kNorm;
    const observed = cur.counts.get(k) ?? 0;
    stat += (observed - expected) ** 2 / expected;
  }
  // One category: scipy returns NaN (0 degrees of freedom); nothing can have drifted.
  if (keys.size < 2) return { statistic: 0, pValue: 1 };
  return { statistic: stat, pValue: chi2Sf(stat, keys.size - 1) };
}
