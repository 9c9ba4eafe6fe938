// Population Stability Index, as Evidently computes it: binned shares with
// empty bins filled, then sum((ref - cur) * ln(ref / cur)).
import { fillZeroes, type BinnedShares } from './binning.js';

export function psi(shares: BinnedShares): number {
  const r = fillZeroes(shares.reference);
  const c = fillZeroes(shares.current);
  let sum = 0;
  for (let i = 0; i < r.length; i++) {
    const ri = r[i] as number;
    const ci = c[i] as number;
    sum += (ri - ci) * Math.log(ri / ci);
  }
  return sum;
}
