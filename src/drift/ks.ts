// Two-sample Kolmogorov-Smirnov test, two-sided, with scipy's
// `ks_2samp(method="auto")` semantics: the exact null distribution when both
// samples have at most 10,000 values, Smirnov's asymptotic (`kstwo`) otherwise
// or when the exact computation is numerically out of range. Inputs are
// already sorted, so the statistic is one linear merge instead of scipy's two
// binary searches per value.
import { kstwoSf } from './kolmogorov.js';
import { roundHalfEven } from './special.js';

/** scipy's MAX_AUTO_N: "auto" tries the exact distribution up to this sample size. */
export const KS_EXACT_MAX_N = 10_000;

export interface KsResult {
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymp';
}

/**
 * max |F1 - F2| over the pooled values, ECDFs taken right-continuous (ties in
 * both samples step together, as `searchsorted(side="right")` does in scipy).
 * Each difference is computed as count1/n1 - count2/n2 exactly like scipy so
 * the statistic is bit-identical.
 */
export function ksStatistic(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxS = -Infinity;
  let minS = Infinity;
  while (i < n1 || j < n2) {
    const ai = i < n1 ? (a[i] as number) : Infinity;
    const bj = j < n2 ? (b[j] as number) : Infinity;
    const v = ai <= bj ? ai : bj;
    while (i < n1 && (a[i] as number) <= v) i++;
    while (j < n2 && (b[j] as number) <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  const minNeg = Math.min(Math.max(-minS, 0), 1);
  return minNeg > maxS ? minNeg : maxS;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Pr(D_{n,n} >= h/n): Horner-like alternating series over reflections. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/**
 * Pr(D_{m,n} >= h/lcm) by counting lattice paths that leave the band
 * |x/m - y/n| < h/lcm (Hodges' inside method, with Viehmann's recursion for
 * 1 - p so small p-values keep their precision). One sliding column.
 */
function outerProbInside(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((A[jj + minj - lastminj] as number) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1] as number;
}

/** scipy's `_attempt_exact_2kssamp` (two-sided): d snaps to the lattice h/lcm even when it then gives up. */
function attemptExact(n1: number, n2: number, g: number, d: number): { ok: boolean; d: number; p: number } {
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const snapped = h / lcm;
  if (h === 0) return { ok: true, d: snapped, p: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
  if (!(p >= 0 && p <= 1)) return { ok: false, d: snapped, p };
  return { ok: true, d: snapped, p };
}

/** Two-sided two-sample KS on sorted, NaN-free samples. */
export function ks2samp(a: Float64Array, b: Float64Array): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks2samp needs two non-empty samples');
  let d = ksStatistic(a, b);
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const exact = attemptExact(n1, n2, gcd(n1, n2), d);
    d = exact.d;
    if (exact.ok) return { statistic: d, pValue: Math.min(Math.max(exact.p, 0), 1), method: 'exact' };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  const p = kstwoSf(d, roundHalfEven(en));
  return { statistic: d, pValue: Math.min(Math.max(p, 0), 1), method: 'asymp' };
}
