// First Wasserstein (earth mover's) distance between two empirical
// distributions, normed by the reference's standard deviation as Evidently's
// `wasserstein` stattest does: W1(ref, cur) / max(std(ref), 0.001).
// W1 = integral of |F_ref - F_cur|, one merge over the sorted samples
// (scipy's `wasserstein_distance` sorts and binary-searches instead).
import { populationStd } from './sample.js';

/** Evidently's floor on the norm, so a constant reference does not divide by zero. */
export const WASSERSTEIN_MIN_NORM = 0.001;

export function wassersteinDistance(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let sum = 0;
  let c = 0;
  let prev = NaN;
  let prevDiff = 0;
  while (i < n1 || j < n2) {
    const ai = i < n1 ? (a[i] as number) : Infinity;
    const bj = j < n2 ? (b[j] as number) : Infinity;
    const v = ai <= bj ? ai : bj;
    if (!Number.isNaN(prev)) {
      const term = prevDiff * (v - prev);
      const t = sum + term;
      c += sum >= term ? sum - t + term : term - t + sum;
      sum = t;
    }
    while (i < n1 && (a[i] as number) <= v) i++;
    while (j < n2 && (b[j] as number) <= v) j++;
    prevDiff = Math.abs(i / n1 - j / n2);
    prev = v;
  }
  return sum + c;
}

export function wassersteinNormed(ref: Float64Array, cur: Float64Array): number {
  const norm = Math.max(populationStd(ref), WASSERSTEIN_MIN_NORM);
  return wassersteinDistance(ref, cur) / norm;
}
