// Linear regression by least squares on standardised inputs (a vanishing
// ridge term only keeps the solve defined for collinear columns): exact and
// deterministic, no learning rate to tune.
import { solveSpd } from './linear-algebra.js';
import type { LinearParams } from './model.js';
import { fitStandardizer, foldIntoLayer, standardize } from './standardize.js';

export function fitLinearRegression(xRaw: Float64Array, y: Float64Array, rows: number, d: number): LinearParams {
  const s = fitStandardizer(xRaw, rows, d);
  const x = standardize(xRaw, rows, s);
  let yMean = 0;
  for (let i = 0; i < rows; i++) yMean += y[i]!;
  yMean /= rows;
  const a = new Float64Array(d * d);
  const rhs = new Float64Array(d);
  for (let i = 0; i < rows; i++) {
    const yc = y[i]! - yMean;
    for (let j = 0; j < d; j++) {
      const xj = x[i * d + j]!;
      rhs[j]! += xj * yc;
      for (let k = 0; k <= j; k++) a[j * d + k]! += xj * x[i * d + k]!;
    }
  }
  const ridge = 1e-8 * rows;
  for (let j = 0; j < d; j++) {
    a[j * d + j]! += ridge;
    for (let k = 0; k < j; k++) a[k * d + j] = a[j * d + k]!;
  }
  // Centred inputs: the intercept is the mean of y.
  const folded = foldIntoLayer(s, solveSpd(a, rhs), Float64Array.of(yMean));
  return { kind: 'linear', task: 'regression', w: folded.w, b: folded.b[0]! };
}
