// A worker of a multi-worker pod (pod.ts): a whole server (server.ts) whose
// readiness, /metrics, samples and drain cover the pod, through the primary.
// The primary owns the lifecycle: it says when to turn ready and when to
// shut down; this process then drains and exits 0 (drained) or 1.
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { PodFigures, PromotionConfig } from '../promotion/figures.js';
import type { ServeConfig } from './config.js';
import { loadFailureReason } from './load-failure.js';
import { PodChannel } from './pod-channel.js';
import type { PredictionLogStatus } from './prediction-log.js';
import { startServer, type FluxoraServer } from './server.js';

/** More than the primary's own timeouts for gathering from every worker. */
const METRICS_TIMEOUT_MS = 8_000;
const SAMPLES_TIMEOUT_MS = 28_000;

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function runPodWorker(config: ServeConfig, base: Logger): Promise<never> {
  const logger = base.child({ worker: cluster.worker?.id, pid: process.pid });
  // The primary drains every worker on SIGTERM; a terminal's Ctrl-C reaches the whole process group.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => logger.debug({ signal }, 'left to the primary'));
  let server: FluxoraServer | undefined;
  let shutdownRequested = false;
  let requestShutdown!: () => void;
  const shutdownMessage = new Promise<void>((resolve) => (requestShutdown = resolve));
  const channel = new PodChannel((m, done) => void process.send?.(m, undefined, undefined, done), {
    ready: () => {
      server?.podReady();
      return server?.ready === true;
    },
    drain: () => server?.startDraining(),
    collect: () => server?.metrics.registry.getMetricsAsJSON() ?? [],
    dump: (body) => server?.capturedRows((body as { limit: number }).limit) ?? [],
    'log-status': () => server?.predictionLogStatus(),
    'promotion-set': (body) => {
      if (!server) throw new Error('this worker is not listening yet');
      return server.setPromotion(body as PromotionConfig);
    },
    'promotion-figures': () => {
      if (!server) throw new Error('this worker is not listening yet');
      return server.promotionFigures();
    },
    shutdown: () => {
      shutdownRequested = true;
      requestShutdown();
    },
  });
  process.on('message', (m) => channel.receive(m));
  channel.notify('hello');
  try {
    server = await startServer(config, {
      logger,
      workerId: cluster.worker?.id ?? 0,
      pod: {
        metrics: () => channel.request<string>('metrics', undefined, METRICS_TIMEOUT_MS),
        samples: (limit) => channel.request<string[]>('samples', { limit }, SAMPLES_TIMEOUT_MS),
        drain: () => channel.notify('drain'),
        predictionLog: () => channel.request<PredictionLogStatus | undefined>('prediction-log', undefined, METRICS_TIMEOUT_MS),
        setPromotion: async (config) => void (await channel.request<unknown>('promotion-put', config, METRICS_TIMEOUT_MS)),
        promotionFigures: () => channel.request<PodFigures>('promotion-get', undefined, METRICS_TIMEOUT_MS),
      },
    });
  } catch (e) {
    channel.notify('start-failed', { message: messageOf(e) });
    await shutdownMessage;
    process.exit(1);
  }
  const { port, adminPort, grpcPort } = server;
  channel.notify('listening', { port, adminPort, grpcPort });
  server.loaded.then(
    () => channel.notify('loaded'),
    (e: unknown) => {
      if (!shutdownRequested) channel.notify('load-failed', { reason: loadFailureReason(e), message: messageOf(e) });
    },
  );
  await shutdownMessage;
  process.exit((await server.shutdown()) ? 0 : 1);
}
