// The committed ONNX fixtures are exactly what the project's own builder
// writes, and onnxruntime computes with them what the math says.
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildLinearModel } from '../../src/serving/onnx-builder.js';
import { fixturePath, fixtures, LINEAR, LOGISTIC } from '../fixtures/models/generate.js';

const rows = [
  [1, 2, 3],
  [4, 5, 6],
  [-0.5, 0, 10],
  [0, 0, 0],
];

async function run(file: string, data: number[][]) {
  const session = await ort.InferenceSession.create(fixturePath(file), { intraOpNumThreads: 1 });
  try {
    const x = new ort.Tensor('float32', Float32Array.from(data.flat()), [data.length, 3]);
    const out = await session.run({ x });
    return { session: { inputs: session.inputMetadata, outputs: session.outputMetadata }, out };
  } finally {
    await session.release();
  }
}

describe('ONNX fixtures', () => {
  it.each(Object.keys(fixtures))('%s regenerates byte for byte', async (name) => {
    const committed = await readFile(fixturePath(name));
    const built = (fixtures[name] as () => Uint8Array)();
    expect(Buffer.from(built).equals(committed)).toBe(true);
  });

  it('linear.onnx computes x·w + b', async () => {
    const { session, out } = await run('linear.onnx', rows);
    expect(session.inputs).toEqual([{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 3] }]);
    expect(session.outputs).toEqual([{ name: 'y', isTensor: true, type: 'float32', shape: ['batch', 1] }]);
    const y = out.y as ort.Tensor;
    expect(y.dims).toEqual([4, 1]);
    // By hand: 1·0.5 + 2·(-1.25) + 3·2 + 0.1 = 4.1; 4·0.5 - 5·1.25 + 12 + 0.1 = 7.85; -0.25 + 20 + 0.1 = 19.85; 0.1
    const want = [4.1, 7.85, 19.85, 0.1];
    Array.from(y.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(want[i] as number, 5));
    expect(LINEAR.weights.map((r) => r[0])).toEqual([0.5, -1.25, 2]);
  });

  it('logistic.onnx computes sigmoid(x·w + b)', async () => {
    const { out } = await run('logistic.onnx', rows);
    const p = out.probability as ort.Tensor;
    expect(p.dims).toEqual([4, 1]);
    // logits by hand: 0.8 - 0.8 + 4.5 - 0.2 = 4.3; 3.2 - 2 + 9 - 0.2 = 10; -0.4 + 15 - 0.2 = 14.4; -0.2
    const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
    const want = [4.3, 10, 14.4, -0.2].map(sigmoid);
    Array.from(p.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(want[i] as number, 5));
    expect(LOGISTIC.bias).toEqual([-0.2]);
  });

  it('the builder refuses ragged weights and non-finite values', () => {
    expect(() => buildLinearModel({ weights: [[1], [2, 3]], bias: [0] })).toThrow(/weights row 1 has 2 values/);
    expect(() => buildLinearModel({ weights: [[Infinity]], bias: [0] })).toThrow(/finite/);
    expect(() => buildLinearModel({ weights: [], bias: [0] })).toThrow(/at least one row/);
  });

  it('builds multi-output models onnxruntime accepts', async () => {
    const bytes = buildLinearModel({ weights: [[1, 0], [0, 1]], bias: [10, 20], inputName: 'features', outputName: 'scores', metadata: { b: '2', a: '1' } });
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from([1, 2]), [1, 2]) });
    expect(Array.from((out.scores as ort.Tensor).data as Float32Array)).toEqual([11, 22]);
    await session.release();
  });
});
