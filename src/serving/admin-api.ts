// The admin port: the captured samples the drift check reads, the
// prediction log's state (counts, last write, losses), and the promotion
// analysis the operator sets and reads (src/promotion/figures.ts). It is a
// separate listener so the public Service port (and whatever ingress fronts
// it) never exposes live inputs; the bearer token guards it on top.
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, badRequest, notFound, type ErrorReason } from './http-error.js';
import { DRAIN_PATH } from './admin-paths.js';
import { readBody, sendError, sendJson, splitUrl } from './http-io.js';
import { UNKNOWN_MODEL } from './metrics.js';
import { parsePromotionConfig } from './promotion-config.js';
import type { ServerState } from './server-state.js';

const SAMPLES = /^\/v2\/models\/([^/]+)\/samples\/?$/;
const PREDICTION_LOG = /^\/v2\/models\/([^/]+)\/prediction-log\/?$/;
const PROMOTION = /^\/v2\/models\/([^/]+)\/promotion\/?$/;
/** A PromotionConfig is a few hundred bytes. */
const MAX_PROMOTION_BODY_BYTES = 64 * 1024;
const MAX_DRAIN_SECONDS = 60;

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Compares in time independent of where the strings differ (hashing first evens out the lengths). */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function parseLimit(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  if (!/^[0-9]{1,9}$/.test(raw)) throw badRequest(`limit must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

/** What a request reports for metrics: the model label, once the path names a model. */
interface Outcome {
  model?: string;
}

function* podChunks(lines: string[], chunkRows = 1000): Generator<string> {
  for (let i = 0; i < lines.length; i += chunkRows) yield lines.slice(i, i + chunkRows).join('');
}

export class AdminApi {
  constructor(private readonly s: ServerState) {}

  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    void this.handle(req, res);
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const outcome: Outcome = {};
    let code = 200;
    let reason: ErrorReason | undefined;
    try {
      await this.route(req, res, outcome);
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, `internal error: ${(e as Error).message}`, 'internal');
      if (!(e instanceof HttpError)) this.s.logger.error({ err: e }, 'admin request failed');
      code = err.status;
      reason = err.reason;
      sendError(res, err.status, err.message, { headers: err.headers, close: this.s.draining });
    }
    // As on the public port, only the model endpoint is counted, not health checks or unknown paths.
    if (outcome.model !== undefined) this.s.metrics.observe('samples', code, (performance.now() - started) / 1000, reason, outcome.model);
  }

  /**
   * Called by the kubelet as the pod's preStop hook, before SIGTERM. The pod
   * is already leaving the Service's endpoints, but clients keep sending on
   * the keep-alive connections they hold; answering with Connection: close
   * makes each one reconnect (to a pod that stays) after its next answer,
   * while this pod still serves everything. By SIGTERM its connections are
   * gone or long idle, so closing them races no request. No token: all it can
   * do is make clients reconnect.
   */
  private async drain(raw: string | null, res: ServerResponse): Promise<void> {
    const seconds = raw === null ? 5 : Number(raw);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_DRAIN_SECONDS) {
      throw badRequest(`seconds must be an integer from 0 to ${MAX_DRAIN_SECONDS}, got "${raw}"`);
    }
    if (!this.s.draining) this.s.logger.info({ seconds }, 'draining: answering with Connection: close');
    this.s.draining = true;
    this.s.pod?.drain();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    sendJson(res, 200, { draining: true }, { close: true });
  }

  private async route(req: IncomingMessage, res: ServerResponse, out: Outcome): Promise<void> {
    const { path, query } = splitUrl(req.url);
    if (path === '/v2/health/live') {
      sendJson(res, 200, { live: true });
      return;
    }
    if (path === DRAIN_PATH) return this.drain(query.get('seconds'), res);
    const log = PREDICTION_LOG.exec(path);
    if (log) return this.predictionLog(log[1] as string, req, res);
    const promotion = PROMOTION.exec(path);
    if (promotion) return this.promotion(promotion[1] as string, req, res);
    const m = SAMPLES.exec(path);
    if (!m) throw notFound(`no such endpoint: ${req.method} ${path}`);
    // The label is the model the request names, whatever the outcome (401, 503, ...): _unknown only for another name.
    out.model = UNKNOWN_MODEL;
    let name: string;
    try {
      name = decodeURIComponent(m[1] as string);
    } catch {
      throw badRequest('malformed URL escape in the model name');
    }
    if (name === this.s.config.modelName) out.model = name;
    if (req.method !== 'GET') throw new HttpError(405, `method ${req.method} is not allowed on ${path}; use GET`, 'method_not_allowed', { Allow: 'GET' });
    this.authorize(req);
    if (name !== this.s.config.modelName) throw notFound(`unknown model "${name}"; this server serves "${this.s.config.modelName}"`);
    const limit = parseLimit(query.get('limit'));
    const model = this.s.model;
    if (!model) throw new HttpError(503, `model "${name}" is not ready: ${this.s.notReadyReason}`, 'not_ready');
    // A pod's workers each capture what they serve: the answer is their union.
    const chunks = this.s.pod ? podChunks(await this.s.pod.samples(limit)) : model.capture.jsonLines(limit);
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
    // Chunks with back-pressure: a large buffer is not built as one string.
    for (const chunk of chunks) {
      if (res.destroyed) break;
      if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
    res.end();
  }

  /**
   * The prediction log's state for the pod (counts summed over workers): what
   * an operator or a probe reads to tell whether records are being lost
   * (`losing`: a drop or a given-up write within the last 5 minutes). Counts
   * and times only, no request data, so no token (like /metrics).
   */
  private async predictionLog(raw: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      throw badRequest('malformed URL escape in the model name');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `method ${req.method} is not allowed; use GET`, 'method_not_allowed', { Allow: 'GET, HEAD' });
    if (name !== this.s.config.modelName) throw notFound(`unknown model "${name}"; this server serves "${this.s.config.modelName}"`);
    const status = this.s.pod ? await this.s.pod.predictionLog() : this.s.predictionLog?.status();
    sendJson(res, 200, status ? { enabled: true, ...status } : { enabled: false }, { close: this.s.draining });
  }

  /**
   * The operator's side of promotion analysis. PUT a PromotionConfig: every
   * worker of the pod takes it (a new analysis id restarts the counters; a
   * mirror makes this pod a Shadow champion). GET: the pod's figures since the
   * analysis began, summed over its workers. Both need the bearer token: the
   * figures carry output values, and a PUT points this pod's traffic at a URL.
   */
  private async promotion(raw: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      throw badRequest('malformed URL escape in the model name');
    }
    if (req.method !== 'GET' && req.method !== 'PUT') throw new HttpError(405, `method ${req.method} is not allowed; use GET or PUT`, 'method_not_allowed', { Allow: 'GET, PUT' });
    this.authorize(req, 'promotion analysis is');
    if (name !== this.s.config.modelName) throw notFound(`unknown model "${name}"; this server serves "${this.s.config.modelName}"`);
    const close = this.s.draining;
    if (req.method === 'GET') {
      sendJson(res, 200, this.s.pod ? await this.s.pod.promotionFigures() : this.s.promotion.figures(), { close });
      return;
    }
    const text = (await readBody(req, MAX_PROMOTION_BODY_BYTES)).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw badRequest(`the body must be JSON: ${(e as Error).message}`);
    }
    const config = parsePromotionConfig(body);
    if (this.s.pod) await this.s.pod.setPromotion(config);
    else this.s.promotion.configure(config);
    this.s.logger.info({ analysis: config.analysis, mirror: config.mirror }, config.analysis === '' ? 'promotion analysis ended' : 'promotion analysis set');
    sendJson(res, 200, config, { close });
  }

  private authorize(req: IncomingMessage, what = 'samples are'): void {
    const token = this.s.config.samplesToken;
    if (!token) throw new HttpError(503, `${what} disabled: no token is configured (FLUXORA_SAMPLES_TOKEN)`, 'no_token');
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (!m || !tokenMatches(m[1] as string, token)) {
      throw new HttpError(401, 'a valid bearer token is required (Authorization: Bearer <token>)', 'unauthorized', {
        'WWW-Authenticate': 'Bearer realm="fluxora-samples"',
      });
    }
  }
}
