// Lifecycle of `fluxora serve`: listen first (liveness answers while a large
// artifact downloads), load and warm the model, go ready; on shutdown go
// unready at once, stop accepting connections, finish what is in flight
// (including queued batches), then close.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { Logger } from 'pino';
import { readObject } from '../storage/index.js';
import { AdminApi } from './admin-api.js';
import { Batcher } from './batcher.js';
import type { ServeConfig } from './config.js';
import { ServingMetrics } from './metrics.js';
import { tensorMetadata } from './model-signature.js';
import { loadOnnxModel, warmupFeeds, type OnnxModel } from './onnx-model.js';
import { PublicApi } from './public-api.js';
import { resolveFeatureLayout, SampleCapture } from './sample-capture.js';
import type { ServedModel, ServerState } from './server-state.js';

export interface ServerDeps {
  logger: Logger;
  /** Fetches the artifact; defaults to the storage module (file, s3, http(s), pvc). */
  readArtifact?: (uri: string, sha256: string | undefined, signal: AbortSignal) => Promise<Uint8Array>;
}

export interface FluxoraServer {
  readonly port: number;
  readonly adminPort: number;
  readonly metrics: ServingMetrics;
  /** Resolves once the model is loaded and the server ready; rejects with the reason loading failed. */
  readonly loaded: Promise<void>;
  readonly ready: boolean;
  /** Drains and closes; resolves true if everything in flight finished within the drain timeout. */
  shutdown(): Promise<boolean>;
}

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
  };
  let active = 0;
  // Requests on both ports that have not finished: shutdown waits for them.
  const track = (inner: Listener) =>
    httpServer((req, res) => {
      active++;
      res.once('close', () => active--);
      inner(req, res);
    });
  const publicServer = track(new PublicApi(state).listener);
  const adminServer = track(new AdminApi(state).listener);
  const port = await listen(publicServer, config.port, config.host);
  let adminPort: number;
  try {
    adminPort = await listen(adminServer, config.adminPort, config.host);
  } catch (e) {
    publicServer.close();
    throw e;
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
    if (layout.warning) logger.warn(layout.warning);
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
      metadataJson: JSON.stringify({
        name: config.modelName,
        versions: [config.modelVersion],
        platform: 'onnxruntime_onnx',
        inputs: sig.inputs.map(tensorMetadata),
        outputs: sig.outputs.map(tensorMetadata),
      }),
    };
    const seconds = (performance.now() - t0) / 1000;
    metrics.modelLoad.set({ model: config.modelName }, seconds);
    state.model = model;
    if (!state.draining) state.ready = true;
    logger.info(
      {
        version: config.modelVersion,
        loadSeconds: Number(seconds.toFixed(3)),
        inputs: sig.inputs.map(tensorMetadata),
        outputs: sig.outputs.map(tensorMetadata),
        batching: sig.batchable && config.maxBatchDelayMs > 0 && config.maxBatchSize > 1,
      },
      'model loaded; ready',
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
    const deadline = performance.now() + config.drainTimeoutSeconds * 1000;
    const drainBatches = state.model?.batcher.drain();
    // Drained once nothing has been in flight for a little while: a request
    // already sent on a kept-alive connection may still be in the socket.
    let quietSince: number | undefined;
    let drained = false;
    while (performance.now() < deadline) {
      const busy = active > 0 || (state.model?.batcher.pending ?? 0) > 0;
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
    for (const s of [publicServer, adminServer]) {
      s.close();
      if (!drained) s.closeAllConnections();
    }
    if (!state.model) loading.abort(new Error('shutting down before the model was loaded'));
    await loaded.catch(() => undefined);
    await onnx?.release();
    logger.info({ drained }, drained ? 'drained; stopped' : 'drain timed out; stopped');
    return drained;
  };

  return {
    port,
    adminPort,
    metrics,
    loaded,
    get ready() {
      return state.ready;
    },
    shutdown: () => (shuttingDown ??= shutdown()),
  };
}
