// The little dense linear algebra the trainers need: solving symmetric
// positive-definite systems (normal equations, Newton steps) by Cholesky.
// Feature counts are small (at most 256 by the API), so O(d^3) is nothing.

/** Solves A x = b for symmetric positive-definite A (d x d, row-major); A and b are not modified. */
export function solveSpd(a: Float64Array, b: Float64Array): Float64Array {
  const d = b.length;
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j]!;
      for (let k = 0; k < j; k++) s -= l[i * d + k]! * l[j * d + k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error('the system is not positive definite (collinear or constant features?)');
        l[i * d + i] = Math.sqrt(s);
      } else {
        l[i * d + j] = s / l[j * d + j]!;
      }
    }
  }
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * d + k]! * y[k]!;
    y[i] = s / l[i * d + i]!;
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < d; k++) s -= l[k * d + i]! * x[k]!;
    x[i] = s / l[i * d + i]!;
  }
  return x;
}
