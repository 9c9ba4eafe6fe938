// Special functions the tests need, ported from the algorithms SciPy uses
// (Cephes, as shipped in scipy's `xsf`) so p-values agree with
// `scipy.stats` to ~1e-12, not just "approximately". Numeric constants are
// the published Cephes coefficients.

/** log(DBL_MAX): exp() of anything above overflows, below -MAXLOG underflows. */
export const MAXLOG = 709.782712893384;
export const MINLOG = -708.3964185322641;
export const EPS = Number.EPSILON;

/** numpy's `np.round` / C `rint`: ties go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round sends ties up; pull them back down when that lands on an odd integer.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function polevl(x: number, coef: readonly number[]): number {
  let ans = coef[0] ?? 0;
  for (let i = 1; i < coef.length; i++) ans = ans * x + (coef[i] ?? 0);
  return ans;
}

/** Like polevl, with an implied leading coefficient of 1. */
function p1evl(x: number, coef: readonly number[]): number {
  let ans = x + (coef[0] ?? 0);
  for (let i = 1; i < coef.length; i++) ans = ans * x + (coef[i] ?? 0);
  return ans;
}

const NDTR_P = [
  2.461969814735305e-10, 0.5641895648310689, 7.463210564422699, 48.63719709856814,
  196.5208329560771, 526.4451949954773, 934.5285271719576, 1027.5518868951572,
  557.5353353693994,
];
const NDTR_Q = [
  13.228195115474499, 86.70721408859897, 354.9377788878199, 975.7085017432055,
  1823.9091668790973, 2246.3376081871097, 1656.6630919416134, 557.5353408177277,
];
const NDTR_R = [
  0.5641895835477551, 1.275366707599781, 5.019050422511805, 6.160210979930536,
  7.4097426995044895, 2.9788666537210022,
];
const NDTR_S = [
  2.2605286322011726, 9.396035249380015, 12.048953980809666, 17.08144507475659,
  9.608968090632859, 3.369076451000815,
];
const NDTR_T = [
  9.604973739870516, 90.02601972038427, 2232.005345946843, 7003.325141128051,
  55592.30130103949,
];
const NDTR_U = [
  33.56171416475031, 521.3579497801527, 4594.323829709801, 22629.000061389095,
  49267.39426086359,
];

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return -erf(-x);
  if (x > 1) return 1 - erfc(x);
  const z = x * x;
  return (x * polevl(z, NDTR_T)) / p1evl(z, NDTR_U);
}

export function erfc(a: number): number {
  if (Number.isNaN(a)) return NaN;
  const x = Math.abs(a);
  if (x < 1) return 1 - erf(a);
  const z = -a * a;
  if (z < -MAXLOG) return a < 0 ? 2 : 0;
  const ez = Math.exp(z);
  const p = x < 8 ? polevl(x, NDTR_P) : polevl(x, NDTR_R);
  const q = x < 8 ? p1evl(x, NDTR_Q) : p1evl(x, NDTR_S);
  let y = (ez * p) / q;
  if (a < 0) y = 2 - y;
  if (y !== 0) return y;
  return a < 0 ? 2 : 0;
}

/** Standard normal CDF, `scipy.special.ndtr` (what `scipy.stats.norm.cdf` calls). */
export function ndtr(a: number): number {
  if (Number.isNaN(a)) return NaN;
  const x = a * Math.SQRT1_2;
  const z = Math.abs(x);
  if (z < 1) return 0.5 + 0.5 * erf(x);
  const y = 0.5 * erfc(z);
  return x > 0 ? 1 - y : y;
}

// Stirling-series coefficients B_2k / (2k (2k-1)) for log Γ at large x.
const LGAMMA_STIRLING = [
  1 / 12,
  -1 / 360,
  1 / 1260,
  -1 / 1680,
  1 / 1188,
  -691 / 360360,
  1 / 156,
  -3617 / 122400,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** log Γ(x) for x > 0: recurrence up to x >= 15, then Stirling's series (error < 1e-16 relative there). */
export function lgamma(x: number): number {
  if (!(x > 0)) return NaN;
  let shift = 0;
  let prod = 1;
  while (x < 15) {
    prod *= x;
    x += 1;
    // Keep the running product well inside double range; fold it into the log every so often.
    if (prod > 1e280) {
      shift += Math.log(prod);
      prod = 1;
    }
  }
  shift += Math.log(prod);
  const inv = 1 / x;
  const inv2 = inv * inv;
  let series = 0;
  for (let k = LGAMMA_STIRLING.length - 1; k >= 0; k--) series = series * inv2 + (LGAMMA_STIRLING[k] ?? 0);
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + series * inv - shift;
}

/** x^a e^-x / Γ(a), the common factor of both incomplete-gamma expansions. */
function igamFactor(a: number, x: number): number {
  const logv = a * Math.log(x) - x - lgamma(a);
  return logv < MINLOG ? 0 : Math.exp(logv);
}

/** Lower regularized incomplete gamma P(a, x) by its power series (x < a + 1). */
function igamSeries(a: number, x: number): number {
  const fac = igamFactor(a, x);
  if (fac === 0) return 0;
  let r = a;
  let c = 1;
  let ans = 1;
  for (let i = 0; i < 10_000; i++) {
    r += 1;
    c *= x / r;
    ans += c;
    if (c <= ans * EPS) break;
  }
  return (ans * fac) / a;
}

/** Upper regularized incomplete gamma Q(a, x) by its continued fraction (x >= a + 1), modified Lentz. */
function igamcFraction(a: number, x: number): number {
  const fac = igamFactor(a, x);
  if (fac === 0) return 0;
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) <= EPS) break;
  }
  return fac * h;
}

/** Q(a, x) = Γ(a, x) / Γ(a), `scipy.special.gammaincc`. */
export function gammaincc(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0 || x < 0) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  if (x < a + 1) return 1 - igamSeries(a, x);
  return igamcFraction(a, x);
}

/** Chi-square survival function, `scipy.stats.chi2.sf(x, df)` (= chdtrc). */
export function chi2Sf(x: number, df: number): number {
  if (!(df > 0)) return NaN;
  if (x <= 0) return 1;
  return gammaincc(df / 2, x / 2);
}
