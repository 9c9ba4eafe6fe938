import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRuntimeMetrics, type RuntimeMetrics } from './metrics.js';
import { ItemExponentialFailureRateLimiter, type RateLimiter } from './rate-limiter.js';
import { WorkQueue } from './workqueue.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Lets every pending promise callback and one round of the event loop run. */
const settle = () => nextMacrotask();

/** Tracks whether a get() has resolved yet, and with what. */
function pending(q: WorkQueue): { readonly settled: boolean; readonly key: string | undefined; promise: Promise<void> } {
  const state = { settled: false, key: undefined as string | undefined, promise: Promise.resolve() };
  state.promise = q.get().then((k) => {
    state.settled = true;
    state.key = k;
  });
  return state;
}

/** Deterministic PRNG (mulberry32) so a failing randomized run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('WorkQueue: coalescing, exclusivity, order', () => {
  it('coalesces re-adds of a waiting key into one entry', async () => {
    const q = new WorkQueue({ name: 't' });
    for (const k of ['a', 'b', 'a', 'c', 'b', 'a']) q.add(k);
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
    expect(q.len()).toBe(0);
    const fourth = pending(q);
    await settle();
    expect(fourth.settled).toBe(false); // no duplicate 'a' or 'b' left behind
    q.shutDown();
  });

  it('hands keys out in FIFO order; a key re-added while processed goes to the back at done()', async () => {
    const q = new WorkQueue({ name: 't' });
    const keys = Array.from({ length: 100 }, (_, i) => `ns/k${i}`);
    for (const k of keys) q.add(k);
    const got: (string | undefined)[] = [];
    for (let i = 0; i < keys.length; i++) got.push(await q.get());
    expect(got).toEqual(keys);
    for (const k of keys) q.done(k);

    q.add('a');
    q.add('b');
    expect(await q.get()).toBe('a');
    q.add('a'); // parked: 'a' is being processed
    q.add('c');
    q.done('a'); // now 'a' is queued, behind 'b' and 'c'
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['b', 'c', 'a']);
  });

  it('does not hand out a key being processed; re-delivers it once after done() if re-added meanwhile', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0); // parked behind its own processing, not queued
    q.add('b');
    expect(await q.get()).toBe('b'); // a second worker gets 'b', not 'a'
    const third = pending(q);
    await settle();
    expect(third.settled).toBe(false);
    q.done('a');
    await third.promise;
    expect(third.key).toBe('a'); // the change made during processing is not lost
    q.done('a');
    q.done('b');
    const fourth = pending(q);
    await settle();
    expect(fourth.settled).toBe(false); // two re-adds while processing meant one more pass, not two
    q.add('z');
    await fourth.promise;
    expect(fourth.key).toBe('z');
  });

  it('does not re-deliver a key after done() if it was not re-added', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    await q.get();
    q.done('a');
    q.done('a'); // a second done() is harmless
    expect(q.len()).toBe(0);
    const next = pending(q);
    await settle();
    expect(next.settled).toBe(false);
    q.shutDown();
  });

  it('serves waiting workers in the order they called get()', async () => {
    const q = new WorkQueue({ name: 't' });
    const waiting = [pending(q), pending(q), pending(q)];
    q.add('x');
    q.add('y');
    q.add('z');
    await Promise.all(waiting.map((w) => w.promise));
    expect(waiting.map((w) => w.key)).toEqual(['x', 'y', 'z']);
  });

  it('randomized: concurrent workers never hold the same key, and every add is followed by a processing', async () => {
    const rand = prng(20260523);
    const q = new WorkQueue({ name: 't' });
    const keys = Array.from({ length: 25 }, (_, i) => `ns/obj-${i}`);
    let seq = 0;
    const held = new Set<string>();
    const lastAdd = new Map<string, number>();
    const lastStart = new Map<string, number>();
    const addsOf = new Map<string, number>();
    const deliveriesOf = new Map<string, number>();
    let exclusivityViolations = 0;
    let starts = 0;
    let adds = 0;
    const add = (key: string) => {
      lastAdd.set(key, ++seq);
      addsOf.set(key, (addsOf.get(key) ?? 0) + 1);
      adds++;
      q.add(key);
    };

    const worker = async () => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        if (held.has(key)) exclusivityViolations++;
        deliveriesOf.set(key, (deliveriesOf.get(key) ?? 0) + 1);
        held.add(key);
        starts++;
        lastStart.set(key, ++seq);
        // Reconciles take a random number of event-loop turns and sometimes
        // re-add their own key (as their own status write would).
        const turns = Math.floor(rand() * 4);
        for (let i = 0; i < turns; i++) {
          await nextMacrotask();
          if (rand() < 0.1) add(key);
        }
        held.delete(key);
        q.done(key);
      }
    };
    const workers = Array.from({ length: 8 }, worker);

    for (let i = 0; i < 4000; i++) {
      add(keys[Math.floor(rand() * keys.length)]!);
      if (rand() < 0.2) await nextMacrotask();
    }
    // Idle = nothing queued and nothing held, seen on several consecutive turns.
    for (let idle = 0; idle < 5; ) {
      await nextMacrotask();
      idle = q.len() === 0 && held.size === 0 ? idle + 1 : 0;
    }
    q.shutDown();
    await Promise.all(workers);

    expect(exclusivityViolations).toBe(0);
    expect(lastAdd.size).toBe(keys.length);
    for (const [key, added] of lastAdd) {
      // The last add of every key was followed by a processing of it...
      expect(lastStart.get(key) ?? -1, key).toBeGreaterThan(added);
      // ...and no key was delivered more often than it was added.
      expect(deliveriesOf.get(key), key).toBeLessThanOrEqual(addsOf.get(key)!);
    }
    // Adds did coalesce, and the run was busy enough to exercise it.
    expect(starts).toBeLessThan(adds);
    expect(starts).toBeGreaterThan(500);
  });
});

describe('WorkQueue: addAfter and addRateLimited', () => {
  it('addAfter adds the key after exactly the delay', () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ name: 't', now: () => Date.now() });
    q.addAfter('a', 300);
    vi.advanceTimersByTime(299);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
  });

  it('the earliest due time wins, and superseded timers add nothing later', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ name: 't', now: () => Date.now() });
    q.addAfter('a', 1000);
    q.addAfter('a', 200); // earlier: replaces the 1000 ms one
    q.addAfter('a', 5000); // later: ignored
    vi.advanceTimersByTime(199);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    vi.advanceTimersByTime(10_000);
    expect(q.len()).toBe(0);

    q.addAfter('b', 100);
    q.addAfter('b', 400); // later than the pending one: 100 ms stands
    vi.advanceTimersByTime(100);
    expect(q.len()).toBe(1);
  });

  it('keys are scheduled independently; zero, negative and NaN delays add at once', () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ name: 't', now: () => Date.now() });
    q.addAfter('a', 100);
    q.addAfter('b', 50);
    vi.advanceTimersByTime(50);
    expect(q.len()).toBe(1);
    vi.advanceTimersByTime(50);
    expect(q.len()).toBe(2);
    q.addAfter('c', 0);
    q.addAfter('d', -5);
    q.addAfter('e', Number.NaN);
    expect(q.len()).toBe(5);
  });

  it('waits the full delay even beyond the ~24.8 day Node timer limit', () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ name: 't', now: () => Date.now() });
    const day = 24 * 3600 * 1000;
    q.addAfter('a', 30 * day);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(30 * day - 2);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
  });

  it('does not keep the process alive with delay or metrics timers', () => {
    const spyTimeout = vi.spyOn(globalThis, 'setTimeout');
    const spyInterval = vi.spyOn(globalThis, 'setInterval');
    const q = new WorkQueue({ name: 't', metrics: createRuntimeMetrics(new Registry(), false) });
    q.addAfter('a', 60_000);
    const timers = [...spyTimeout.mock.results, ...spyInterval.mock.results].map((r) => r.value as NodeJS.Timeout);
    expect(timers).toHaveLength(2);
    for (const t of timers) expect(t.hasRef()).toBe(false);
    q.shutDown();
  });

  it('addRateLimited backs off exponentially per key until forget()', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ name: 't', rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000) });
    const failAndExpectDelay = async (key: string, ms: number) => {
      q.addRateLimited(key);
      vi.advanceTimersByTime(ms - 1);
      expect(q.len(), `${key} before ${ms} ms`).toBe(0);
      vi.advanceTimersByTime(1);
      expect(q.len(), `${key} at ${ms} ms`).toBe(1);
      expect(await q.get()).toBe(key);
      q.done(key);
    };
    await failAndExpectDelay('a', 10);
    await failAndExpectDelay('a', 20);
    await failAndExpectDelay('a', 40);
    await failAndExpectDelay('b', 10); // another key has its own count
    expect(q.numRequeues('a')).toBe(3);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    await failAndExpectDelay('a', 10);
  });

  it('addRateLimited uses the limiter once per call and controller-runtime defaults when none is given', () => {
    vi.useFakeTimers();
    const calls: string[] = [];
    const limiter: RateLimiter = {
      when: (k) => (calls.push(k), 70),
      forget: () => {},
      numRequeues: () => 0,
    };
    const q = new WorkQueue({ name: 't', rateLimiter: limiter });
    q.addRateLimited('k');
    expect(calls).toEqual(['k']);
    vi.advanceTimersByTime(69);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(1);

    const d = new WorkQueue({ name: 'default' });
    d.addRateLimited('k'); // 5 ms base delay, within the bucket's burst
    vi.advanceTimersByTime(4);
    expect(d.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(d.len()).toBe(1);
    expect(d.numRequeues('k')).toBe(1);
  });
});

describe('WorkQueue: shutdown', () => {
  it('shutDown releases every waiting get(), drops queued and delayed keys, ignores later adds', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ name: 't' });
    const waiting = [pending(q), pending(q)];
    q.shutDown();
    await Promise.all(waiting.map((w) => w.promise));
    expect(waiting.map((w) => [w.settled, w.key])).toEqual([
      [true, undefined],
      [true, undefined],
    ]);

    const r = new WorkQueue({ name: 'r' });
    r.add('queued');
    r.addAfter('delayed', 100);
    r.shutDown();
    expect(r.isShuttingDown()).toBe(true);
    expect(r.len()).toBe(0);
    r.add('late');
    r.addAfter('late', 10);
    r.addRateLimited('late');
    expect(r.numRequeues('late')).toBe(0); // not even counted as a failure
    vi.advanceTimersByTime(1000);
    expect(r.len()).toBe(0);
    expect(await r.get()).toBeUndefined();
  });

  it('shutDownWithDrain resolves only after every in-flight key is done()', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('x');
    q.add('y');
    q.add('never');
    expect(await q.get()).toBe('x');
    expect(await q.get()).toBe('y');
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => {
      drained = true;
    });
    expect(q.isShuttingDown()).toBe(true);
    expect(await q.get()).toBeUndefined(); // 'never' was not handed out
    q.add('x'); // ignored: not re-delivered after done
    q.done('x');
    await settle();
    expect(drained).toBe(false); // 'y' is still in flight
    q.done('y');
    await drain;
    expect(drained).toBe(true);
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('shutDownWithDrain resolves at once when idle, and every caller is released', async () => {
    const q = new WorkQueue({ name: 't' });
    await q.shutDownWithDrain();
    await q.shutDownWithDrain();

    const r = new WorkQueue({ name: 'r' });
    r.add('a');
    await r.get();
    const first = r.shutDownWithDrain();
    const second = r.shutDownWithDrain();
    r.done('a');
    await Promise.all([first, second]);
  });
});

describe('WorkQueue: metrics', () => {
  /** A series' value (counters, gauges) or `_sum`/`_count` of a histogram; undefined if never set. */
  async function read(
    metric: { get(): Promise<{ values: { value: number; labels: Partial<Record<string, string | number>>; metricName?: string }[] }> },
    series?: string,
  ): Promise<number | undefined> {
    const { values } = await metric.get();
    return values.find((v) => v.labels.name === 'q' && (series === undefined || v.metricName === series))?.value;
  }

  it('counts adds, depth, retries and observes queue and work durations', async () => {
    let now = 0;
    const m: RuntimeMetrics = createRuntimeMetrics(new Registry(), false);
    const q = new WorkQueue({ name: 'q', metrics: m, now: () => now, rateLimiter: new ItemExponentialFailureRateLimiter(1, 1) });
    q.add('a');
    q.add('a'); // coalesced: not an add
    q.add('b');
    expect(await read(m.workqueueAdds)).toBe(2);
    expect(await read(m.workqueueDepth)).toBe(2);

    now = 250;
    expect(await q.get()).toBe('a');
    expect(await read(m.workqueueDepth)).toBe(1);
    expect(await read(m.workqueueQueueDuration, 'workqueue_queue_duration_seconds_count')).toBe(1);
    expect(await read(m.workqueueQueueDuration, 'workqueue_queue_duration_seconds_sum')).toBeCloseTo(0.25, 9);

    q.add('a'); // while processing: a real add, and waiting (depth) like client-go
    expect(await read(m.workqueueAdds)).toBe(3);
    expect(await read(m.workqueueDepth)).toBe(2);

    now = 1250;
    q.done('a');
    expect(await read(m.workqueueWorkDuration, 'workqueue_work_duration_seconds_count')).toBe(1);
    expect(await read(m.workqueueWorkDuration, 'workqueue_work_duration_seconds_sum')).toBeCloseTo(1, 9);
    expect(await read(m.workqueueDepth)).toBe(2);

    now = 2000;
    expect(await q.get()).toBe('b'); // waited 2 s
    expect(await read(m.workqueueQueueDuration, 'workqueue_queue_duration_seconds_sum')).toBeCloseTo(2.25, 9);

    q.addRateLimited('c');
    q.addRateLimited('c');
    expect(await read(m.workqueueRetries)).toBe(2);

    q.shutDown();
    expect(await read(m.workqueueDepth)).toBe(0); // queued keys were dropped
  });

  it('refreshes unfinished work and longest running processor on a timer', async () => {
    vi.useFakeTimers();
    let now = 0;
    const m = createRuntimeMetrics(new Registry(), false);
    const q = new WorkQueue({ name: 'q', metrics: m, now: () => now });
    q.add('a');
    q.add('b');
    await q.get(); // 'a' from t=0
    now = 1000;
    await q.get(); // 'b' from t=1 s
    now = 3000;
    expect(await read(m.workqueueUnfinishedWork)).toBe(0); // created at zero with the queue; the timer has not ticked yet
    vi.advanceTimersByTime(500);
    expect(await read(m.workqueueUnfinishedWork)).toBe(5); // 3 s + 2 s
    expect(await read(m.workqueueLongestRunning)).toBe(3);

    q.done('a');
    vi.advanceTimersByTime(500);
    expect(await read(m.workqueueUnfinishedWork)).toBe(2);
    expect(await read(m.workqueueLongestRunning)).toBe(2);

    const drained = q.shutDownWithDrain();
    q.done('b');
    await drained;
    expect(await read(m.workqueueUnfinishedWork)).toBe(0);
    expect(await read(m.workqueueLongestRunning)).toBe(0);
    expect(vi.getTimerCount()).toBe(0); // the refresh timer stopped with the queue
  });
});
