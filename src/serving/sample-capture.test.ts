import { describe, expect, it } from 'vitest';
import type { HostTensor, Tensors } from './datatypes.js';
import { signatureFromMetadata } from './model-signature.js';
import { RingBuffer } from './ring-buffer.js';
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

describe('RingBuffer', () => {
  it('keeps the newest items, oldest first', () => {
    const r = new RingBuffer<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.snapshot()).toEqual([3, 4, 5]);
    expect(r.snapshot(2)).toEqual([4, 5]);
    expect(r.snapshot(10)).toEqual([3, 4, 5]);
    expect(r.size).toBe(3);
    expect(() => new RingBuffer(0)).toThrow();
  });
});

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
});
