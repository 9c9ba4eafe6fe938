// A pod of several `fluxora serve` workers: this primary process forks them
// with node:cluster, loads no model and answers no request itself. Each
// worker is a whole server (server.ts) with its own model session, batcher
// and sample buffer; the listening sockets (public, admin and gRPC ports)
// belong to this process, which hands each new connection to a worker in
// turn. Requests never pass through here; what must cover the whole pod
// does, over the IPC channel (pod-channel.ts):
// - readiness: a worker reports ready only once every worker has loaded;
// - /metrics: the worker that gets the scrape asks for every worker's
//   series, aggregated here into one set (prom-client's AggregatorRegistry);
// - samples: the union of the workers' newest rows, each row once;
// - the prediction log's state: counts summed (each worker writes its own
//   objects, see prediction-log.ts);
// - promotion analysis: a PUT reaches every worker, in the order the PUTs
//   came; the figures are summed (promotion-counters.ts);
// - the preStop drain and SIGTERM reach every worker.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client';
import type { ServeConfig } from './config.js';
import { WorkerLoadError } from './load-failure.js';
import { PodChannel } from './pod-channel.js';
import type { PodFigures, PromotionConfig } from '../promotion/figures.js';
import { mergeLogStatus, type PredictionLogStatus } from './prediction-log.js';
import { sumPodFigures } from './promotion-counters.js';

/** Within Prometheus' default scrape timeout (10 s). */
const METRICS_TIMEOUT_MS = 5_000;
/** Within the drift check's timeout for a pod (30 s). */
const SAMPLES_TIMEOUT_MS = 25_000;
const READY_TIMEOUT_MS = 10_000;
/** After the drain timeout, how long workers get to exit before they are killed. */
const EXIT_GRACE_MS = 5_000;

const SAMPLES_BUFFERED = 'fluxora_inference_samples_buffered';

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export interface Ports {
  port: number;
  adminPort: number;
  grpcPort: number;
}

export interface Pod extends Ports {
  readonly workers: number;
  /** Resolves once every worker has loaded its model and reports ready; rejects (WorkerLoadError) when one cannot. */
  readonly loaded: Promise<void>;
  /** Resolves, saying what happened, when a worker stops by itself after the pod is up: the pod must stop. */
  readonly broken: Promise<string>;
  /** Drains every worker; resolves true if each finished what it had in flight within the drain timeout. */
  shutdown(): Promise<boolean>;
}

interface Member {
  id: number;
  worker: Worker;
  channel: PodChannel;
  /** The worker listens for our messages (it said hello). */
  greeted: boolean;
  hello: Promise<void>;
  loaded: boolean;
  gone: boolean;
  exit: Promise<{ code: number | null; signal: string | null }>;
}

/**
 * One set of series for the pod: counters and histograms summed, gauges by
 * their `aggregator`. Each worker keeps up to the buffer size of samples, and
 * the pod answers at most that many, so the samples gauge is capped there.
 */
export async function aggregatePodMetrics(parts: MetricsJson[], sampleBufferSize: number): Promise<Registry> {
  const summed = await AggregatorRegistry.aggregate(parts).getMetricsAsJSON();
  for (const m of summed) if (m.name === SAMPLES_BUFFERED) for (const v of m.values) v.value = Math.min(v.value, sampleBufferSize);
  return AggregatorRegistry.aggregate([summed]);
}

/** The newest `limit` rows of all workers' [capture time, line] lists (each oldest first), oldest first. */
export function mergeSamples(parts: [number, string][][], limit: number): string[] {
  if (limit <= 0) return [];
  // A stable sort: rows of one worker captured in the same millisecond keep their order.
  return parts
    .flat()
    .sort((a, b) => a[0] - b[0])
    .slice(-limit)
    .map((r) => r[1]);
}

export async function startPod(config: ServeConfig, o: { logger: Logger; workers: number }): Promise<Pod> {
  const { logger } = o;
  // This process's own CPU and memory count toward the pod's process_* series.
  const own = new Registry();
  collectDefaultMetrics({ register: own });

  let stopping: Promise<boolean> | undefined;
  let listeningSettled = false;
  let resolveListening!: (p: Ports) => void;
  let rejectListening!: (e: Error) => void;
  const listening = new Promise<Ports>((resolve, reject) => {
    resolveListening = (p) => {
      listeningSettled = true;
      resolve(p);
    };
    rejectListening = (e) => {
      listeningSettled = true;
      reject(e);
    };
  });
  let loadSettled = false;
  let resolveLoaded!: () => void;
  let rejectLoaded!: (e: Error) => void;
  const loaded = new Promise<void>((resolve, reject) => {
    resolveLoaded = resolve;
    rejectLoaded = reject;
  });
  loaded.catch(() => undefined);
  let failed = false;
  let reportBroken!: (why: string) => void;
  const broken = new Promise<string>((resolve) => (reportBroken = resolve));

  const members: Member[] = [];
  const live = () => members.filter((m) => m.greeted && !m.gone);

  const failLoad = (e: WorkerLoadError) => {
    if (loadSettled || stopping) return;
    loadSettled = true;
    rejectLoaded(e);
  };
  const onWorkerLoaded = async () => {
    if (loadSettled || stopping || !members.every((m) => m.loaded)) return;
    try {
      await Promise.all(members.map((m) => m.channel.request('ready', undefined, READY_TIMEOUT_MS)));
    } catch (e) {
      failLoad(new WorkerLoadError('LoadFailed', `a worker did not turn ready: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    if (loadSettled || stopping) return;
    loadSettled = true;
    logger.info({ version: config.modelVersion, workers: members.length }, 'model loaded; ready');
    resolveLoaded();
  };

  const podMetrics = async (): Promise<string> => {
    const parts = await Promise.all(live().map((m) => m.channel.request<MetricsJson>('collect', undefined, METRICS_TIMEOUT_MS)));
    parts.push(await own.getMetricsAsJSON());
    return (await aggregatePodMetrics(parts, config.sampleBufferSize)).metrics();
  };
  const podSamples = async (limit: number | undefined): Promise<string[]> => {
    const n = Math.min(limit ?? config.sampleBufferSize, config.sampleBufferSize);
    if (n === 0) return [];
    // Every worker's newest n rows: the pod's newest n are among them.
    const parts = await Promise.all(live().map((m) => m.channel.request<[number, string][]>('dump', { limit: n }, SAMPLES_TIMEOUT_MS)));
    return mergeSamples(parts, n);
  };

  const podLogStatus = async (): Promise<PredictionLogStatus | undefined> => {
    const parts = await Promise.all(live().map((m) => m.channel.request<PredictionLogStatus | undefined>('log-status', undefined, METRICS_TIMEOUT_MS)));
    return mergeLogStatus(parts.filter((p): p is PredictionLogStatus => p !== undefined && p !== null));
  };

  // The analysis the workers were last told: figures of a worker on another are not mixed in.
  let analysis = '';
  const setPromotion = async (config: PromotionConfig): Promise<void> => {
    analysis = config.analysis;
    await Promise.all(live().map((m) => m.channel.request('promotion-set', config, METRICS_TIMEOUT_MS)));
  };
  const podPromotion = async (): Promise<PodFigures> => {
    const parts = await Promise.all(live().map((m) => m.channel.request<PodFigures>('promotion-figures', undefined, METRICS_TIMEOUT_MS)));
    return sumPodFigures(parts, analysis, config.modelVersion);
  };

  cluster.setupPrimary({ silent: false });
  for (let i = 0; i < o.workers; i++) {
    const worker = cluster.fork();
    let greet!: () => void;
    let exited!: (e: { code: number | null; signal: string | null }) => void;
    const m: Member = {
      id: worker.id,
      worker,
      greeted: false,
      hello: new Promise<void>((r) => (greet = r)),
      loaded: false,
      gone: false,
      exit: new Promise((r) => (exited = r)),
      channel: new PodChannel(
        (msg, done) => {
          if (!worker.isConnected()) return done(new Error(`worker ${worker.id} is gone`));
          worker.send(msg, done);
        },
        {
          hello: () => {
            m.greeted = true;
            greet();
          },
          listening: (body) => resolveListening(body as Ports),
          'start-failed': (body) => rejectListening(new Error((body as { message: string }).message)),
          loaded: () => {
            m.loaded = true;
            void onWorkerLoaded();
          },
          'load-failed': (body) => {
            const b = body as { reason: string; message: string };
            failLoad(new WorkerLoadError(b.reason, b.message));
          },
          metrics: () => podMetrics(),
          samples: (body) => podSamples((body as { limit?: number }).limit),
          'prediction-log': () => podLogStatus(),
          'promotion-put': (body) => setPromotion(body as PromotionConfig),
          'promotion-get': () => podPromotion(),
          drain: () => {
            for (const x of live()) x.channel.notify('drain');
          },
        },
      ),
    };
    members.push(m);
    worker.on('message', (msg) => m.channel.receive(msg));
    worker.on('exit', (code, signal) => {
      m.gone = true;
      m.channel.close(new Error(`worker ${m.id} has exited`));
      exited({ code, signal });
      if (stopping) return;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!listeningSettled) rejectListening(new Error(`worker ${m.id} exited with ${how} before listening`));
      else if (!loadSettled) failLoad(new WorkerLoadError('LoadFailed', `worker ${m.id} exited with ${how} while loading the model`));
      else {
        failed = true;
        reportBroken(`worker ${m.id} exited with ${how}`);
      }
    });
  }

  const shutdown = async (): Promise<boolean> => {
    for (const m of members) void m.hello.then(() => m.channel.notify('shutdown'));
    const timer = setTimeout(
      () => {
        for (const m of members) if (!m.gone) m.worker.process.kill('SIGKILL');
      },
      config.drainTimeoutSeconds * 1000 + EXIT_GRACE_MS,
    );
    const exits = await Promise.all(members.map((m) => m.exit));
    clearTimeout(timer);
    const drained = !failed && exits.every((e) => e.code === 0);
    logger.info({ drained, exits: exits.map((e) => e.signal ?? e.code) }, drained ? 'drained; stopped' : 'drain timed out; stopped');
    return drained;
  };
  const stop = () => (stopping ??= shutdown());

  let ports: Ports;
  try {
    ports = await listening;
  } catch (e) {
    await stop();
    throw e;
  }
  return { ...ports, workers: members.length, loaded, broken, shutdown: stop };
}
