// Sorting Float64Arrays in linear time. KS and Wasserstein walk sorted
// samples, so on a million rows their cost is the two sorts: V8's typed-array
// sort takes ~100 ms per million doubles here, numpy's (vectorised) ~7 ms,
// which made fluxora's KS no faster than Evidently's (`npm run bench:drift`).
// An LSD radix sort over the doubles' bits, 16 bits per pass, takes four
// linear passes and one histogram pass.
//
// Order is Float64Array.prototype.sort's: -Infinity … -0, 0 … +Infinity.
// Arrays holding NaN go to the built-in sort (it puts every NaN last; the
// bit order would put negative NaNs first); drift callers drop NaN first.

/** Below this, the built-in sort wins (the histograms cost 1 MiB to clear). */
const RADIX_MIN = 4096;
const DIGITS = 65536;
const SIGN = 0x80000000;

/** Sorts `a` in place, ascending, and returns it. */
export function sortFloat64(a: Float64Array): Float64Array {
  const n = a.length;
  if (n < RADIX_MIN) return a.sort();
  // The doubles' bits as [low word, high word] pairs (little-endian), turned
  // into unsigned keys that order as the numbers do: a positive number gets
  // its sign bit set, a negative one all its bits flipped.
  const keys = new Uint32Array(a.buffer, a.byteOffset, n * 2);
  for (let i = 0; i < n; i++) {
    if (a[i] !== a[i]) return a.sort();
  }
  const counts = new Uint32Array(4 * DIGITS);
  for (let i = 0; i < n; i++) {
    let lo = keys[2 * i]!;
    let hi = keys[2 * i + 1]!;
    if (hi & SIGN) {
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
      keys[2 * i] = lo;
    } else hi = (hi | SIGN) >>> 0;
    keys[2 * i + 1] = hi;
    counts[lo & 0xffff]!++;
    counts[DIGITS + (lo >>> 16)]!++;
    counts[2 * DIGITS + (hi & 0xffff)]!++;
    counts[3 * DIGITS + (hi >>> 16)]!++;
  }
  let src: Uint32Array = keys;
  let dst: Uint32Array = new Uint32Array(n * 2);
  for (let pass = 0; pass < 4; pass++) {
    const base = pass * DIGITS;
    const word = pass >> 1;
    const shift = (pass & 1) * 16;
    // A digit every key shares (the exponent's top bits, often) needs no pass.
    if (counts[base + ((src[word]! >>> shift) & 0xffff)] === n) continue;
    let sum = 0;
    for (let d = 0; d < DIGITS; d++) {
      const c = counts[base + d]!;
      counts[base + d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const lo = src[2 * i]!;
      const hi = src[2 * i + 1]!;
      const at = counts[base + (((word ? hi : lo) >>> shift) & 0xffff)]!++;
      dst[2 * at] = lo;
      dst[2 * at + 1] = hi;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  for (let i = 0; i < n; i++) {
    const hi = src[2 * i + 1]!;
    if (hi & SIGN) keys[2 * i + 1] = (hi & ~SIGN) >>> 0;
    else {
      keys[2 * i + 1] = ~hi >>> 0;
      keys[2 * i] = ~src[2 * i]! >>> 0;
      continue;
    }
    keys[2 * i] = src[2 * i]!;
  }
  return a;
}
