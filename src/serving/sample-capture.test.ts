import { describe, expect, it } from 'vitest';
import type { HostTensor, Tensors } from './datatypes.js';
import { signatureFromMetadata } from './model-signature.js';
import { resolveFeatureLayout, SampleCapture } from './sample-capture.js';

const sig = signatureFromMetadata(
  [{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 2] }],
  [{ name: 'y', isTensor: true, type: 'float32', shape: ['batch', 1] }],
);
const features = [
  { name: 'age', type: 'numeric' as const },
  { name: 'income', type: 'numeric' as const },
];
const t = (shape: number[], data: number[]): HostTensor => ({ datatype: 'FP32', shape, data: Float32Array.from(data) });
const req = (rows: number[][]): [Tensors, Tensors] => [
  new Map([['x', t([rows.length, 2], rows.flat())]]),
  new Map([['y', t([rows.length, 1], rows.map((r) => (r[0] ?? 0) + (r[1] ?? 0)))]]),
];
const lines = (c: SampleCapture, limit?: number) => [...c.jsonLines(limit, 2)].join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('SampleCapture', () => {
  it('maps the columns of a 2-D input to feature names, with _output and _ts', () => {
    const layout = resolveFeatureLayout(features, sig);
    expect(layout.warning).toBeUndefined();
    const c = new SampleCapture({ rate: 1, bufferSize: 3, layout });
    c.capture(...req([[1, 2], [3, 4]]), Date.UTC(2025, 0, 1));
    c.capture(...req([[5, 6], [7, 8]]), Date.UTC(2025, 0, 2));
    expect(lines(c)).toEqual([
      { age: 3, income: 4, _output: 7, _ts: '2025-01-01T00:00:00.000Z' },
      { age: 5, income: 6, _output: 11, _ts: '2025-01-02T00:00:00.000Z' },
      { age: 7, income: 8, _output: 15, _ts: '2025-01-02T00:00:00.000Z' },
    ]);
    expect(lines(c, 1)).toEqual([{ age: 7, income: 8, _output: 15, _ts: '2025-01-02T00:00:00.000Z' }]);
  });

  it('samples at the configured rate', () => {
    let n = 0;
    const c = new SampleCapture({ rate: 0.25, bufferSize: 1000, layout: resolveFeatureLayout(features, sig), random: () => (n++ % 4) / 4 });
    c.capture(...req(Array.from({ length: 100 }, (_, i) => [i, i])));
    expect(c.size).toBe(25);
    const off = new SampleCapture({ rate: 0, bufferSize: 10, layout: resolveFeatureLayout(features, sig) });
    off.capture(...req([[1, 2]]));
    expect(off.size).toBe(0);
  });

  it('maps one input per feature, and falls back to input names with a warning', () => {
    const perInput = signatureFromMetadata(
      [
        { name: 'age', isTensor: true, type: 'float32', shape: ['n', 1] },
        { name: 'plan', isTensor: true, type: 'string', shape: ['n', 1] },
      ],
      [{ name: 'p', isTensor: true, type: 'float32', shape: ['n', 2] }],
    );
    const layout = resolveFeatureLayout(
      [
        { name: 'age', type: 'numeric' },
        { name: 'plan', type: 'categorical' },
      ],
      perInput,
    );
    expect(layout.columns).toEqual([
      { key: 'age', input: 'age', column: 0 },
      { key: 'plan', input: 'plan', column: 0 },
    ]);
    const c = new SampleCapture({ rate: 1, bufferSize: 10, layout });
    c.capture(
      new Map<string, HostTensor>([
        ['age', t([1, 1], [42])],
        ['plan', { datatype: 'BYTES', shape: [1, 1], data: ['gold'] }],
      ]),
      new Map([['p', t([1, 2], [0.25, 0.75])]]),
      0,
    );
    expect(lines(c)).toEqual([{ age: 42, plan: 'gold', _output: [0.25, 0.75], _ts: '1970-01-01T00:00:00.000Z' }]);
    const fallback = resolveFeatureLayout([{ name: 'a', type: 'numeric' }], perInput);
    expect(fallback.warning).toMatch(/match neither/);
    expect(fallback.columns.map((c) => c.key)).toEqual(['age', 'plan']);
  });

  it('copies numeric rows: changing the request tensors afterwards changes nothing captured', () => {
    const c = new SampleCapture({ rate: 1, bufferSize: 4, layout: resolveFeatureLayout(features, sig) });
    const [inputs, outputs] = req([[0.1, 2]]);
    c.capture(inputs, outputs, Date.UTC(2025, 0, 1));
    (inputs.get('x')?.data as Float32Array).fill(99);
    (outputs.get('y')?.data as Float32Array).fill(99);
    expect(lines(c)).toEqual([{ age: Math.fround(0.1), income: 2, _output: Math.fround(2.1), _ts: '2025-01-01T00:00:00.000Z' }]);
  });

  it('keeps the newest rows in order across wrap-around, mixing copied and referenced rows', () => {
    const c = new SampleCapture({ rate: 1, bufferSize: 3, layout: resolveFeatureLayout(features, sig) });
    c.capture(...req([[1, 1]]), 1);
    // BOOL outputs are kept by reference (rendered as booleans), in the same ring.
    const flags: Tensors = new Map([['y', { datatype: 'BOOL', shape: [2, 1], data: Uint8Array.from([1, 0]) }]]);
    c.capture(req([[2, 2], [3, 3]])[0], flags, 2);
    c.capture(...req([[4, 4]]), 3);
    // An output of another width than the first copied one goes by reference too.
    const wide: Tensors = new Map([['y', t([1, 2], [5, 50])]]);
    c.capture(req([[5, 5]])[0], wide, 4);
    expect(c.size).toBe(3);
    expect(lines(c).map(({ age, _output }) => [age, _output])).toEqual([
      [3, false],
      [4, 8],
      [5, [5, 50]],
    ]);
    expect(lines(c, 1)).toEqual([{ age: 5, income: 5, _output: [5, 50], _ts: new Date(4).toISOString() }]);
    expect(c.timedLines().map(([ts]) => ts)).toEqual([2, 3, 4]);
  });

  it('refuses a buffer size that is not a positive integer', () => {
    expect(() => new SampleCapture({ rate: 1, bufferSize: 0, layout: resolveFeatureLayout(features, sig) })).toThrow(/positive integer/);
  });

  it('copies whole-row columns (no features: keys are input names) as rowJson writes them', () => {
    const c = new SampleCapture({ rate: 1, bufferSize: 2, layout: resolveFeatureLayout([], sig) });
    const [inputs, outputs] = req([[1.5, 2], [3, 4]]);
    c.capture(inputs, outputs, 0);
    (inputs.get('x')?.data as Float32Array).fill(0);
    expect(lines(c).map(({ x, _output }) => [x, _output])).toEqual([
      [[1.5, 2], 3.5],
      [[3, 4], 7],
    ]);
  });
});
