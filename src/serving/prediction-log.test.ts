// The prediction log's batching, object names, sampling and loss accounting,
// with the store replaced by a function the test controls.
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../storage/errors.js';
import type { PredictionLogConfig } from './config.js';
import { jsonElements, type HostTensor, type Tensors } from './datatypes.js';
import { compactTime, mergeLogStatus, objectUri, partitionOf, PredictionLog, type LogResult, type PredictionLogOptions } from './prediction-log.js';

const T0 = Date.parse('2026-03-14T15:59:58.250Z');

const tensors = (name: string, values: number[]): Tensors =>
  new Map([[name, { datatype: 'FP32' as const, shape: [1, values.length], data: new Float32Array(values) }]]);

interface Put {
  uri: string;
  body: Buffer;
}

/** A store that keeps what it is given; `fail` decides per call whether (and how) a write fails, `hold` keeps writes pending. */
function fakeStore() {
  const puts: Put[] = [];
  const store = {
    puts,
    fail: undefined as ((call: number) => Error | undefined) | undefined,
    held: [] as (() => void)[],
    hold: false,
    calls: 0,
    /** Writes given up by their signal while pending. */
    aborted: 0,
    write: async (uri: string, body: Uint8Array, signal: AbortSignal) => {
      const call = ++store.calls;
      if (store.hold) {
        await new Promise<void>((resolve, reject) => {
          store.held.push(resolve);
          signal.addEventListener('abort', () => {
            store.aborted++;
            reject(new StorageError('Unreachable', `${uri}: timed out`));
          });
        });
      }
      const err = store.fail?.(call);
      if (err) throw err;
      puts.push({ uri, body: Buffer.from(body) });
    },
  };
  return store;
}

const lines = (p: Put) =>
  gunzipSync(p.body)
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; model: string; version: string; time: string; inputs: unknown[]; outputs: { name: string; data: number[] }[] });

function makeLog(config: Partial<PredictionLogConfig>, store: ReturnType<typeof fakeStore>, more: Partial<PredictionLogOptions> = {}) {
  const counted: Record<LogResult, number> = { written: 0, dropped: 0, failed: 0 };
  const log = new PredictionLog({
    config: { uri: 's3://logs/pred', sampleRate: 1, flushIntervalSeconds: 3600, maxBatchRecords: 3, maxBufferedRecords: 10, ...config },
    model: 'churn',
    version: 'v2',
    pod: 'churn-abc',
    worker: 2,
    write: store.write,
    count: (r, n) => (counted[r] += n),
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 4, timeoutMs: 200 },
    ...more,
  });
  return { log, counted };
}

/** Until `cond` holds (the log writes asynchronously), at most 2 s. */
async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met within 2 s');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('prediction log object names', () => {
  it('are Hive partitions of model, version, date and hour, then pod, worker, sequence and first record time', () => {
    expect(partitionOf(T0)).toBe('date=2026-03-14/hour=15');
    expect(compactTime(T0)).toBe('20260314T155958.250Z');
    const a = { prefix: 's3://logs/pred/', model: 'churn', version: 'v2', pod: 'churn-abc', worker: 2, seq: 7, firstTime: T0 };
    expect(objectUri(a)).toBe('s3://logs/pred/model=churn/version=v2/date=2026-03-14/hour=15/churn-abc-2-000007-20260314T155958.250Z.jsonl.gz');
    // Deterministic: the same batch gets the same name; another sequence number or first record time another.
    expect(objectUri({ ...a })).toBe(objectUri(a));
    expect(objectUri({ ...a, seq: 8 })).not.toBe(objectUri(a));
    expect(objectUri({ ...a, firstTime: T0 + 1 })).not.toBe(objectUri(a));
  });
});

describe('PredictionLog', () => {
  it('writes full batches at once and the rest when the flush timer ticks, each record once with its fields', async () => {
    const store = fakeStore();
    const { log, counted } = makeLog({}, store);
    for (let i = 0; i < 7; i++) log.record(`r${i}`, tensors('x', [i, i + 0.5]), tensors('y', [i * 2]), T0 + i);
    await until(() => store.puts.length === 2);
    expect(log.buffered).toBe(1);
    log.tick();
    await until(() => store.puts.length === 3);
    const all = store.puts.flatMap(lines);
    expect(all.map((r) => r.id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    expect(all[3]).toEqual({
      id: 'r3',
      model: 'churn',
      version: 'v2',
      time: new Date(T0 + 3).toISOString(),
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [3, 3.5] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 1], data: [6] }],
    });
    expect(store.puts.map((p) => p.uri.split('/').at(-1))).toEqual([
      `churn-abc-2-000001-${compactTime(T0)}.jsonl.gz`,
      `churn-abc-2-000002-${compactTime(T0 + 3)}.jsonl.gz`,
      `churn-abc-2-000003-${compactTime(T0 + 6)}.jsonl.gz`,
    ]);
    expect(counted).toEqual({ written: 7, dropped: 0, failed: 0 });
    expect(log.status()).toMatchObject({ written: 7, dropped: 0, failed: 0, buffered: 0, losing: false });
    await log.close(performance.now() + 1000);
  });

  it('never puts records of two hours in one object', async () => {
    const store = fakeStore();
    const { log } = makeLog({ maxBatchRecords: 10 }, store);
    // 15:59:58.250, 15:59:59.250, 16:00:00.250, 16:00:01.250
    for (let i = 0; i < 4; i++) log.record(`r${i}`, tensors('x', [i]), tensors('y', [i]), T0 + i * 1000);
    log.tick();
    await until(() => store.puts.length === 2);
    expect(store.puts.map((p) => [p.uri.match(/hour=\d\d/)?.[0], lines(p).map((r) => r.id)])).toEqual([
      ['hour=15', ['r0', 'r1']],
      ['hour=16', ['r2', 'r3']],
    ]);
    await log.close(performance.now() + 1000);
  });

  it('drops and counts what does not fit while the store hangs, without waiting for it', async () => {
    const store = fakeStore();
    store.hold = true;
    const { log, counted } = makeLog({ maxBatchRecords: 2, maxBufferedRecords: 5 }, store, { retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 60_000 } });
    const started = performance.now();
    // 2 go out in a batch that hangs, 5 fill the buffer, 3 are dropped.
    for (let i = 0; i < 10; i++) log.record(`r${i}`, tensors('x', [i]), tensors('y', [i]), T0 + i);
    expect(performance.now() - started).toBeLessThan(50); // record() never waits for the store
    await until(() => store.held.length === 1);
    expect(log.buffered).toBe(5);
    expect(log.status()).toMatchObject({ buffered: 5, writing: 2 });
    expect(counted).toEqual({ written: 0, dropped: 3, failed: 0 });
    expect(log.status()).toMatchObject({ dropped: 3, losing: true });
    expect(log.status().lastLossTime).toBeDefined();
    // The store comes back: everything buffered is written, nothing twice.
    store.hold = false;
    store.held.shift()!();
    log.tick();
    await until(() => counted.written === 7);
    expect(store.puts.flatMap(lines).map((r) => r.id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    await log.close(performance.now() + 1000);
  });

  it('retries a failed write under the same name with the same bytes, and counts the batch once', async () => {
    const store = fakeStore();
    store.fail = (call) => (call <= 2 ? new StorageError('Unreachable', 'connection refused') : undefined);
    const attempts: Put[] = [];
    const write = store.write;
    const { log, counted } = makeLog({}, store, {
      write: async (uri, body, signal) => {
        attempts.push({ uri, body: Buffer.from(body) });
        return write(uri, body, signal);
      },
    });
    for (let i = 0; i < 3; i++) log.record(`r${i}`, tensors('x', [i]), tensors('y', [i]), T0 + i);
    await until(() => store.puts.length === 1);
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => a.uri)).size).toBe(1);
    expect(attempts.every((a) => a.body.equals(attempts[0]!.body))).toBe(true);
    expect(counted).toEqual({ written: 3, dropped: 0, failed: 0 });
    expect(log.status().lastError).toBeUndefined();
    await log.close(performance.now() + 1000);
  });

  it('gives a batch up after the bounded attempts, or at once when the store refuses it, and counts it failed', async () => {
    const store = fakeStore();
    store.fail = () => new StorageError('Unreachable', 'connection refused');
    const warnings: string[] = [];
    const { log, counted } = makeLog({}, store, { warn: (_f, msg) => warnings.push(msg) });
    for (let i = 0; i < 3; i++) log.record(`r${i}`, tensors('x', [i]), tensors('y', [i]), T0 + i);
    await until(() => counted.failed === 3);
    expect(store.calls).toBe(3);
    expect(log.status()).toMatchObject({ failed: 3, losing: true, lastError: 'connection refused' });
    expect(warnings).toContain('prediction log: batch not written; records lost');

    store.fail = () => new StorageError('AccessDenied', 'access denied');
    for (let i = 3; i < 6; i++) log.record(`r${i}`, tensors('x', [i]), tensors('y', [i]), T0 + i);
    await until(() => counted.failed === 6);
    expect(store.calls).toBe(4); // one attempt: waiting does not fix credentials
    await log.close(performance.now() + 1000);
  });

  it('samples requests at the rate, with every request kept at 1', async () => {
    const store = fakeStore();
    const draws = [0.1, 0.5, 0.29, 0.3, 0.99, 0.0];
    let k = 0;
    const { log } = makeLog({ sampleRate: 0.3, maxBatchRecords: 100, maxBufferedRecords: 100 }, store, { random: () => draws[k++]! });
    for (let i = 0; i < draws.length; i++) log.record(`r${i}`, tensors('x', [i]), tensors('y', [i]), T0 + i);
    log.tick();
    await until(() => store.puts.length === 1);
    expect(lines(store.puts[0]!).map((r) => r.id)).toEqual(['r0', 'r2', 'r5']);
    await log.close(performance.now() + 1000);

    const all = fakeStore();
    const { log: every } = makeLog({ sampleRate: 1, maxBatchRecords: 100, maxBufferedRecords: 100 }, all, { random: () => 0.999 });
    for (let i = 0; i < 50; i++) every.record(`r${i}`, tensors('x', [i]), tensors('y', [i]), T0 + i);
    await every.close(performance.now() + 1000);
    expect(all.puts.flatMap(lines)).toHaveLength(50);
  });

  it('writes everything buffered at close, then drops what comes later', async () => {
    const store = fakeStore();
    const { log, counted } = makeLog({ maxBatchRecords: 4, maxBufferedRecords: 100 }, store);
    for (let i = 0; i < 10; i++) log.record(`r${i}`, tensors('x', [i]), tensors('y', [i]), T0 + i);
    await log.close(performance.now() + 1000);
    expect(store.puts.flatMap(lines).map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
    log.record('late', tensors('x', [0]), tensors('y', [0]), T0 + 20);
    expect(counted).toEqual({ written: 10, dropped: 1, failed: 0 });
  });

  it('writes every batch at close when the deadline is nearer than an attempt\'s own limit', async () => {
    // What is left of the deadline has a fraction of a millisecond; an attempt's limit must still be a valid timeout.
    const store = fakeStore();
    const { log, counted } = makeLog({ maxBatchRecords: 4, maxBufferedRecords: 100 }, store, { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 4, timeoutMs: 60_000 } });
    for (let i = 0; i < 10; i++) log.record(`r${i}`, tensors('x', [i]), tensors('y', [i]), T0 + i);
    await log.close(performance.now() + 1000.5);
    expect(counted).toEqual({ written: 10, dropped: 0, failed: 0 });
    expect(store.puts).toHaveLength(3);
  });

  it('gives up at the close deadline when the store hangs, counting what was not written', async () => {
    const store = fakeStore();
    store.hold = true;
    const { log, counted } = makeLog({ maxBatchRecords: 4, maxBufferedRecords: 100 }, store, { retry: { attempts: 100, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 60_000 } });
    for (let i = 0; i < 10; i++) log.record(`r${i}`, tensors('x', [i]), tensors('y', [i]), T0 + i);
    await until(() => store.held.length === 1); // the first batch's write is under way (and hangs)
    const started = performance.now();
    await log.close(started + 300);
    expect(performance.now() - started).toBeLessThan(300 + 1000 + 200);
    expect(counted.written).toBe(0);
    expect(counted.failed).toBe(10);
    // The write under way was cut off, not left to its own (60 s) limit: it would keep the process up.
    expect(store.aborted).toBe(1);
  });
});

describe('PredictionLog records', () => {
  const t = (datatype: HostTensor['datatype'], shape: number[], data: HostTensor['data']): HostTensor => ({ datatype, shape, data });
  /** What a record line must be: JSON.stringify of the record, tensors as the V2 JSON answers write them. */
  const expectedLine = (id: string, time: number, inputs: Tensors, outputs: Tensors) => {
    const json = (ts: Tensors) => [...ts].map(([name, x]) => ({ name, datatype: x.datatype, shape: x.shape, data: jsonElements(x) }));
    return JSON.stringify({ id, model: 'churn', version: 'v2', time: new Date(time).toISOString(), inputs: json(inputs), outputs: json(outputs) });
  };
  const rawLines = (puts: Put[]) => puts.flatMap((p) => gunzipSync(p.body).toString('utf8').trim().split('\n'));

  it('copies the request: changing its tensors after record() changes nothing logged', async () => {
    const store = fakeStore();
    const { log } = makeLog({ maxBatchRecords: 10 }, store);
    const inputs = tensors('x', [1.5, 2.5]);
    const outputs = tensors('y', [4]);
    const names: Tensors = new Map([['s', t('BYTES', [1, 1], ['before'])]]);
    log.record('r0', inputs, outputs, T0);
    log.record('r1', names, outputs, T0 + 1);
    // The batcher, the protocol layer or the client's buffer reuse their memory after the answer.
    (inputs.get('x')!.data as Float32Array).fill(99);
    (outputs.get('y')!.data as Float32Array).fill(99);
    inputs.get('x')!.shape[0] = 7;
    (names.get('s')!.data as string[])[0] = 'after';
    inputs.set('extra', t('FP32', [1], new Float32Array([5])));
    log.tick();
    await until(() => store.puts.length === 1);
    const [r0, r1] = lines(store.puts[0]!);
    expect(r0!.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1.5, 2.5] }]);
    expect(r0!.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [1, 1], data: [4] }]);
    expect(r1!.inputs).toEqual([{ name: 's', datatype: 'BYTES', shape: [1, 1], data: ['before'] }]);
    await log.close(performance.now() + 1000);
  });

  it('writes each record as JSON.stringify would, for every datatype, form and size', async () => {
    const store = fakeStore();
    const { log } = makeLog({ maxBatchRecords: 1000, maxBufferedRecords: 1000 }, store);
    const big = Float64Array.from({ length: 20_000 }, (_, i) => i / 7); // 160 kB: past the block's first buffer
    const requests: [string, Tensors, Tensors][] = [
      ['plain', tensors('x', [0.1, -0, 3e-20]), tensors('y', [1e21])],
      ['non-finite "quoted" \u00e9\u{1F600}', new Map([['x', t('FP32', [1, 3], Float32Array.from([NaN, Infinity, -Infinity]))]]), new Map([['y', t('FP64', [1], Float64Array.from([NaN]))]])],
      [
        'ints',
        new Map([
          ['i8', t('INT8', [2], Int8Array.from([-128, 127]))],
          ['u8', t('UINT8', [1], Uint8Array.from([255]))],
          ['i16', t('INT16', [1], Int16Array.from([-32768]))],
          ['u16', t('UINT16', [1], Uint16Array.from([65535]))],
          ['i32', t('INT32', [1], Int32Array.from([-(2 ** 31)]))],
          ['u32', t('UINT32', [1], Uint32Array.from([2 ** 32 - 1]))],
        ]),
        new Map([
          ['i64', t('INT64', [3], BigInt64Array.from([-(2n ** 63n), 2n ** 53n + 1n, 5n]))],
          ['u64', t('UINT64', [1], BigUint64Array.from([2n ** 64n - 1n]))],
        ]),
      ],
      ['bools', new Map([['b', t('BOOL', [1, 3], Uint8Array.from([1, 0, 1]))]]), new Map([['y', t('BOOL', [1], Uint8Array.from([0]))]])],
      ['strings', new Map([['s', t('BYTES', [3], ['a"b\\c', '\u00fc\u{1F600}', '\ud800 lone'])]]), tensors('y', [1])],
      ['big', new Map([['x', t('FP64', [1, big.length], big)]]), tensors('y', [2])],
      ['empty', new Map([['x', t('FP32', [0, 3], new Float32Array(0))]]), new Map<string, HostTensor>()],
    ];
    // Views into a larger buffer (what the batcher hands out) at an odd offset, as well as whole arrays.
    const backing = new Float32Array(10).fill(3);
    requests.push(['view', new Map([['x', t('FP32', [1, 3], backing.subarray(1, 4))]]), new Map([['y', t('FP32', [1, 1], backing.subarray(7, 8))]])]);
    // More forms than a block searches back for, interleaved: each record still gets its own.
    for (let i = 0; i < 30; i++) requests.push([`form-${i}`, tensors('x', Array.from({ length: (i % 11) + 1 }, (_, k) => k + i)), tensors('y', [i])]);
    requests.forEach(([id, inputs, outputs], i) => log.record(id, inputs, outputs, T0 + i));
    log.tick();
    await until(() => store.puts.length === 1);
    expect(rawLines(store.puts)).toEqual(requests.map(([id, inputs, outputs], i) => expectedLine(id, T0 + i, inputs, outputs)));
    await log.close(performance.now() + 1000);
  });
});

describe('mergeLogStatus', () => {
  it('sums the workers and keeps the latest times', () => {
    const a = { uri: 's3://l/p', buffered: 1, writing: 0, written: 10, dropped: 0, failed: 0, lastWriteTime: '2026-01-01T00:00:02.000Z', losing: false };
    const b = { uri: 's3://l/p', buffered: 2, writing: 4, written: 5, dropped: 3, failed: 1, lastWriteTime: '2026-01-01T00:00:01.000Z', lastLossTime: '2026-01-01T00:00:03.000Z', lastError: 'x', losing: true };
    expect(mergeLogStatus([a, b])).toEqual({
      uri: 's3://l/p',
      buffered: 3,
      writing: 4,
      written: 15,
      dropped: 3,
      failed: 1,
      lastWriteTime: '2026-01-01T00:00:02.000Z',
      lastLossTime: '2026-01-01T00:00:03.000Z',
      lastError: 'x',
      losing: true,
    });
    expect(mergeLogStatus([])).toBeUndefined();
  });
});
