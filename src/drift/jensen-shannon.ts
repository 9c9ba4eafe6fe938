// Jensen-Shannon distance (natural log, so bounded by sqrt(ln 2)), as
// `scipy.spatial.distance.jensenshannon` computes it on Evidently's binned
// shares (no zero filling: 0 * log 0 counts as 0).
import type { BinnedShares } from './binning.js';

/** scipy.special.rel_entr: x log(x/y), 0 when x is 0, +Infinity when only y is 0. */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

function total(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

export function jensenShannon(shares: BinnedShares): number {
  const sp = total(shares.reference);
  const sq = total(shares.current);
  let left = 0;
  let right = 0;
  for (let i = 0; i < shares.reference.length; i++) {
    const p = (shares.reference[i] as number) / sp;
    const q = (shares.current[i] as number) / sq;
    const m = (p + q) / 2;
    left += relEntr(p, m);
    right += relEntr(q, m);
  }
  // Rounding can leave a hair below zero for identical inputs; a distance is never negative.
  return Math.sqrt(Math.max((left + right) / 2, 0));
}
