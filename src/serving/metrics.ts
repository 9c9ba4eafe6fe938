// Metrics of `fluxora serve`, scraped from the public port's /metrics. One
// registry per server, so tests can run several servers in one process.
// Labels are bounded: `model` is the served model's name (or "_unknown" for
// requests naming another), `endpoint` a fixed set, `code` an HTTP status,
// `protocol` rest or grpc. A gRPC call is counted under the HTTP status of
// the same outcome (INVALID_ARGUMENT is 400, UNAVAILABLE 503, ...), so the
// dashboard and the alert rules, which select code=~"5..", cover both.
// In a multi-worker pod every worker has its own registry and the pod's
// /metrics aggregates them (pod.ts): `aggregator` says how a gauge combines.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ErrorReason } from './http-error.js';

export type Endpoint = 'infer' | 'v1_predict' | 'metadata' | 'model_ready' | 'server' | 'samples';

export type Protocol = 'rest' | 'grpc';

export const UNKNOWN_MODEL = '_unknown';

export class ServingMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'model' | 'endpoint' | 'code' | 'protocol'>;
  readonly duration: Histogram<'model' | 'endpoint' | 'protocol'>;
  readonly batchSize: Histogram<'model'>;
  readonly queueWait: Histogram<'model'>;
  readonly modelLoad: Gauge<'model'>;
  readonly errors: Counter<'model' | 'reason' | 'protocol'>;
  readonly samplesBuffered: Gauge<'model'>;
  readonly logRecords: Counter<'model' | 'result'>;
  readonly logBuffered: Gauge<'model'>;

  /** Rows the sample buffer holds, once a model is loaded: read at each scrape. */
  bufferedRows: (() => number) | undefined;
  /** Requests waiting in the prediction log's buffer, when the log is on: read at each scrape. */
  bufferedLogRecords: (() => number) | undefined;

  constructor(
    private readonly model: string,
    registry = new Registry(),
  ) {
    this.registry = registry;
    collectDefaultMetrics({ register: registry });
    const registers = [registry];
    this.requests = new Counter({
      name: 'fluxora_inference_requests_total',
      help: 'Requests to model endpoints, by endpoint, HTTP status code (of the same outcome for gRPC) and protocol.',
      labelNames: ['model', 'endpoint', 'code', 'protocol'],
      registers,
    });
    this.duration = new Histogram({
      name: 'fluxora_inference_request_duration_seconds',
      help: 'Time from receiving a request to sending its response, by endpoint and protocol.',
      labelNames: ['model', 'endpoint', 'protocol'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'fluxora_inference_batch_size',
      help: 'Rows per model run (dynamic batching stacks concurrent requests).',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
      registers,
    });
    this.queueWait = new Histogram({
      name: 'fluxora_inference_queue_wait_seconds',
      help: 'Time a request waited for its model run to start (batching delay plus queueing).',
      labelNames: ['model'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.modelLoad = new Gauge({
      name: 'fluxora_model_load_seconds',
      help: 'Time it took to fetch, verify and load the model artifact.',
      labelNames: ['model'],
      // Workers load side by side: the pod was ready after the slowest.
      aggregator: 'max',
      registers,
    });
    this.errors = new Counter({
      name: 'fluxora_inference_errors_total',
      help: 'Failed requests to model endpoints, by reason and protocol.',
      labelNames: ['model', 'reason', 'protocol'],
      registers,
    });
    this.samplesBuffered = new Gauge({
      name: 'fluxora_inference_samples_buffered',
      help: 'Rows held in the sample buffer for drift checks.',
      labelNames: ['model'],
      registers,
      collect: () => {
        const rows = this.bufferedRows?.();
        if (rows !== undefined) this.samplesBuffered.set({ model }, rows);
      },
    });
    // Counters: summed over a pod's workers like the others, so the pod reports one figure per result.
    this.logRecords = new Counter({
      name: 'fluxora_prediction_log_records_total',
      help: 'Requests offered to the prediction log, by result: written (stored), dropped (buffer full) or failed (write given up).',
      labelNames: ['model', 'result'],
      registers,
    });
    this.logBuffered = new Gauge({
      name: 'fluxora_prediction_log_buffered_records',
      help: 'Requests waiting in memory to be written to the prediction log.',
      labelNames: ['model'],
      registers,
      collect: () => {
        const n = this.bufferedLogRecords?.();
        if (n !== undefined) this.logBuffered.set({ model }, n);
      },
    });
  }

  // Label children resolved once per label set: prom-client hashes a labels
  // object on every call otherwise, a visible cost per request.
  private readonly children = new Map<string, { count: Counter.Internal; duration: Histogram.Internal<'model' | 'endpoint' | 'protocol'> }>();
  private runs: Histogram.Internal<'model'> | undefined;
  private waits: Histogram.Internal<'model'> | undefined;

  /** Records a finished request; `model` is UNKNOWN_MODEL when the request named another model. */
  observe(endpoint: Endpoint, code: number, seconds: number, reason: ErrorReason | undefined, model = this.model, protocol: Protocol = 'rest'): void {
    const key = `${model}\u0000${endpoint}\u0000${code}\u0000${protocol}`;
    let c = this.children.get(key);
    if (!c) {
      c = {
        count: this.requests.labels({ model, endpoint, code: String(code), protocol }),
        duration: this.duration.labels({ model, endpoint, protocol }),
      };
      this.children.set(key, c);
    }
    c.count.inc();
    c.duration.observe(seconds);
    if (reason) this.errors.inc({ model, reason, protocol });
  }

  /** The log is on: every result shows from the start (at 0), so rate() and alerts see the series. */
  enablePredictionLog(): void {
    for (const result of ['written', 'dropped', 'failed'] as const) this.logRecords.inc({ model: this.model, result }, 0);
    this.logBuffered.set({ model: this.model }, 0);
  }

  countLogRecords(result: 'written' | 'dropped' | 'failed', n: number): void {
    this.logRecords.inc({ model: this.model, result }, n);
  }

  observeRun(rows: number): void {
    (this.runs ??= this.batchSize.labels({ model: this.model })).observe(rows);
  }

  observeQueueWait(seconds: number): void {
    (this.waits ??= this.queueWait.labels({ model: this.model })).observe(seconds);
  }
}
