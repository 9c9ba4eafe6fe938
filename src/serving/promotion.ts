// One serving process's side of promotion analysis: what the operator last
// told it (PromotionConfig), the figures of its own traffic since, and the
// mirror to the candidate when it is a champion in Shadow. A pod's workers
// each have one; the primary sums their figures (promotion-counters.ts).
//
// Until an analysis is set nothing is counted: the request handlers ask
// `active` (one property read) and skip everything else.
import type { Logger } from 'pino';
import type { Socket } from 'node:net';
import type { PodFigures, PromotionConfig } from '../promotion/figures.js';
import { openedBefore } from './connection-age.js';
import { MirrorCounter, TrafficCounter } from './promotion-counters.js';
import { DEFAULT_MIRROR_LIMITS, MirrorSender, type Exchange, type MirrorLimits } from './promotion-mirror.js';

export type { Exchange };

export interface PromotionOptions {
  model: string;
  version: string;
  logger: Logger;
  limits?: MirrorLimits;
}

/** What a PUT changed. */
export interface Applied {
  /** The analysis id changed: every counter started again from zero. */
  restarted: boolean;
}

/** During a canary step, the longest a client connection is kept open (see closeAfterAnswer). */
export const REBALANCE_CONNECTION_AGE_MS = 5_000;

const sameMirror = (a: PromotionConfig['mirror'], b: PromotionConfig['mirror']) => a?.url === b?.url && a?.version === b?.version;

export class PromotionRecorder {
  private analysis = '';
  private traffic = new TrafficCounter();
  private sender: MirrorSender | undefined;
  /** SHA-256 of the artifact this process loaded, once loaded. */
  artifactSha256: string | undefined;
  /** When the rebalancing config (a canary step) arrived (performance.now()); -Infinity when none runs. */
  private rebalanceSince = -Infinity;

  constructor(private readonly o: PromotionOptions) {}

  /** An analysis is set: the handlers report their requests. */
  get active(): boolean {
    return this.analysis !== '';
  }

  configure(config: PromotionConfig): Applied {
    const restarted = config.analysis !== this.analysis;
    this.analysis = config.analysis;
    if (!config.rebalance || config.analysis === '') this.rebalanceSince = -Infinity;
    else if (restarted || this.rebalanceSince === -Infinity) this.rebalanceSince = performance.now();
    if (restarted) this.traffic = new TrafficCounter();
    // No analysis, no mirror: "" ends both.
    const mirror = config.analysis === '' ? undefined : config.mirror;
    if (restarted || !sameMirror(mirror, this.sender?.config)) {
      this.sender?.close();
      this.sender = mirror
        ? new MirrorSender(this.o.model, mirror, new MirrorCounter(mirror.version), this.o.limits ?? DEFAULT_MIRROR_LIMITS, (fields, msg) => this.o.logger.warn(fields, msg))
        : undefined;
    } else if (this.sender && mirror) {
      // The same candidate at another share: the figures go on.
      this.sender.percent = mirror.percent;
    }
    return { restarted };
  }

  /**
   * Whether the answer on this connection should close it. During a canary
   * step, a connection opened before the step, or more than
   * REBALANCE_CONNECTION_AGE_MS ago, is closed after its answer: the Service
   * balances connections, not requests, so clients must keep reconnecting for
   * the pod counts to become their share of requests. Closing only the older
   * ones once is not enough: a client with one connection that lands on the
   * champion again would never reach the candidate.
   */
  closeAfterAnswer(socket: Socket | null | undefined): boolean {
    if (this.rebalanceSince === -Infinity) return false;
    return openedBefore(socket, Math.max(this.rebalanceSince, performance.now() - REBALANCE_CONNECTION_AGE_MS));
  }

  /**
   * An inference request has been answered (its answer is written): 4xx are
   * not counted; a 5xx is an error; a 2xx brings what it served, its first
   * output for the sample and, in Shadow, maybe a mirror.
   */
  observe(status: number, latencyMs: number, exchange: Exchange | undefined): void {
    if (this.analysis === '' || (status >= 400 && status < 500)) return;
    const ok = status < 400;
    this.traffic.record(!ok, latencyMs, ok ? exchange?.output : undefined);
    if (ok && exchange && this.sender) this.sender.offer(exchange, latencyMs);
  }

  /** This process's figures. */
  figures(): PodFigures {
    const mirror = this.sender?.counter.figures();
    return {
      analysis: this.analysis,
      version: this.o.version,
      ...(this.artifactSha256 !== undefined ? { artifactSha256: this.artifactSha256 } : {}),
      traffic: this.traffic.figures(),
      ...(mirror ? { mirror } : {}),
    };
  }

  /** At shutdown: mirrors in flight are dropped, kept-alive connections closed. */
  close(): void {
    this.sender?.close();
  }
}
