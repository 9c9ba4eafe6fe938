// A small multi-layer perceptron: one tanh hidden layer, trained full-batch
// with Adam from a seeded initialisation, so the same seed and data give the
// same weights. For tabular data where a linear boundary is not enough; the
// exported graph stays plain MatMul/Add/Tanh(/Sigmoid).
import type { MlpParams, Task } from './model.js';
import { normal, type Random } from './random.js';
import { fitStandardizer, foldIntoLayer, standardize } from './standardize.js';

export interface MlpOptions {
  hidden: number;
  epochs: number;
  learningRate: number;
  l2: number;
}

export const DEFAULT_MLP: MlpOptions = { hidden: 16, epochs: 400, learningRate: 0.02, l2: 1e-4 };

class Adam {
  private m: Float64Array;
  private v: Float64Array;
  private t = 0;
  constructor(
    private readonly params: Float64Array,
    private readonly lr: number,
  ) {
    this.m = new Float64Array(params.length);
    this.v = new Float64Array(params.length);
  }
  step(grad: Float64Array): void {
    this.t++;
    const c1 = 1 - 0.9 ** this.t;
    const c2 = 1 - 0.999 ** this.t;
    for (let i = 0; i < this.params.length; i++) {
      this.m[i] = 0.9 * this.m[i]! + 0.1 * grad[i]!;
      this.v[i] = 0.999 * this.v[i]! + 0.001 * grad[i]! ** 2;
      this.params[i]! -= (this.lr * (this.m[i]! / c1)) / (Math.sqrt(this.v[i]! / c2) + 1e-8);
    }
  }
}

export function fitMlp(xRaw: Float64Array, yRaw: Float64Array, rows: number, d: number, task: Task, random: Random, o: MlpOptions = DEFAULT_MLP): MlpParams {
  const s = fitStandardizer(xRaw, rows, d);
  const x = standardize(xRaw, rows, s);
  // Regression targets are standardised too, and the scaling is undone in the output layer.
  let yMean = 0;
  let yScale = 1;
  if (task === 'regression') {
    for (let i = 0; i < rows; i++) yMean += yRaw[i]!;
    yMean /= rows;
    let v = 0;
    for (let i = 0; i < rows; i++) v += (yRaw[i]! - yMean) ** 2;
    yScale = Math.sqrt(v / rows) || 1;
  }
  const y = yRaw.map((v) => (v - yMean) / yScale);
  const h = o.hidden;
  const gauss = normal(random);
  // Glorot initialisation; params = [w1 (d x h), b1 (h), w2 (h), b2].
  const params = new Float64Array(d * h + h + h + 1);
  const s1 = Math.sqrt(2 / (d + h));
  const s2 = Math.sqrt(2 / (h + 1));
  for (let i = 0; i < d * h; i++) params[i] = gauss() * s1;
  for (let i = 0; i < h; i++) params[d * h + h + i] = gauss() * s2;
  const W1 = 0;
  const B1 = d * h;
  const W2 = d * h + h;
  const B2 = d * h + 2 * h;
  const adam = new Adam(params, o.learningRate);
  const act = new Float64Array(h);
  const grad = new Float64Array(params.length);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    grad.fill(0);
    for (let i = 0; i < rows; i++) {
      let z = params[B2]!;
      for (let u = 0; u < h; u++) {
        let a = params[B1 + u]!;
        for (let j = 0; j < d; j++) a += x[i * d + j]! * params[W1 + j * h + u]!;
        act[u] = Math.tanh(a);
        z += act[u]! * params[W2 + u]!;
      }
      // d(loss)/dz: sigmoid cross-entropy and squared error (halved) both give prediction - target.
      const dz = (task === 'classification' ? 1 / (1 + Math.exp(-z)) : z) - y[i]!;
      grad[B2]! += dz;
      for (let u = 0; u < h; u++) {
        grad[W2 + u]! += dz * act[u]!;
        const da = dz * params[W2 + u]! * (1 - act[u]! ** 2);
        grad[B1 + u]! += da;
        for (let j = 0; j < d; j++) grad[W1 + j * h + u]! += da * x[i * d + j]!;
      }
    }
    for (let i = 0; i < params.length; i++) grad[i] = grad[i]! / rows + (i < B1 || (i >= W2 && i < B2) ? o.l2 * params[i]! : 0);
    adam.step(grad);
  }
  const folded = foldIntoLayer(s, params.slice(W1, B1), params.slice(B1, W2));
  return {
    kind: 'mlp',
    task,
    w1: folded.w,
    b1: folded.b,
    w2: params.slice(W2, B2).map((v) => v * yScale),
    b2: params[B2]! * yScale + yMean,
  };
}
