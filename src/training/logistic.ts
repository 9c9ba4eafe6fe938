// Binary logistic regression with an L2 penalty (strength 1 on standardised
// inputs, scikit-learn's default C=1), fitted by Newton's method: it
// converges in a handful of iterations to the unique optimum, so the result
// depends only on the data, not on a learning rate or iteration budget.
import { solveSpd } from './linear-algebra.js';
import { sigmoid, type LinearParams } from './model.js';
import { fitStandardizer, foldIntoLayer, standardize } from './standardize.js';

const L2 = 1;
const MAX_ITERATIONS = 100;
const TOLERANCE = 1e-10;

function penalisedLoss(x: Float64Array, y: Float64Array, rows: number, d: number, theta: Float64Array): number {
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    let z = theta[d]!;
    for (let j = 0; j < d; j++) z += x[i * d + j]! * theta[j]!;
    // log(1 + e^z) - y z, computed without overflow.
    loss += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i]! * z;
  }
  for (let j = 0; j < d; j++) loss += 0.5 * L2 * theta[j]! ** 2;
  return loss;
}

export function fitLogisticRegression(xRaw: Float64Array, y: Float64Array, rows: number, d: number): LinearParams {
  const s = fitStandardizer(xRaw, rows, d);
  const x = standardize(xRaw, rows, s);
  const p = d + 1; // weights, then the intercept
  let theta = new Float64Array(p);
  let loss = penalisedLoss(x, y, rows, d, theta);
  for (let iter = 0; iter < MAX_ITERATIONS; iter++) {
    const grad = new Float64Array(p);
    const hess = new Float64Array(p * p);
    for (let i = 0; i < rows; i++) {
      let z = theta[d]!;
      for (let j = 0; j < d; j++) z += x[i * d + j]! * theta[j]!;
      const pr = sigmoid(z);
      const r = pr - y[i]!;
      const w = Math.max(pr * (1 - pr), 1e-12);
      for (let j = 0; j < p; j++) {
        const xj = j < d ? x[i * d + j]! : 1;
        grad[j]! += r * xj;
        for (let k = 0; k <= j; k++) hess[j * p + k]! += w * xj * (k < d ? x[i * d + k]! : 1);
      }
    }
    for (let j = 0; j < p; j++) {
      if (j < d) {
        grad[j]! += L2 * theta[j]!;
        hess[j * p + j]! += L2;
      }
      for (let k = 0; k < j; k++) hess[k * p + j] = hess[j * p + k]!;
    }
    const step = solveSpd(hess, grad);
    // Newton's step with halving: the penalised loss is convex, so a shorter step always helps eventually.
    let t = 1;
    let next = theta;
    let nextLoss = loss;
    for (let h = 0; h < 30; h++) {
      next = theta.map((v, j) => v - t * step[j]!);
      nextLoss = penalisedLoss(x, y, rows, d, next);
      if (nextLoss <= loss) break;
      t /= 2;
    }
    const moved = Math.max(...step.map((v) => Math.abs(v * t)));
    theta = next;
    loss = nextLoss;
    if (moved < TOLERANCE) break;
  }
  const folded = foldIntoLayer(s, theta.subarray(0, d), Float64Array.of(theta[d]!));
  return { kind: 'linear', task: 'classification', w: folded.w, b: folded.b[0]! };
}
