// Per-column standardisation fitted on the training rows. The trainers work
// on standardised inputs (well-conditioned solves, scale-free
// regularisation); the exported model takes raw inputs, because the scaling
// is folded into its first layer's weights.

export interface Standardizer {
  mean: Float64Array;
  /** 1 for a constant column, so it maps to 0 instead of dividing by zero. */
  scale: Float64Array;
}

export function fitStandardizer(x: Float64Array, rows: number, d: number): Standardizer {
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= rows;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]! - mean[j]!;
      scale[j]! += v * v;
    }
  }
  for (let j = 0; j < d; j++) {
    const sd = Math.sqrt(scale[j]! / rows);
    scale[j] = sd > 1e-12 ? sd : 1;
  }
  return { mean, scale };
}

export function standardize(x: Float64Array, rows: number, s: Standardizer): Float64Array {
  const d = s.mean.length;
  const out = new Float64Array(rows * d);
  for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) out[i * d + j] = (x[i * d + j]! - s.mean[j]!) / s.scale[j]!;
  return out;
}

/**
 * Rewrites a layer z = ((x - mean) / scale) · W + b as z = x · W' + b' on raw
 * inputs. W is d x k row-major (one row per input column).
 */
export function foldIntoLayer(s: Standardizer, w: Float64Array, b: Float64Array): { w: Float64Array; b: Float64Array } {
  const d = s.mean.length;
  const k = b.length;
  const w2 = new Float64Array(d * k);
  const b2 = Float64Array.from(b);
  for (let j = 0; j < d; j++) {
    for (let c = 0; c < k; c++) {
      const v = w[j * k + c]! / s.scale[j]!;
      w2[j * k + c] = v;
      b2[c]! -= v * s.mean[j]!;
    }
  }
  return { w: w2, b: b2 };
}
