import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRuntimeMetrics } from './metrics.js';
import { BucketRateLimiter, ItemExponentialFailureRateLimiter, MaxOfRateLimiter } from './rate-limiter.js';
import { WorkQueue } from './workqueue.js';

afterEach(() => vi.useRealTimers());

describe('WorkQueue', () => {
  it('coalesces re-adds of a waiting key and keeps FIFO order', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('c');
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
  });

  it('never hands a key being processed to another worker, and re-delivers it after done if re-added', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    const k = await q.get();
    expect(k).toBe('a');
    q.add('a'); // changed while processing
    q.add('b');
    expect(await q.get()).toBe('b'); // not 'a': it is still being processed
    let second: string | undefined;
    const pending = q.get().then((x) => (second = x));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done('a');
    await pending;
    expect(second).toBe('a');
  });

  it('with many workers and random adds, holds every key exclusively and processes every last add', async () => {
    const q = new WorkQueue({ name: 't' });
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const inFlight = new Set<string>();
    const lastAdd = new Map<string, number>();
    const lastProcessedStart = new Map<string, number>();
    let clock = 0;
    let violations = 0;
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const workers = Array.from({ length: 6 }, async () => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        if (inFlight.has(key)) violations++;
        inFlight.add(key);
        lastProcessedStart.set(key, ++clock);
        await new Promise((r) => setTimeout(r, rand() * 3));
        inFlight.delete(key);
        q.done(key);
      }
    });
    for (let i = 0; i < 2000; i++) {
      const key = keys[Math.floor(rand() * keys.length)]!;
      lastAdd.set(key, ++clock);
      q.add(key);
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 300));
    await q.shutDownWithDrain();
    await Promise.all(workers);
    expect(violations).toBe(0);
    // Every key's last add was followed by a processing that started after it.
    for (const [key, added] of lastAdd) expect(lastProcessedStart.get(key)!).toBeGreaterThan(added);
  });

  it('addAfter delays, and the earliest scheduled time wins', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ name: 't' });
    q.addAfter('a', 1000);
    q.addAfter('a', 200);
    q.addAfter('a', 5000);
    vi.advanceTimersByTime(199);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
    vi.advanceTimersByTime(5000);
    expect(q.len()).toBe(1); // the later timers were superseded, not queued again
  });

  it('addRateLimited backs off exponentially until forget', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ name: 't', rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000) });
    q.addRateLimited('a');
    q.addRateLimited('a'); // scheduled later than the first: earliest (10 ms) wins
    expect(q.numRequeues('a')).toBe(2);
    vi.advanceTimersByTime(10);
    expect(q.len()).toBe(1);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
  });

  it('shutDown releases waiting getters; shutDownWithDrain waits for in-flight work', async () => {
    const q = new WorkQueue({ name: 't' });
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();

    const q2 = new WorkQueue({ name: 't2' });
    q2.add('x');
    await q2.get();
    let drained = false;
    const d = q2.shutDownWithDrain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    q2.add('y'); // ignored after shutdown
    q2.done('x');
    await d;
    expect(drained).toBe(true);
    expect(await q2.get()).toBeUndefined();
  });

  it('records controller-runtime workqueue metrics', async () => {
    const metrics = createRuntimeMetrics(new Registry(), false);
    const q = new WorkQueue({ name: 'model', metrics });
    q.add('a');
    q.add('a');
    q.add('b');
    // Counters and gauges: the value; histograms: the observation count.
    const value = async (name: string) => {
      const values = (await metrics.registry.getSingleMetric(name)!.get()).values as { labels: Record<string, unknown>; value: number; metricName?: string }[];
      const wanted = name.endsWith('_seconds') ? `${name}_count` : name;
      return values.find((v) => v.labels.name === 'model' && (v.metricName ?? name) === wanted)?.value;
    };
    expect(await value('workqueue_adds_total')).toBe(2);
    expect(await value('workqueue_depth')).toBe(2);
    await q.get();
    q.done('a');
    q.addRateLimited('c');
    expect(await value('workqueue_depth')).toBe(1);
    expect(await value('workqueue_retries_total')).toBe(1);
    expect(await value('workqueue_work_duration_seconds')).toBe(1);
    expect(await value('workqueue_queue_duration_seconds')).toBe(1);
    q.shutDown();
  });
});

describe('rate limiters', () => {
  it('exponential: doubles per failure, capped, overflow-safe', () => {
    const r = new ItemExponentialFailureRateLimiter(5, 1000);
    expect([r.when('a'), r.when('a'), r.when('a'), r.when('b')]).toEqual([5, 10, 20, 5]);
    for (let i = 0; i < 5000; i++) r.when('a');
    expect(r.when('a')).toBe(1000);
  });

  it('bucket: burst is free, then one token per 1/qps seconds', () => {
    let now = 0;
    const r = new BucketRateLimiter(10, 3, () => now);
    expect([r.when('x'), r.when('x'), r.when('x')]).toEqual([0, 0, 0]);
    expect(r.when('x')).toBeCloseTo(100);
    expect(r.when('x')).toBeCloseTo(200);
    now = 1000; // 10 tokens refill, capped at burst 3, minus the 2 reserved
    expect(r.when('x')).toBe(0);
  });

  it('max-of takes the longest delay', () => {
    const now = 0;
    const r = new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(5, 1000), new BucketRateLimiter(1, 1, () => now));
    expect(r.when('a')).toBe(5);
    expect(r.when('a')).toBeCloseTo(1000);
  });
});
