// Dynamic batching: concurrent requests are stacked along dimension 0 into
// one model run (up to maxBatchSize rows) and the outputs are sliced back.
//
// onnxruntime-node runs a session synchronously on the main thread, so one
// run of 32 rows costs about as much as one run of 1 row: batching is where
// the throughput comes from. A request waits at most maxDelayMs for company,
// and only while other requests are known to be arriving (their bodies are
// still being read); with nobody on the way it runs at once, so a lone client
// never pays the delay. Runs are serialized: requests that arrive while the
// model is busy queue up and go together in the next run.
import type { HostTensor, Tensors } from './datatypes.js';
import { concatRows, sliceRows } from './tensor-ops.js';

export interface BatcherOptions {
  maxBatchSize: number;
  /** 0 (or maxBatchSize 1) disables batching across requests. */
  maxDelayMs: number;
  run: (feeds: Tensors) => Promise<Tensors>;
  /** Requests whose bodies are still being received. */
  arriving: () => number;
  /** Rows of each model run (the batch size histogram). */
  onRun?: (rows: number) => void;
  onQueueWait?: (seconds: number) => void;
  /** The model's outputs cannot be split by rows: batching is turned off for good. */
  onStackingBroken?: (reason: string) => void;
}

interface Job {
  inputs: Tensors;
  rows: number | undefined;
  key: string;
  enqueuedAt: number;
  resolve: (out: Tensors) => void;
  reject: (err: Error) => void;
}

class SplitError extends Error {}

const firstRows = (t: Tensors) => t.values().next().value?.shape[0] ?? 1;

export class Batcher {
  private queue: Job[] = [];
  private queuedRows = 0;
  private running = false;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private draining = false;
  private stackingBroken = false;

  constructor(private readonly o: BatcherOptions) {}

  get batching(): boolean {
    return this.o.maxBatchSize > 1 && this.o.maxDelayMs > 0 && !this.stackingBroken;
  }

  /** Requests submitted and not yet answered. */
  get pending(): number {
    return this.inFlight;
  }

  /**
   * Runs `inputs` through the model, alone or stacked with others. `rows` is
   * the request's size along dimension 0, or undefined if it must run alone;
   * only requests with equal `key` (their other dimensions) are stacked.
   */
  submit(inputs: Tensors, rows: number | undefined, key: string): Promise<Tensors> {
    this.inFlight++;
    return new Promise<Tensors>((resolve, reject) => {
      const job: Job = {
        inputs,
        rows,
        key,
        enqueuedAt: performance.now(),
        resolve: (out) => {
          this.settled();
          resolve(out);
        },
        reject: (err) => {
          this.settled();
          reject(err);
        },
      };
      if (!this.batching) {
        void this.runAlone(job);
        return;
      }
      // The model is idle and nobody else is queued or being read: run now.
      // Waiting a turn of the event loop for company would only add latency
      // for a lone client; requests read later in this same turn queue behind
      // this run (onnxruntime runs on a later turn) and go together next.
      if (!this.running && !this.draining && this.queue.length === 0 && this.o.arriving() === 0) {
        void this.runBatch([job]);
        return;
      }
      this.queue.push(job);
      this.queuedRows += rows ?? this.o.maxBatchSize;
      this.scheduleSoon();
    });
  }

  /** Flushes queued requests without waiting for company and resolves once nothing is pending. */
  async drain(): Promise<void> {
    this.draining = true;
    this.scheduleSoon();
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private settled(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private scheduleSoon(): void {
    // setImmediate runs after the current poll phase, so requests whose bytes
    // arrived in the same event-loop turn are queued before we decide.
    if (!this.immediate && !this.running && this.queue.length > 0) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.tryFlush();
      });
    }
  }

  private tryFlush(): void {
    const head = this.queue[0];
    if (this.running || !head) return;
    const waited = performance.now() - head.enqueuedAt;
    const full = this.queuedRows >= this.o.maxBatchSize;
    if (full || this.draining || this.o.arriving() === 0 || waited >= this.o.maxDelayMs) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.runBatch(this.take());
      return;
    }
    this.timer ??= setTimeout(
      () => {
        this.timer = undefined;
        this.tryFlush();
      },
      Math.max(1, Math.ceil(this.o.maxDelayMs - waited)),
    );
  }

  /** The head request plus every later one that can join it, in arrival order. */
  private take(): Job[] {
    const max = this.o.maxBatchSize;
    const head = this.queue[0] as Job;
    if (head.rows === undefined || head.rows >= max) {
      this.queue.shift();
      this.queuedRows -= head.rows ?? max;
      return [head];
    }
    const batch: Job[] = [head];
    const rest: Job[] = [];
    let rows = head.rows;
    for (let i = 1; i < this.queue.length; i++) {
      const j = this.queue[i] as Job;
      if (j.rows !== undefined && j.key === head.key && rows + j.rows <= max) {
        batch.push(j);
        rows += j.rows;
      } else rest.push(j);
    }
    this.queue = rest;
    this.queuedRows = rest.reduce((n, j) => n + (j.rows ?? max), 0);
    return batch;
  }

  private async runBatch(jobs: Job[]): Promise<void> {
    this.running = true;
    try {
      const start = performance.now();
      for (const j of jobs) this.o.onQueueWait?.((start - j.enqueuedAt) / 1000);
      if (jobs.length === 1) await this.runAlone(jobs[0] as Job, false);
      else await this.runStacked(jobs);
    } finally {
      this.running = false;
      this.scheduleSoon();
    }
  }

  private async runStacked(jobs: Job[]): Promise<void> {
    const total = jobs.reduce((n, j) => n + (j.rows ?? 0), 0);
    let outputs: Tensors;
    try {
      const feeds: Tensors = new Map();
      for (const name of (jobs[0] as Job).inputs.keys()) {
        feeds.set(name, concatRows(jobs.map((j) => j.inputs.get(name) as HostTensor)));
      }
      this.o.onRun?.(total);
      outputs = await this.o.run(feeds);
      for (const [name, t] of outputs) {
        if (t.shape[0] !== total) throw new SplitError(`output "${name}" has ${t.shape[0]} rows for a batch of ${total}`);
      }
    } catch (err) {
      if (err instanceof SplitError) {
        this.stackingBroken = true;
        this.o.onStackingBroken?.(err.message);
      }
      // Run each request alone, so that only the request that breaks the
      // model fails, not the others that happened to share its batch.
      for (const j of jobs) await this.runAlone(j, false);
      return;
    }
    let offset = 0;
    for (const j of jobs) {
      const rows = j.rows ?? 0;
      const mine: Tensors = new Map();
      for (const [name, t] of outputs) mine.set(name, sliceRows(t, offset, rows));
      offset += rows;
      j.resolve(mine);
    }
  }

  private async runAlone(j: Job, recordWait = true): Promise<void> {
    if (recordWait) this.o.onQueueWait?.((performance.now() - j.enqueuedAt) / 1000);
    this.o.onRun?.(j.rows ?? firstRows(j.inputs));
    try {
      j.resolve(await this.o.run(j.inputs));
    } catch (err) {
      j.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
