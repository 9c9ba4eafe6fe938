// The controller work queue, with the guarantees of client-go's workqueue that
// controllers are written against:
//  - a key waiting in the queue is queued once, however often it is added;
//  - a key being processed is never handed to a second worker; an add while
//    it is processed marks it dirty and done() re-queues it, so no change is
//    lost and no two reconciles of one object overlap;
//  - keys are handed out in FIFO order, waiting workers in call order;
//  - addAfter() delays an add (requeueAfter), the earliest due time winning;
//  - addRateLimited() delays by the rate limiter (failure back-off).
import type { RuntimeMetrics } from './metrics.js';
import { defaultControllerRateLimiter, type Clock, type RateLimiter } from './rate-limiter.js';

export interface WorkQueueOptions {
  /** The `name` label of the workqueue_* metrics, usually the controller's name. */
  name: string;
  /** Delays for addRateLimited(); controller-runtime's default when omitted. */
  rateLimiter?: RateLimiter;
  metrics?: RuntimeMetrics;
  /** Monotonic milliseconds for metric durations and addAfter ordering; tests inject their own. */
  now?: Clock;
}

// Node fires timers longer than this after 1 ms instead; longer delays are chained.
const MAX_TIMER_MS = 2 ** 31 - 1;
// client-go refreshes the in-progress gauges at this period.
const PROGRESS_PERIOD_MS = 500;

interface Delayed {
  due: number;
  timer: NodeJS.Timeout;
}

export class WorkQueue {
  // Keys ready to hand out; reading at `head` instead of shift() keeps get() O(1).
  private queue: string[] = [];
  private head = 0;
  // Added and not handed out yet: queued, or parked until its processing is done().
  private readonly dirty = new Set<string>();
  // Handed out and not done() yet: key -> get() time.
  private readonly processing = new Map<string, number>();
  // key -> time of the add that made it dirty (queue duration).
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, Delayed>();
  // Workers waiting in get(), served in call order. Non-empty only while the queue is empty.
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private progressTimer: NodeJS.Timeout | undefined;
  private readonly rateLimiter: RateLimiter;
  private readonly now: Clock;
  private readonly metrics: RuntimeMetrics | undefined;
  private readonly labels: { name: string };

  constructor(opts: WorkQueueOptions) {
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter();
    this.now = opts.now ?? (() => performance.now());
    this.metrics = opts.metrics;
    this.labels = { name: opts.name };
    if (this.metrics) {
      // Every series of this queue at zero, as client-go creates them with the queue.
      const m = this.metrics;
      m.workqueueDepth.set(this.labels, 0);
      m.workqueueAdds.inc(this.labels, 0);
      m.workqueueRetries.inc(this.labels, 0);
      m.workqueueUnfinishedWork.set(this.labels, 0);
      m.workqueueLongestRunning.set(this.labels, 0);
      m.workqueueQueueDuration.zero(this.labels);
      m.workqueueWorkDuration.zero(this.labels);
      // These gauges measure time passing while nothing else happens: a
      // reconcile stuck for ten minutes must show up as ten minutes, which
      // updating only on get()/done() would miss. Hence a timer, like client-go's.
      this.progressTimer = setInterval(() => this.updateProgress(), PROGRESS_PERIOD_MS);
      this.progressTimer.unref();
    }
  }

  /** Keys ready to be handed out (not those parked behind their own processing). */
  len(): number {
    return this.queue.length - this.head;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, this.now());
    this.metrics?.workqueueAdds.inc(this.labels);
    this.updateDepth();
    // Being processed: done() re-queues it, so it never reaches a second worker.
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` after `delayMs`; if it is already scheduled earlier, that time stands. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    // Zero, negative and NaN delays mean "now", like requeueAfter: 0.
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const due = this.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending) {
      if (pending.due <= due) return;
      clearTimeout(pending.timer);
    }
    this.delayed.set(key, { due, timer: this.arm(key, delayMs) });
  }

  /** Adds `key` after the rate limiter's delay; call after a failed reconcile. */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.workqueueRetries.inc(this.labels);
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Resets `key`'s failure count; call after a successful reconcile. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /**
   * The next key, which the caller owns until done(key). Resolves undefined
   * once the queue shuts down; queued keys are then dropped, not handed out.
   */
  get(): Promise<string | undefined> {
    if (this.len() > 0) {
      const key = this.queue[this.head]!;
      this.head++;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.handOut(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Ends the processing of `key`; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics?.workqueueWorkDuration.observe(this.labels, (this.now() - started) / 1000);
    // shutDown() clears `dirty`, so nothing is re-queued after it.
    if (this.dirty.has(key)) this.push(key);
    if (this.shuttingDown && this.processing.size === 0) this.finishDrain();
  }

  /**
   * Stops at once: waiting and future get() calls resolve undefined, adds are
   * ignored, queued and delayed keys are dropped. Dropping is safe because
   * reconciles are level-based: the next start (or the next leader) lists
   * every object again, and after losing the lease we must not reconcile.
   */
  shutDown(): void {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      for (const { timer } of this.delayed.values()) clearTimeout(timer);
      this.delayed.clear();
      this.queue = [];
      this.head = 0;
      this.dirty.clear();
      this.addedAt.clear();
      this.updateDepth();
      for (const resolve of this.getters.splice(0)) resolve(undefined);
    }
    if (this.processing.size === 0) this.finishDrain();
  }

  /** shutDown(), then resolves once every key handed out so far has been done(). */
  shutDownWithDrain(): Promise<void> {
    const drained = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    this.shutDown();
    return drained;
  }

  private push(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      // Marked as processing before the worker resumes, so no add() in between can re-queue it.
      this.handOut(key);
      getter(key);
      return;
    }
    this.queue.push(key);
  }

  private handOut(key: string): void {
    const t = this.now();
    this.dirty.delete(key);
    this.processing.set(key, t);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.metrics?.workqueueQueueDuration.observe(this.labels, (t - added) / 1000);
    this.updateDepth();
  }

  private arm(key: string, remainingMs: number): NodeJS.Timeout {
    const step = Math.min(remainingMs, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      const entry = this.delayed.get(key);
      if (entry?.timer !== timer) return;
      if (remainingMs > step) {
        entry.timer = this.arm(key, remainingMs - step);
        return;
      }
      this.delayed.delete(key);
      this.add(key);
    }, step);
    // A pending requeue must not keep the process alive after everything else stopped.
    timer.unref();
    return timer;
  }

  // Like client-go's depth: every key added and not handed out yet, including
  // one parked until its processing is done().
  private updateDepth(): void {
    this.metrics?.workqueueDepth.set(this.labels, this.dirty.size);
  }

  private updateProgress(): void {
    if (!this.metrics) return;
    const t = this.now();
    let total = 0;
    let longest = 0;
    for (const started of this.processing.values()) {
      total += t - started;
      longest = Math.max(longest, t - started);
    }
    this.metrics.workqueueUnfinishedWork.set(this.labels, total / 1000);
    this.metrics.workqueueLongestRunning.set(this.labels, longest / 1000);
  }

  private finishDrain(): void {
    if (this.progressTimer) {
      clearInterval(this.progressTimer);
      this.progressTimer = undefined;
      this.updateProgress(); // nothing in progress any more: both gauges read 0
    }
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
