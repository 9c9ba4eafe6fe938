// Lifecycle of `fluxora serve`: listen first (liveness answers while a large
// artifact downloads), load and warm the model, go ready; on shutdown go
// unready at once, stop accepting connections (gRPC: GOAWAY), finish what is
// in flight on every port (including queued batches), write what the
// prediction log holds, then close.
import { markOpened } from './connection-age.js';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { PodFigures, PromotionConfig } from '../promotion/figures.js';
import { readObject, sha256Hex, writeObject } from '../storage/index.js';
import { AdminApi } from './admin-api.js';
import { Batcher } from './batcher.js';
import type { ServeConfig } from './config.js';
import { GrpcApi } from './grpc-api.js';
import { FeatureMismatchError } from './load-failure.js';
import { ServingMetrics } from './metrics.js';
import { modelMetadata } from './model-service.js';
import { tensorMetadata } from './model-signature.js';
import { loadOnnxModel, warmupFeeds, type OnnxModel } from './onnx-model.js';
import { PredictionLog, type PredictionLogStatus } from './prediction-log.js';
import { predictionLogS3Options } from './prediction-log-credentials.js';
import { PromotionRecorder, type Applied } from './promotion.js';
import type { MirrorLimits } from './promotion-mirror.js';
import { PublicApi } from './public-api.js';
import { resolveFeatureLayout, SampleCapture } from './sample-capture.js';
import type { PodLink, ServedModel, ServerState } from './server-state.js';

export { FeatureMismatchError };

export interface ServerDeps {
  logger: Logger;
  /** Fetches the artifact; defaults to the storage module (file, s3, http(s), pvc). */
  readArtifact?: (uri: string, sha256: string | undefined, signal: AbortSignal) => Promise<Uint8Array>;
  /** Set in a worker of a multi-worker pod: ready only once podReady() is called, pod-wide /metrics and samples. */
  pod?: PodLink;
  /** The worker's id in a multi-worker pod (in prediction log object names); 0 for a single process. */
  workerId?: number;
  /** Writes a prediction log object; defaults to the storage module with the log's credentials. */
  writeLogObject?: (uri: string, body: Uint8Array, signal: AbortSignal) => Promise<void>;
  /** Limits of the Shadow mirror; defaults to DEFAULT_MIRROR_LIMITS. */
  mirrorLimits?: MirrorLimits;
}

export interface FluxoraServer {
  readonly port: number;
  readonly adminPort: number;
  readonly grpcPort: number;
  readonly metrics: ServingMetrics;
  /** Resolves once the model is loaded and the server ready; rejects with the reason loading failed. */
  readonly loaded: Promise<void>;
  readonly ready: boolean;
  /** Drains and closes; resolves true if everything in flight finished within the drain timeout. */
  shutdown(): Promise<boolean>;
  /** A pod's worker: every worker has loaded its model, so this one may report ready. */
  podReady(): void;
  /** A pod's worker: another worker got the preStop drain; answer with Connection: close from now on. */
  startDraining(): void;
  /** A pod's worker: the newest `limit` captured rows with their capture times (none before the model is loaded). */
  capturedRows(limit: number | undefined): [number, string][];
  /** This process's prediction log state; undefined when the log is off. */
  predictionLogStatus(): PredictionLogStatus | undefined;
  /** Sets this process's promotion analysis (and Shadow mirror). */
  setPromotion(config: PromotionConfig): Applied;
  /** This process's promotion figures. */
  promotionFigures(): PodFigures;
}

/** At shutdown the prediction log gets what the drain left of the drain timeout, and at least this. */
const MIN_LOG_FLUSH_MS = 2_000;

const defaultReadArtifact = async (uri: string, sha256: string | undefined, signal: AbortSignal) => readObject(uri, { signal, ...(sha256 ? { sha256 } : {}) });

function listen(server: Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

/**
 * Stops accepting connections but keeps the open ones. http.Server#close
 * would also drop idle keep-alive connections at once, and a request already
 * on its way over one of them would fail; we close those only once drained.
 */
function stopAccepting(server: Server): void {
  if (server.listening) NetServer.prototype.close.call(server);
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** At shutdown, a connection idle this long is closed; one used more recently is left for now. */
const IDLE_CLOSE_MS = 1000;

function httpServer(listener: Listener): Server {
  const server = createServer({ noDelay: true, requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 65_000 }, listener);
  // Malformed HTTP never reaches a handler: answer it in the same JSON shape, then drop the connection.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ error: `malformed HTTP request (${err.code ?? err.message})` });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  return server;
}

export async function startServer(config: ServeConfig, deps: ServerDeps): Promise<FluxoraServer> {
  const logger = deps.logger;
  const metrics = new ServingMetrics(config.modelName);
  const state: ServerState = {
    config,
    metrics,
    logger,
    model: undefined,
    ready: false,
    draining: false,
    arriving: 0,
    notReadyReason: 'loading the model',
    ...(deps.pod ? { pod: deps.pod } : {}),
    promotion: new PromotionRecorder({
      model: config.modelName,
      version: config.modelVersion,
      logger,
      ...(deps.mirrorLimits ? { limits: deps.mirrorLimits } : {}),
    }),
  };
  if (config.predictionLog) {
    const s3 = predictionLogS3Options();
    const write = deps.writeLogObject ?? ((uri: string, body: Uint8Array, signal: AbortSignal) => writeObject(uri, body, { signal, contentType: 'application/gzip', ...(s3 ? { s3 } : {}) }));
    const log = new PredictionLog({
      config: config.predictionLog,
      model: config.modelName,
      version: config.modelVersion,
      pod: config.podName,
      worker: deps.workerId ?? 0,
      write,
      count: (result, n) => metrics.countLogRecords(result, n),
      warn: (fields, msg) => logger.warn(fields, msg),
    });
    state.predictionLog = log;
    metrics.enablePredictionLog();
    metrics.bufferedLogRecords = () => log.buffered;
  }
  // Ready once the model is loaded and, in a pod of several workers, every worker has loaded its own.
  let podReady = deps.pod === undefined;
  const becomeReady = () => {
    if (state.model && podReady && !state.draining) state.ready = true;
  };
  let active = 0;
  // Requests (REST) and calls (gRPC) answered on the public ports, for the log at shutdown.
  let answered = 0;
  // When each connection last carried a request: shutdown closes only those
  // idle for a while, since a client may be sending on one idle a moment ago.
  const lastUsed = new Map<Socket, number>();
  // Requests on both ports that have not finished: shutdown waits for them.
  const track = (inner: Listener) => {
    const server = httpServer((req, res) => {
      active++;
      lastUsed.set(req.socket, Infinity);
      res.once('close', () => {
        active--;
        if (lastUsed.has(req.socket)) lastUsed.set(req.socket, performance.now());
      });
      inner(req, res);
    });
    server.on('connection', (socket: Socket) => {
      lastUsed.set(socket, performance.now());
      markOpened(socket);
      socket.once('close', () => lastUsed.delete(socket));
    });
    return server;
  };
  const publicApi = new PublicApi(state).listener;
  const publicServer = track((req, res) => {
    answered++;
    publicApi(req, res);
  });
  const adminServer = track(new AdminApi(state).listener);
  const grpc = new GrpcApi(state);
  const port = await listen(publicServer, config.port, config.host);
  let adminPort: number;
  let grpcPort: number;
  try {
    adminPort = await listen(adminServer, config.adminPort, config.host);
  } catch (e) {
    publicServer.close();
    throw e;
  }
  try {
    grpcPort = await grpc.listen(config.host, config.grpcPort);
  } catch (e) {
    publicServer.close();
    adminServer.close();
    grpc.forceClose();
    throw new Error(`cannot listen for gRPC on port ${config.grpcPort}: ${e instanceof Error ? e.message : String(e)}`);
  }

  // Errors after listening (e.g. EMFILE on accept) are logged, not fatal: the open connections keep working.
  for (const s of [publicServer, adminServer]) s.on('error', (err) => logger.error({ err }, 'listener error'));

  let onnx: OnnxModel | undefined;
  // Aborted by shutdown: a SIGTERM during a slow or stalled download must not wait for the storage timeout.
  const loading = new AbortController();
  const loaded = (async () => {
    const t0 = performance.now();
    const bytes = await (deps.readArtifact ?? defaultReadArtifact)(config.modelUri, config.modelSha256, loading.signal);
    if (loading.signal.aborted) throw new Error('shutting down before the model was loaded');
    // The digest of the bytes actually loaded, for the operator to check against the version it recorded.
    state.promotion.artifactSha256 = sha256Hex(bytes);
    onnx = await loadOnnxModel(bytes, { intraOpThreads: config.intraOpThreads, source: config.modelUri });
    const sig = onnx.signature;
    const warm = warmupFeeds(sig);
    if (warm) {
      try {
        await onnx.run(warm);
      } catch (e) {
        logger.warn({ err: e }, 'warm-up run failed; serving anyway');
      }
    }
    const layout = resolveFeatureLayout(config.features, sig);
    // The Model's features must name the model's inputs or its columns: serving anyway would
    // answer requests while drift checks compare samples keyed by names no data set has.
    if (layout.warning) throw new FeatureMismatchError(`the Model's spec.features do not fit ${config.modelUri}: ${layout.warning.replace(/; samples use input names as keys$/, '')}`);
    const run = onnx.run.bind(onnx);
    const model: ServedModel = {
      signature: sig,
      batcher: new Batcher({
        maxBatchSize: config.maxBatchSize,
        maxDelayMs: sig.batchable ? config.maxBatchDelayMs : 0,
        run,
        arriving: () => state.arriving,
        onRun: (rows) => metrics.observeRun(rows),
        onQueueWait: (s) => metrics.observeQueueWait(s),
        onStackingBroken: (why) => logger.warn({ why }, 'model outputs cannot be split by rows; batching turned off'),
      }),
      capture: new SampleCapture({ rate: config.samplingRate, bufferSize: config.sampleBufferSize, layout }),
      metadataJson: JSON.stringify(modelMetadata(config, sig)),
    };
    const seconds = (performance.now() - t0) / 1000;
    metrics.modelLoad.set({ model: config.modelName }, seconds);
    metrics.bufferedRows = () => model.capture.size;
    state.model = model;
    if (!podReady) state.notReadyReason = 'waiting for the other workers to load the model';
    becomeReady();
    logger.info(
      {
        version: config.modelVersion,
        artifactSha256: state.promotion.artifactSha256,
        loadSeconds: Number(seconds.toFixed(3)),
        inputs: sig.inputs.map(tensorMetadata),
        outputs: sig.outputs.map(tensorMetadata),
        batching: sig.batchable && config.maxBatchDelayMs > 0 && config.maxBatchSize > 1,
      },
      podReady ? 'model loaded; ready' : 'model loaded; waiting for the other workers',
    );
  })();
  loaded.catch((e: unknown) => {
    state.notReadyReason = `loading the model failed: ${e instanceof Error ? e.message : String(e)}`;
  });

  let shuttingDown: Promise<boolean> | undefined;
  const shutdown = async (): Promise<boolean> => {
    state.ready = false;
    state.draining = true;
    state.notReadyReason = 'shutting down';
    stopAccepting(publicServer);
    stopAccepting(adminServer);
    // gRPC needs no grace for requests already on the wire: GOAWAY tells clients which calls were never started.
    let grpcDrained = false;
    const grpcClosed = grpc.drain().then(() => (grpcDrained = true));
    const deadline = performance.now() + config.drainTimeoutSeconds * 1000;
    // What the log holds is due now: it is written while the requests in flight finish.
    state.predictionLog?.tick();
    const drainBatches = state.model?.batcher.drain();
    // Drained once nothing has been in flight for a little while: a request
    // already sent on a kept-alive connection may still be in the socket.
    let quietSince: number | undefined;
    let drained = false;
    while (performance.now() < deadline) {
      const busy = active > 0 || grpc.active > 0 || (state.model?.batcher.pending ?? 0) > 0;
      const now = performance.now();
      if (busy) quietSince = undefined;
      else quietSince ??= now;
      if (quietSince !== undefined && now - quietSince >= 100) {
        drained = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    if (drained) await drainBatches;
    // Every answer since draining began said Connection: close, so busy
    // connections have closed themselves. Close the rest once idle for
    // IDLE_CLOSE_MS: closing one a client has just picked for its next
    // request would fail that request (HTTP/1.1 has no way to announce it).
    while (drained && lastUsed.size > 0 && performance.now() < deadline) {
      const now = performance.now();
      for (const [socket, at] of lastUsed) if (now - at >= IDLE_CLOSE_MS) socket.destroy();
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const s of [publicServer, adminServer]) {
      s.close();
      s.closeAllConnections();
    }
    // A gRPC call whose message is still arriving is not in grpc.active yet: its stream holds grpc.drain() open.
    if (drained && !grpcDrained) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([grpcClosed, new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - performance.now()))))]);
      clearTimeout(timer);
    }
    if (!grpcDrained) {
      drained = false;
      grpc.forceClose();
    }
    if (!state.model) loading.abort(new Error('shutting down before the model was loaded'));
    await loaded.catch(() => undefined);
    // Every answered request is in the log's buffer now (recorded before its answer was sent).
    const log = state.predictionLog;
    if (log) {
      await log.close(Math.max(deadline, performance.now() + MIN_LOG_FLUSH_MS));
      const st = log.status();
      logger.info({ written: st.written, dropped: st.dropped, failed: st.failed }, 'prediction log closed');
    }
    state.promotion.close();
    await onnx?.release();
    logger.info({ drained, answered: answered + grpc.calls }, drained ? 'drained; stopped' : 'drain timed out; stopped');
    return drained;
  };

  return {
    port,
    adminPort,
    grpcPort,
    metrics,
    loaded,
    get ready() {
      return state.ready;
    },
    shutdown: () => (shuttingDown ??= shutdown()),
    podReady: () => {
      podReady = true;
      becomeReady();
    },
    startDraining: () => {
      state.draining = true;
    },
    capturedRows: (limit) => state.model?.capture.timedLines(limit) ?? [],
    predictionLogStatus: () => state.predictionLog?.status(),
    setPromotion: (c) => state.promotion.configure(c),
    promotionFigures: () => state.promotion.figures(),
  };
}
