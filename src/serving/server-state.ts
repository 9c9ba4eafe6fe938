// What the request handlers share: configuration, metrics, the loaded model
// (absent while loading) and the lifecycle flags.
import type { Logger } from 'pino';
import type { Batcher } from './batcher.js';
import type { ServeConfig } from './config.js';
import type { ServingMetrics } from './metrics.js';
import type { ModelSignature } from './model-signature.js';
import type { PodFigures, PromotionConfig } from '../promotion/figures.js';
import type { PredictionLog, PredictionLogStatus } from './prediction-log.js';
import type { PromotionRecorder } from './promotion.js';
import type { SampleCapture } from './sample-capture.js';

export interface ServedModel {
  signature: ModelSignature;
  batcher: Batcher;
  capture: SampleCapture;
  /** The metadata response, built once: it never changes while the process lives. */
  metadataJson: string;
}

/**
 * What a worker of a multi-worker pod (pod.ts) asks of the pod: its answers
 * cover every worker, as one process would give them.
 */
export interface PodLink {
  /** The /metrics answer: every worker's series aggregated into one set. */
  metrics(): Promise<string>;
  /** The newest `limit` rows captured by any worker (at most the buffer size), oldest first, as JSON Lines. */
  samples(limit: number | undefined): Promise<string[]>;
  /** The preStop drain reached this worker: every other worker answers with Connection: close too. */
  drain(): void;
  /** The prediction log's state summed over the workers (undefined when the log is off). */
  predictionLog(): Promise<PredictionLogStatus | undefined>;
  /** A PUT of the promotion endpoint: every worker gets the config (resolves once each has it). */
  setPromotion(config: PromotionConfig): Promise<void>;
  /** The promotion figures summed over the workers. */
  promotionFigures(): Promise<PodFigures>;
}

export interface ServerState {
  config: ServeConfig;
  metrics: ServingMetrics;
  logger: Logger;
  model: ServedModel | undefined;
  /** Loaded and not shutting down: what /v2/health/ready reports. */
  ready: boolean;
  /** The preStop hook (/drain) or SIGTERM came: every answer carries Connection: close. */
  draining: boolean;
  /** Inference requests whose bodies are still being received (the batcher waits only for these). */
  arriving: number;
  /** Why the server is not ready, for the readiness response. */
  notReadyReason: string;
  /** Set in a worker of a multi-worker pod. */
  pod?: PodLink;
  /** Set when the Model asks for a prediction log (--prediction-log-uri). */
  predictionLog?: PredictionLog;
  /** This process's promotion figures and Shadow mirror. */
  promotion: PromotionRecorder;
}
