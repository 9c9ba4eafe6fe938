// The durable prediction log: every sampled inference request (its id, inputs,
// outputs, the model version and the time) written to object storage as
// gzip-compressed JSON Lines, in batches, under Hive-style partitions:
//
//   <prefix>/model=<name>/version=<v>/date=YYYY-MM-DD/hour=HH/<pod>-<worker>-<seq>-<first record time>.jsonl.gz
//
// so DuckDB (`read_json_auto('s3://…/**/*.jsonl.gz', hive_partitioning = 1)`),
// pandas and Spark read it as is.
//
// The request path only copies the request (its id, time and the raw bytes of
// its tensors) into the block that will become its object (log-block.ts, which
// says why a copy and not a reference), or counts a drop when the buffer is
// full; encoding, compression and the PUT happen later, one batch at a time,
// off the request path. A slow or unreachable store therefore never slows
// inference: the buffer fills, requests beyond `maxBufferedRecords` are
// dropped and counted, and a batch whose write keeps failing is given up after
// a bounded number of attempts (counted as failed).
//
// Object names are fixed when a batch is cut, before the first attempt, so a
// retried PUT (after a timeout whose first attempt did land, say) replaces the
// same object with the same bytes: a record is never stored twice. The first
// record's time in the name keeps a restarted container (same pod name, seq
// from 1 again) from overwriting what it wrote before.
//
// In a pod of several workers (pod.ts) each worker writes its own objects,
// with its worker id in the name, rather than sending its records to the
// primary to write: a record would otherwise cross the IPC channel as JSON (a
// second copy of every request, serialized on the worker's event loop and
// parsed again on the primary's, which also hands out every connection), and
// one slow store would back up into the one process all workers share. Per
// worker, the memory bound and the failures stay where the requests are. The
// cost is more, smaller objects (one stream per worker), which readers glob
// over anyway; the counters are summed over the workers like every metric.
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { isStorageError } from '../storage/errors.js';
import { joinUri } from '../storage/uri.js';
import type { PredictionLogConfig } from './config.js';
import { LOSS_WINDOW_MS } from './admin-paths.js';
import type { Tensors } from './datatypes.js';
import { hourOf, LogBlock } from './log-block.js';

const gzip = promisify(gzipCb);

export type LogResult = 'written' | 'dropped' | 'failed';

/** How often a batch is tried, and how long to wait between tries (doubling, with jitter). */
export interface WriteRetry {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Limit of one attempt (a PUT, the SDK's own retries included). */
  timeoutMs: number;
}

// Five tries over about half a minute: a store that restarts or a network
// blip costs nothing; a long outage costs the records of the batch being
// tried, and the buffer (not retries) decides how much waits meanwhile.
export const DEFAULT_WRITE_RETRY: WriteRetry = { attempts: 5, baseDelayMs: 1_000, maxDelayMs: 16_000, timeoutMs: 20_000 };

export interface PredictionLogOptions {
  config: PredictionLogConfig;
  model: string;
  version: string;
  pod: string;
  /** 0 for a single-process server, else the node:cluster worker id. */
  worker: number;
  /** Writes (replaces) one object; rejects with a StorageError. */
  write: (uri: string, body: Uint8Array, signal: AbortSignal) => Promise<void>;
  /** Counts records by outcome (the metric). */
  count?: (result: LogResult, records: number) => void;
  /** A batch was given up, or the first drop after a while: worth a log line. */
  warn?: (fields: Record<string, unknown>, msg: string) => void;
  retry?: WriteRetry;
  random?: () => number;
  now?: () => number;
}

/** The state the admin port reports, summed over a pod's workers by mergeLogStatus. */
export interface PredictionLogStatus {
  uri: string;
  /** Records waiting in memory, not counting a batch being written. */
  buffered: number;
  /** Records of the batch being written (or retried) now. */
  writing: number;
  written: number;
  dropped: number;
  failed: number;
  /** When a batch was last stored (ISO time), if ever. */
  lastWriteTime?: string;
  /** When a record was last dropped (buffer full) or failed (write given up), if ever. */
  lastLossTime?: string;
  /** The last write error, if any write failed since the last success. */
  lastError?: string;
  /** Records were lost (dropped or failed) within the last LOSS_WINDOW_MS: what the Model's PredictionLogLosing condition reports. */
  losing: boolean;
}

/** After close()'s deadline, how long a write in progress gets to report its outcome. */
export const CLOSE_SETTLE_MS = 1_000;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** date=YYYY-MM-DD/hour=HH of a time (UTC), the partition a record belongs to. */
export function partitionOf(ms: number): string {
  const d = new Date(ms);
  return `date=${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}/hour=${pad(d.getUTCHours())}`;
}

/** 20260314T153012.345Z: sortable, and without the colons some tools refuse in object names. */
export function compactTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

/** Hive partition values may not hold "/" or "="; the served names never do (config.ts), but say so here. */
const partitionValue = (v: string) => v.replace(/[/=]/g, '_');

/** The object a batch is written to: a pure function of where it comes from and what it holds first. */
export function objectUri(o: { prefix: string; model: string; version: string; pod: string; worker: number; seq: number; firstTime: number }): string {
  return joinUri(
    o.prefix,
    `model=${partitionValue(o.model)}`,
    `version=${partitionValue(o.version)}`,
    partitionOf(o.firstTime),
    `${o.pod}-${o.worker}-${pad(o.seq, 6)}-${compactTime(o.firstTime)}.jsonl.gz`,
  );
}

/** Records encoded between two yields of the event loop. */
const ENCODE_SLICE = 100;

/**
 * The batch as gzip-compressed JSON Lines (NaN and ±Infinity, allowed by
 * --allow-nan, become null as in any JSON). Encodes in slices, yielding the
 * event loop before each: a batch of large requests must not stall serving,
 * and the request whose record completed a batch (which starts the write)
 * does not wait for its first slice.
 */
async function encodeBatch(block: LogBlock, model: string, version: string): Promise<Buffer> {
  const [modelJson, versionJson] = [JSON.stringify(model), JSON.stringify(version)];
  const parts: Buffer[] = [];
  for (let i = 0; i < block.count; i += ENCODE_SLICE) {
    await new Promise((r) => setImmediate(r));
    parts.push(Buffer.from(block.lines(i, Math.min(block.count, i + ENCODE_SLICE), modelJson, versionJson), 'utf8'));
  }
  // zlib runs on the libuv thread pool, not on the event loop, but on the
  // serving process's CPUs. Level 1: a batch of 1000 small records (315 kB of
  // JSON) compresses in 2.2 ms instead of 3.5 ms at the default level 6,
  // into 4 % more bytes (70.7 kB instead of 67.8 kB).
  return gzip(Buffer.concat(parts), { level: 1 });
}

export class PredictionLog {
  /** The batches to write, oldest first; records go into the last one. */
  private blocks: LogBlock[] = [];
  /** Records in `blocks`. */
  private count = 0;
  /** Records at the head of the buffer the flush timer asked to write (the rest wait for a full batch or the next tick). */
  private due = 0;
  private seq = 0;
  private pumping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed = false;
  /** Cuts a retry's back-off short when shutdown starts. */
  private wake: (() => void) | undefined;
  private closeDeadline = Infinity;
  /** Aborted at close()'s deadline: a write started before shutdown must not outlive it (nor keep the process up). */
  private readonly closeAbort = new AbortController();
  private readonly retry: WriteRetry;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly counts = { written: 0, dropped: 0, failed: 0 };
  private lastWrite: number | undefined;
  private lastLoss: number | undefined;
  private lastError: string | undefined;
  private writing = 0;

  constructor(private readonly o: PredictionLogOptions) {
    this.retry = o.retry ?? DEFAULT_WRITE_RETRY;
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
    this.timer = setInterval(() => this.tick(), o.config.flushIntervalSeconds * 1000);
    this.timer.unref();
  }

  get buffered(): number {
    return this.count;
  }

  /**
   * Called on the request path after a successful inference: samples, then
   * copies the request into the current batch (no encoding) or counts a drop.
   * Nothing of `inputs` and `outputs` is kept: the caller may reuse them.
   */
  record(id: string, inputs: Tensors, outputs: Tensors, time = this.now()): void {
    const c = this.o.config;
    if (c.sampleRate < 1 && !(this.random() < c.sampleRate)) return;
    if (this.closed || this.count >= c.maxBufferedRecords) {
      this.loss('dropped', 1);
      return;
    }
    // A batch holds at most maxBatchRecords records, all of one date/hour partition.
    const hour = hourOf(time);
    let block = this.blocks.at(-1);
    if (!block || block.full || block.hour !== hour) {
      block = new LogBlock(hour, c.maxBatchRecords);
      this.blocks.push(block);
    }
    block.append(id, time, inputs, outputs);
    this.count++;
    if (this.count >= c.maxBatchRecords) this.kick();
  }

  /** The flush timer: everything buffered now is due, in as many batches as it takes. */
  tick(): void {
    this.due = this.count;
    this.kick();
  }

  status(): PredictionLogStatus {
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      uri: this.o.config.uri,
      buffered: this.count,
      writing: this.writing,
      ...this.counts,
      ...(this.lastWrite !== undefined ? { lastWriteTime: iso(this.lastWrite) } : {}),
      ...(this.lastLoss !== undefined ? { lastLossTime: iso(this.lastLoss) } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      losing: this.lastLoss !== undefined && this.now() - this.lastLoss < LOSS_WINDOW_MS,
    };
  }

  /**
   * Shutdown: writes everything buffered, retrying until `deadline` (a
   * performance.now() time; allow CLOSE_SETTLE_MS after it); what is still
   * unwritten then counts as failed. Records offered afterwards are dropped.
   */
  async close(deadline: number): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    this.closeDeadline = deadline;
    clearInterval(this.timer);
    this.timer = undefined;
    this.wake?.();
    this.due = this.count;
    while (this.count > 0 || this.pumping) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      this.kick();
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.pumping, new Promise((r) => (t = setTimeout(r, left)))]);
      clearTimeout(t);
    }
    // A batch being written when the deadline came is cut off; let it settle (count itself failed).
    this.closeAbort.abort(new Error('shutdown deadline reached'));
    if (this.pumping) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.pumping, new Promise((r) => (t = setTimeout(r, CLOSE_SETTLE_MS)))]);
      clearTimeout(t);
    }
    this.closed = true;
    if (this.count > 0) {
      const n = this.count;
      this.blocks = [];
      this.count = 0;
      this.loss('failed', n);
      this.o.warn?.({ records: n }, 'prediction log: shutdown deadline reached; records not written');
    }
  }

  private loss(result: 'dropped' | 'failed', n: number): void {
    const at = this.now();
    const quiet = this.lastLoss === undefined || at - this.lastLoss >= LOSS_WINDOW_MS;
    this.counts[result] += n;
    this.o.count?.(result, n);
    this.lastLoss = at;
    if (result === 'dropped' && quiet) {
      this.o.warn?.({ maxBufferedRecords: this.o.config.maxBufferedRecords }, 'prediction log: buffer full (store slow or unreachable); dropping records');
    }
  }

  private kick(): void {
    this.pumping ??= this.pump().finally(() => {
      this.pumping = undefined;
      // A full batch may have formed between the loop's last check and now. (close() drives its own loop.)
      if (!this.closing && this.count > 0 && (this.count >= this.o.config.maxBatchRecords || this.due > 0)) this.kick();
    });
  }

  private async pump(): Promise<void> {
    const max = this.o.config.maxBatchRecords;
    while (this.count > 0 && (this.count >= max || this.due > 0 || this.closing)) {
      if (this.closing && performance.now() >= this.closeDeadline) return;
      // The oldest block: full, cut at an hour's end, or (the only one) due.
      const batch = this.blocks.shift() as LogBlock;
      this.count -= batch.count;
      this.due = Math.max(0, this.due - batch.count);
      this.writing = batch.count;
      try {
        await this.writeBatch(batch);
      } finally {
        this.writing = 0;
      }
    }
  }

  private async writeBatch(batch: LogBlock): Promise<void> {
    const { model, version, pod, worker } = this.o;
    const n = batch.count;
    const uri = objectUri({ prefix: this.o.config.uri, model, version, pod, worker, seq: ++this.seq, firstTime: batch.firstTime });
    let body: Buffer;
    try {
      body = await encodeBatch(batch, model, version);
    } catch (e) {
      // Not expected (the tensors were validated); never let it stop the log.
      this.loss('failed', n);
      this.o.warn?.({ uri, records: n, err: e }, 'prediction log: batch cannot be encoded; records lost');
      return;
    } finally {
      batch.release(); // the copies may go; the compressed bytes are what is retried
    }
    for (let attempt = 1; ; attempt++) {
      const left = this.closing ? this.closeDeadline - performance.now() : Infinity;
      try {
        if (left <= 0) throw new Error('shutdown deadline reached');
        // Whole milliseconds: AbortSignal.timeout refuses a fraction, and what is left of a deadline has one.
        const limit = AbortSignal.timeout(Math.max(1, Math.ceil(Math.min(this.retry.timeoutMs, left))));
        await this.o.write(uri, body, AbortSignal.any([limit, this.closeAbort.signal]));
        this.counts.written += n;
        this.o.count?.('written', n);
        this.lastWrite = this.now();
        this.lastError = undefined;
        return;
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
        // Only an unreachable store may come back; a refused write (AccessDenied, no such bucket) will not by waiting.
        const transient = !isStorageError(e) || isStorageError(e, 'Unreachable');
        const deadlineLeft = this.closing ? this.closeDeadline - performance.now() : Infinity;
        if (!transient || attempt >= this.retry.attempts || deadlineLeft <= 0) {
          this.loss('failed', n);
          this.o.warn?.({ uri, records: n, attempts: attempt, err: e }, 'prediction log: batch not written; records lost');
          return;
        }
        const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        const delay = this.closing ? Math.min(cap / 4, deadlineLeft) : cap / 2 + (this.random() * cap) / 2;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }
}

/** One status for a pod: counts summed over its workers, the latest times, the last error seen. */
export function mergeLogStatus(parts: readonly PredictionLogStatus[]): PredictionLogStatus | undefined {
  const first = parts[0];
  if (!first) return undefined;
  const latest = (k: 'lastWriteTime' | 'lastLossTime') =>
    parts
      .map((p) => p[k])
      .filter((v): v is string => v !== undefined)
      .sort()
      .at(-1);
  const lastWriteTime = latest('lastWriteTime');
  const lastLossTime = latest('lastLossTime');
  const lastError = parts.map((p) => p.lastError).find((e) => e !== undefined);
  return {
    uri: first.uri,
    buffered: parts.reduce((s, p) => s + p.buffered, 0),
    writing: parts.reduce((s, p) => s + p.writing, 0),
    written: parts.reduce((s, p) => s + p.written, 0),
    dropped: parts.reduce((s, p) => s + p.dropped, 0),
    failed: parts.reduce((s, p) => s + p.failed, 0),
    ...(lastWriteTime !== undefined ? { lastWriteTime } : {}),
    ...(lastLossTime !== undefined ? { lastLossTime } : {}),
    ...(lastError !== undefined ? { lastError } : {}),
    losing: parts.some((p) => p.losing),
  };
}
