// Shadow mirroring: a champion sends a share of its inference requests to the
// candidate as V2 JSON, after it has answered its own client, and compares
// the two answers (promotion-counters.ts). Nothing here can touch the
// client's answer: a request is mirrored only once that answer is written,
// errors end in a counter, and the work is bounded (a cap on mirrors in
// flight, past which a request is counted as skipped rather than queued; a
// timeout on each).
import type { PromotionConfig } from '../promotion/figures.js';
import type { HostTensor, Tensors } from './datatypes.js';
import { jsonDataText } from './infer-response.js';
import { MirrorClient } from './mirror-client.js';
import type { CandidateOutput, MirrorCounter } from './promotion-counters.js';
import { mirrorInferUrl } from './promotion-config.js';

export type MirrorConfig = NonNullable<PromotionConfig['mirror']>;

/** What the champion served: enough to ask the candidate the same and compare the answers. */
export interface Exchange {
  id: string;
  /** The request's inputs, as validated. */
  inputs: Tensors;
  /** The champion's first output (the model's first output tensor); absent on failure. */
  output: HostTensor | undefined;
}

export interface MirrorLimits {
  /** Mirrors in flight per process; a request chosen beyond it is skipped. */
  maxInFlight: number;
  timeoutMs: number;
  /** A larger answer from the candidate is a candidate error (and not held in memory). */
  maxAnswerBytes: number;
}

export const DEFAULT_MIRROR_LIMITS: MirrorLimits = { maxInFlight: 32, timeoutMs: 5_000, maxAnswerBytes: 16 * 1024 * 1024 };

/** Candidate errors are logged at most this often per process, with how many there were. */
const WARN_INTERVAL_MS = 60_000;

/** The V2 JSON request carrying the same inputs (typed data flat, row-major, as the protocol allows). */
export function mirrorBody(ex: Exchange): string {
  let text = `{"id":${JSON.stringify(ex.id)},"inputs":[`;
  let first = true;
  for (const [name, t] of ex.inputs) {
    text += `${first ? '' : ','}{"name":${JSON.stringify(name)},"datatype":"${t.datatype}","shape":[${t.shape.join(',')}],"data":${jsonDataText(t)}}`;
    first = false;
  }
  return `${text}]}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The candidate's first output from its answer, or why there is none to compare. */
export function candidateOutput(text: string, version: string): CandidateOutput | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'the candidate answered something other than JSON';
  }
  if (!isObject(body)) return 'the candidate answered something other than a V2 response';
  if (body.model_version !== version) return `the candidate answered as model_version ${JSON.stringify(body.model_version)}, not ${JSON.stringify(version)}`;
  const out = Array.isArray(body.outputs) ? (body.outputs[0] as unknown) : undefined;
  if (!isObject(out) || !Array.isArray(out.shape) || !Array.isArray(out.data)) return 'the candidate answered no first output with "shape" and "data"';
  if (!out.shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) return 'the candidate answered a malformed "shape"';
  const flat = (out.data as unknown[]).flat(Infinity);
  // JSON has no NaN: a server writes null for it. Anything not a number compares as NaN (never agrees).
  const data = flat.map((v) => (typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : NaN));
  return { shape: out.shape as number[], data };
}

export class MirrorSender {
  percent: number;
  private inFlight = 0;
  private readonly url: URL;
  private readonly client: MirrorClient;
  private unreported = 0;
  private lastWarn = -Infinity;

  constructor(
    model: string,
    readonly config: MirrorConfig,
    readonly counter: MirrorCounter,
    private readonly limits: MirrorLimits,
    private readonly warn: (fields: Record<string, unknown>, msg: string) => void,
  ) {
    this.percent = config.percent;
    this.url = mirrorInferUrl(config.url, model);
    // Kept-alive connections, one per mirror in flight: the cap bounds them too.
    this.client = new MirrorClient(this.url, limits.maxAnswerBytes);
  }

  /** Mirrors this exchange with probability percent/100. Call only once the client's answer is written. */
  offer(ex: Exchange, championMs: number): void {
    if (this.percent < 100 && Math.random() * 100 >= this.percent) return;
    this.counter.mirrored++;
    const output = ex.output;
    if (this.inFlight >= this.limits.maxInFlight || !output) {
      this.counter.skipped++;
      return;
    }
    this.inFlight++;
    const body = mirrorBody(ex);
    const started = performance.now();
    let settled = false;
    // Called from the answer and the timer only, so after `timer` below is set.
    const finish = (error: string | undefined, text?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.inFlight--;
      const candidateMs = performance.now() - started;
      if (error === undefined) {
        const answer = candidateOutput(text ?? '', this.config.version);
        error = typeof answer === 'string' ? answer : this.counter.compare(output, answer, championMs, candidateMs);
        if (error !== undefined && typeof answer === 'string') this.counter.candidateErrors++;
      } else {
        this.counter.candidateErrors++;
      }
      if (error !== undefined) this.report(error);
    };
    const { answer, abort } = this.client.post(body);
    const timer = setTimeout(() => {
      finish(`no answer within ${this.limits.timeoutMs} ms`);
      abort();
    }, this.limits.timeoutMs);
    // A mirror never keeps a stopping process alive.
    timer.unref();
    answer.then(
      (a) => {
        if (a.status >= 200 && a.status < 300) finish(undefined, a.body.toString('utf8'));
        else finish(`the candidate answered HTTP ${a.status}: ${a.body.toString('utf8', 0, 200)}`);
      },
      (e: unknown) => finish(e instanceof Error ? e.message : String(e)),
    );
  }

  /** Closes the kept-alive connections (and any mirror still in flight: counted as failed, into figures no longer read). */
  close(): void {
    this.client.close();
  }

  /** Logs a candidate error now and then (a candidate that is down would fill the log otherwise). */
  private report(error: string): void {
    this.unreported++;
    const now = performance.now();
    if (now - this.lastWarn < WARN_INTERVAL_MS) return;
    this.warn({ candidate: this.url.href, version: this.config.version, errors: this.unreported, lastError: error }, 'mirror: the candidate failed');
    this.unreported = 0;
    this.lastWarn = now;
  }
}
