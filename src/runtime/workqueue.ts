// A work queue with client-go's guarantees, which controllers depend on:
//  - a key waiting in the queue is queued once, however often it is added;
//  - a key being processed is never handed to a second worker; if it is
//    added meanwhile it is marked dirty and re-queued when done() is called,
//    so no change is lost;
//  - addAfter() delays an add (requeueAfter), the earliest time winning;
//  - addRateLimited() delays by the rate limiter (failure back-off).
import type { RuntimeMetrics } from './metrics.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.js';

export interface WorkQueueOptions {
  name: string;
  rateLimiter?: RateLimiter;
  metrics?: RuntimeMetrics;
  now?: () => number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Map<string, number>(); // key -> start time
  private readonly addedAt = new Map<string, number>();
  private readonly waiting = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private drained: (() => void) | undefined;
  private readonly rateLimiter: RateLimiter;
  private readonly now: () => number;
  private readonly gaugeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: WorkQueueOptions) {
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter();
    this.now = opts.now ?? Date.now;
    if (opts.metrics) {
      // client-go refreshes these two gauges on a timer; they describe work in progress.
      this.gaugeTimer = setInterval(() => this.updateProgressGauges(), 500);
      this.gaugeTimer.unref();
    }
  }

  private get m() {
    return this.opts.metrics;
  }

  private get labels() {
    return { name: this.opts.name };
  }

  len(): number {
    return this.queue.length - this.head;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.m?.workqueueAdds.inc(this.labels);
    this.dirty.add(key);
    this.addedAt.set(key, this.now());
    // Being processed: done() re-queues it.
    if (this.processing.has(key)) return;
    this.push(key);
  }

  private push(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      this.handOut(key);
      getter(key);
      return;
    }
    this.queue.push(key);
    this.m?.workqueueDepth.set(this.labels, this.len());
  }

  private handOut(key: string): void {
    this.dirty.delete(key);
    this.processing.set(key, this.now());
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.m?.workqueueQueueDuration.observe(this.labels, (this.now() - added) / 1000);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + delayMs;
    const existing = this.waiting.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.waiting.set(key, { at, timer });
  }

  addRateLimited(key: string): void {
    this.m?.workqueueRetries.inc(this.labels);
    this.addAfter(key, this.rateLimiter.when(key));
  }

  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key, or undefined once the queue shuts down (after draining, for shutDownWithDrain). */
  get(): Promise<string | undefined> {
    if (this.len() > 0) {
      const key = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.m?.workqueueDepth.set(this.labels, this.len());
      this.handOut(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.m?.workqueueWorkDuration.observe(this.labels, (this.now() - started) / 1000);
    // Added again while it was processed: now it may be handed out again.
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.shuttingDown && this.processing.size === 0) this.drained?.();
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    if (this.gaugeTimer) clearInterval(this.gaugeTimer);
    for (const g of this.getters.splice(0)) g(undefined);
    // Items never handed out are dropped: nobody will process them.
    this.queue.length = 0;
    this.head = 0;
    this.dirty.clear();
  }

  /** Shuts down and resolves once every item handed out has been done(). */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }

  private updateProgressGauges(): void {
    const t = this.now();
    let total = 0;
    let longest = 0;
    for (const s of this.processing.values()) {
      total += t - s;
      longest = Math.max(longest, t - s);
    }
    this.m?.workqueueUnfinishedWork.set(this.labels, total / 1000);
    this.m?.workqueueLongestRunning.set(this.labels, longest / 1000);
  }
}
