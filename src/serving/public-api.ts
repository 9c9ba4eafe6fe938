// The public port: Open Inference Protocol V2 REST (health, server and model
// metadata, readiness, infer), KServe V1 predict, and Prometheus /metrics.
// Every failure is a JSON `{"error": "..."}` with a 4xx/5xx status.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, notFound, type ErrorReason } from './http-error.js';
import { readBody, send, sendError, sendJson, splitUrl } from './http-io.js';
import { parseInferRequest } from './infer-request.js';
import { encodeInferResponse } from './infer-response.js';
import { parseBody } from './json-body.js';
import { UNKNOWN_MODEL, type Endpoint } from './metrics.js';
import { checkModel, exchangeOf, loadedModel, runInference, serverMetadata } from './model-service.js';
import type { Exchange } from './promotion.js';
import type { ServerState } from './server-state.js';
import { v1Predictions, v1ToV2Body } from './v1-protocol.js';

const V2_MODEL = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|infer))?\/?$/;
const V1_MODEL = /^\/v1\/models\/([^/:]+)(:predict)?\/?$/;

/** What a handler reports for metrics. */
interface Outcome {
  endpoint?: Endpoint;
  model?: string;
  /** An inference answered while a promotion analysis runs: what it served. */
  exchange?: Exchange;
}

function allow(method: string, allowed: string, path: string): void {
  if (method !== allowed) {
    throw new HttpError(405, `method ${method} is not allowed on ${path}; use ${allowed}`, 'method_not_allowed', { Allow: allowed === 'GET' ? 'GET, HEAD' : allowed });
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed URL escape in "${segment}"`, 'invalid_request');
  }
}

/** A usable X-Request-Id header: printable, without spaces, at most 256 characters. */
function requestIdHeader(req: IncomingMessage): string | undefined {
  const v = req.headers['x-request-id'];
  return typeof v === 'string' && /^[\x21-\x7e]{1,256}$/.test(v) ? v : undefined;
}

export class PublicApi {
  constructor(private readonly s: ServerState) {}

  /** The node:http request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    void this.handle(req, res);
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const outcome: Outcome = {};
    let code = 200;
    let reason: ErrorReason | undefined;
    try {
      code = await this.route(req, res, outcome);
    } catch (e) {
      const close = this.s.draining || (e instanceof HttpError && e.status === 413);
      if (e instanceof HttpError) {
        code = e.status;
        reason = e.reason;
        sendError(res, e.status, e.message, { headers: e.headers, close });
      } else {
        code = 500;
        reason = 'internal';
        this.s.logger.error({ err: e, url: req.url }, 'request failed');
        sendError(res, 500, `internal error: ${e instanceof Error ? e.message : String(e)}`, { close });
      }
    }
    const ms = performance.now() - started;
    if (outcome.endpoint) this.s.metrics.observe(outcome.endpoint, code, ms / 1000, reason, outcome.model);
    // The answer is written: promotion figures (and a Shadow mirror) come after it, never before.
    const { promotion } = this.s;
    if (promotion.active && (outcome.endpoint === 'infer' || outcome.endpoint === 'v1_predict') && outcome.model === this.s.config.modelName) {
      promotion.observe(code, ms, outcome.exchange);
    }
  }

  /** Connection: close on this answer: draining, or a canary step that has clients reconnect (promotion.ts). */
  private closeAfter(res: ServerResponse): boolean {
    return this.s.draining || this.s.promotion.closeAfterAnswer(res.socket);
  }

  private async route(req: IncomingMessage, res: ServerResponse, out: Outcome): Promise<number> {
    const { path } = splitUrl(req.url);
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const close = this.s.draining;
    switch (path) {
      case '/v2/health/live':
        allow(method, 'GET', path);
        sendJson(res, 200, { live: true }, { close });
        return 200;
      case '/v2/health/ready':
        allow(method, 'GET', path);
        if (!this.s.ready) throw new HttpError(503, `not ready: ${this.s.notReadyReason}`, 'not_ready');
        sendJson(res, 200, { ready: true }, { close });
        return 200;
      case '/v2':
      case '/v2/':
        out.endpoint = 'server';
        allow(method, 'GET', path);
        sendJson(res, 200, serverMetadata(), { close });
        return 200;
      case '/metrics': {
        allow(method, 'GET', path);
        const { registry } = this.s.metrics;
        const text = this.s.pod ? await this.s.pod.metrics() : await registry.metrics();
        send(res, 200, text, registry.contentType, { close });
        return 200;
      }
    }
    const v2 = V2_MODEL.exec(path);
    if (v2) {
      const action = v2[3];
      out.endpoint = action === 'infer' ? 'infer' : action === 'ready' ? 'model_ready' : 'metadata';
      out.model = UNKNOWN_MODEL;
      checkModel(this.s, decode(v2[1] as string), v2[2] === undefined ? undefined : decode(v2[2]));
      out.model = this.s.config.modelName;
      if (action === 'infer') {
        allow(method, 'POST', path);
        return this.infer(req, res, out);
      }
      allow(method, 'GET', path);
      const model = loadedModel(this.s);
      if (action === 'ready') sendJson(res, 200, { name: this.s.config.modelName, ready: true }, { close });
      else send(res, 200, model.metadataJson, 'application/json', { close });
      return 200;
    }
    const v1 = V1_MODEL.exec(path);
    if (v1) {
      out.endpoint = v1[2] ? 'v1_predict' : 'metadata';
      out.model = UNKNOWN_MODEL;
      checkModel(this.s, decode(v1[1] as string), undefined);
      out.model = this.s.config.modelName;
      if (v1[2]) {
        allow(method, 'POST', path);
        return this.predictV1(req, res, out);
      }
      allow(method, 'GET', path);
      sendJson(res, 200, { name: this.s.config.modelName, ready: this.s.model !== undefined }, { close });
      return 200;
    }
    throw notFound(`no such endpoint: ${req.method} ${path}`);
  }

  private async body(req: IncomingMessage) {
    this.s.arriving++;
    try {
      return await readBody(req, this.s.config.maxBodyBytes);
    } finally {
      this.s.arriving--;
    }
  }

  private async infer(req: IncomingMessage, res: ServerResponse, out: Outcome): Promise<number> {
    const model = loadedModel(this.s);
    const raw = await this.body(req);
    const body = parseBody(raw, req.headers['inference-header-content-length']);
    const r = parseInferRequest(body.json, model.signature, body.binary, { allowNonFinite: this.s.config.allowNonFinite });
    // The client's id (OIP "id") when it gave one, else ours: the answer and the prediction log carry the same.
    const id = r.id ?? randomUUID();
    const outputs = await runInference(this.s, model, r, id);
    if (this.s.promotion.active) out.exchange = exchangeOf(model, r, id, outputs);
    const head = { model_name: this.s.config.modelName, model_version: this.s.config.modelVersion, id };
    const enc = encodeInferResponse(head, outputs, r.outputs);
    send(res, 200, enc.body, enc.contentType, { headers: enc.headers, close: this.closeAfter(res) });
    return 200;
  }

  private async predictV1(req: IncomingMessage, res: ServerResponse, out: Outcome): Promise<number> {
    const model = loadedModel(this.s);
    const raw = await this.body(req);
    const v1 = v1ToV2Body(parseBody(raw, undefined).json, model.signature, this.s.config.features);
    const r = parseInferRequest(v1.body, model.signature, undefined, { allowNonFinite: this.s.config.allowNonFinite });
    // V1 bodies have no id: the X-Request-Id header (which proxies such as Envoy set) is used, else one is made; the answer carries it back in the header.
    const id = requestIdHeader(req) ?? randomUUID();
    const outputs = await runInference(this.s, model, r, id);
    if (this.s.promotion.active) out.exchange = exchangeOf(model, r, id, outputs);
    sendJson(res, 200, { predictions: v1Predictions(outputs, v1.rows) }, { close: this.closeAfter(res), headers: { 'X-Request-Id': id } });
    return 200;
  }
}
