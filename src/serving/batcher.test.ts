import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.js';
import type { HostTensor, Tensors } from './datatypes.js';

const rowsTensor = (rows: number[][]): Tensors =>
  new Map([['x', { datatype: 'FP32', shape: [rows.length, rows[0]?.length ?? 0], data: Float32Array.from(rows.flat()) }]]);

/** A fake model: y = sum of each row; records the rows of every run. */
function fakeModel(o: { failWhen?: (x: Float32Array) => boolean; badRows?: boolean } = {}) {
  const runs: number[] = [];
  let gate: Promise<void> | undefined;
  let open = () => {};
  const run = async (feeds: Tensors): Promise<Tensors> => {
    const x = feeds.get('x') as HostTensor;
    const [n = 0, k = 0] = x.shape;
    const data = x.data as Float32Array;
    runs.push(n);
    await gate;
    if (o.failWhen?.(data)) throw new Error('boom');
    const y = new Float32Array(n);
    for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) y[r] = (y[r] ?? 0) + (data[r * k + c] ?? 0);
    return new Map([['y', { datatype: 'FP32', shape: [o.badRows ? 1 : n, 1], data: o.badRows ? y.subarray(0, 1) : y }]]);
  };
  /** Holds every run that starts from now on until the returned function is called. */
  const hold = () => {
    gate = new Promise<void>((r) => (open = r));
    return () => {
      gate = undefined;
      open();
    };
  };
  return { runs, run, hold };
}

/** Keeps the model busy with one request, so that the next ones queue up; returns the release and that request's result. */
function occupy(b: Batcher, m: ReturnType<typeof fakeModel>) {
  const release = m.hold();
  const first = b.submit(rowsTensor([[100]]), 1, '1');
  return { first, release };
}

const ys = (t: Tensors) => Array.from((t.get('y') as HostTensor).data as Float32Array);

describe('Batcher', () => {
  it('stacks the requests that arrive while the model is busy into one run and gives each its own rows, in order', async () => {
    const m = fakeModel();
    const b = new Batcher({ maxBatchSize: 64, maxDelayMs: 50, run: m.run, arriving: () => 0 });
    const { first, release } = occupy(b, m);
    const pending = Promise.all(Array.from({ length: 20 }, (_, i) => b.submit(rowsTensor([[i, 1], [i, 2]]), 2, '2')));
    release();
    const results = await pending;
    expect(ys(await first)).toEqual([100]);
    expect(m.runs).toEqual([1, 40]);
    results.forEach((r, i) => expect(ys(r)).toEqual([i + 1, i + 2]));
  });

  it('runs a lone request on an idle model at once, without waiting a turn of the event loop', async () => {
    const m = fakeModel();
    const b = new Batcher({ maxBatchSize: 64, maxDelayMs: 50, run: m.run, arriving: () => 0 });
    const p = b.submit(rowsTensor([[3, 4]]), 1, '2');
    // Synchronously: the run has started before submit returned.
    expect(m.runs).toEqual([1]);
    expect(ys(await p)).toEqual([7]);
    await new Promise((r) => setImmediate(r));
    // Requests submitted while it runs queue behind it and go together.
    const release = m.hold();
    const a = b.submit(rowsTensor([[1, 1]]), 1, '2');
    const rest = [b.submit(rowsTensor([[2, 2]]), 1, '2'), b.submit(rowsTensor([[3, 3]]), 1, '2')];
    expect(m.runs).toEqual([1, 1]);
    release();
    expect([await a, ...(await Promise.all(rest))].map(ys)).toEqual([[2], [4], [6]]);
    expect(m.runs).toEqual([1, 1, 2]);
  });

  it('never exceeds maxBatchSize rows', async () => {
    const m = fakeModel();
    const b = new Batcher({ maxBatchSize: 8, maxDelayMs: 5, run: m.run, arriving: () => 0 });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => b.submit(rowsTensor([[i]]), 1, '1')));
    expect(Math.max(...m.runs)).toBeLessThanOrEqual(8);
    expect(m.runs.reduce((a, n) => a + n, 0)).toBe(30);
    results.forEach((r, i) => expect(ys(r)).toEqual([i]));
  });

  it('only stacks requests whose other dimensions agree', async () => {
    const m = fakeModel();
    const b = new Batcher({ maxBatchSize: 64, maxDelayMs: 5, run: m.run, arriving: () => 0 });
    const { first, release } = occupy(b, m);
    const pending = Promise.all([
      b.submit(rowsTensor([[1, 1]]), 1, '2'),
      b.submit(rowsTensor([[1, 1, 1]]), 1, '3'),
      b.submit(rowsTensor([[2, 2]]), 1, '2'),
    ]);
    release();
    const [a, c, d] = await pending;
    await first;
    expect(m.runs).toEqual([1, 2, 1]);
    expect([ys(a), ys(c), ys(d)]).toEqual([[2], [3], [4]]);
  });

  it('waits for requests still arriving, at most maxDelayMs, and not at all for nobody', async () => {
    const m = fakeModel();
    let arriving = 1;
    const b = new Batcher({ maxBatchSize: 64, maxDelayMs: 300, run: m.run, arriving: () => arriving });
    const t0 = performance.now();
    const first = b.submit(rowsTensor([[1]]), 1, '1');
    setTimeout(() => {
      // The awaited request arrives; nobody else is on the way: run both now.
      arriving = 0;
      void b.submit(rowsTensor([[2]]), 1, '1');
    }, 10);
    await first;
    expect(m.runs).toEqual([2]);
    expect(performance.now() - t0).toBeLessThan(290);
    // Others keep arriving but never come: the request goes once the delay is up.
    arriving = 5;
    const t1 = performance.now();
    await b.submit(rowsTensor([[3]]), 1, '1');
    expect(performance.now() - t1).toBeGreaterThanOrEqual(295);
    expect(m.runs).toEqual([2, 1]);
  });

  it('a failing batch is retried request by request, so only the culprit fails', async () => {
    const m = fakeModel({ failWhen: (x) => x.includes(13) });
    const b = new Batcher({ maxBatchSize: 64, maxDelayMs: 5, run: m.run, arriving: () => 0 });
    const { first, release } = occupy(b, m);
    const pending = Promise.allSettled(Array.from({ length: 5 }, (_, i) => b.submit(rowsTensor([[i + 11]]), 1, '1')));
    release();
    const settled = await pending;
    await first;
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(m.runs.slice(0, 2)).toEqual([1, 5]);
  });

  it('turns stacking off when outputs do not follow the batch dimension', async () => {
    const m = fakeModel({ badRows: true });
    const broken: string[] = [];
    const b = new Batcher({ maxBatchSize: 64, maxDelayMs: 5, run: m.run, arriving: () => 0, onStackingBroken: (w) => broken.push(w) });
    const { first, release } = occupy(b, m);
    const pending = Promise.all([b.submit(rowsTensor([[1]]), 1, '1'), b.submit(rowsTensor([[2]]), 1, '1')]);
    release();
    const r = await pending;
    await first;
    expect(r.map(ys)).toEqual([[1], [2]]);
    expect(broken).toHaveLength(1);
    expect(b.batching).toBe(false);
  });

  it('without batching runs each request alone; drain waits for all', async () => {
    const m = fakeModel();
    const b = new Batcher({ maxBatchSize: 32, maxDelayMs: 0, run: m.run, arriving: () => 0 });
    const all = Promise.all([1, 2, 3].map((v) => b.submit(rowsTensor([[v]]), 1, '1')));
    expect(b.pending).toBe(3);
    await b.drain();
    expect(b.pending).toBe(0);
    expect(m.runs).toEqual([1, 1, 1]);
    expect((await all).map(ys)).toEqual([[1], [2], [3]]);
  });

  it('drain flushes queued requests without waiting for the delay', async () => {
    const m = fakeModel();
    const b = new Batcher({ maxBatchSize: 32, maxDelayMs: 10_000, run: m.run, arriving: () => 1 });
    const p = b.submit(rowsTensor([[7]]), 1, '1');
    const t0 = performance.now();
    await b.drain();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(ys(await p)).toEqual([7]);
  });
});
