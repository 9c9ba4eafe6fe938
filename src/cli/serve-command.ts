// `fluxora serve`: the inference server a Model's Deployment runs. Settings
// come from FLUXORA_* variables the operator sets (flags override them; see
// src/serving/config.ts). Exits 0 after a clean drain on SIGTERM/SIGINT, 1
// if the model cannot be loaded or the drain times out, 2 on bad flags.
//
// One worker (a CPU limit under 2, or --workers 1) is one process serving
// everything itself; more are a pod of worker processes (src/serving/pod.ts)
// whose primary process runs this same lifecycle for all of them. Each mode
// imports its own modules: the primary never loads onnxruntime.
import cluster from 'node:cluster';
import { pino } from 'pino';
import { ConfigError, parseServeConfig, SERVE_HELP } from '../serving/config.js';
import { loadFailureReason } from '../serving/load-failure.js';
import { workerCount } from '../serving/workers.js';
import { writeTerminationMessage } from './termination-message.js';

export async function runServeCommand(argv: string[]): Promise<number> {
  let config;
  try {
    config = parseServeConfig(argv);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`fluxora serve: ${e.message}\n\n${SERVE_HELP}`);
    writeTerminationMessage(`InvalidConfig: ${e.message}`);
    return 2;
  }
  if (config === 'help') {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const logger = pino({ level: config.logLevel, base: { component: 'serve', model: config.modelName } });
  if (cluster.isWorker) return (await import('../serving/pod-worker.js')).runPodWorker(config, logger);
  // FLUXORA_CGROUP_ROOT: tests point it at a fake cgroup directory.
  const count = workerCount(config.workers, { cgroupRoot: process.env.FLUXORA_CGROUP_ROOT });
  // Registered before anything slow, so a SIGTERM during the model download is a clean stop too.
  let signalled: (signal: string) => void = () => undefined;
  const signal = new Promise<string>((resolve) => (signalled = resolve));
  const onSignal = (s: NodeJS.Signals) => signalled(s);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const server =
      count.workers > 1
        ? await (await import('../serving/pod.js')).startPod(config, { logger, workers: count.workers })
        : await (await import('../serving/server.js')).startServer(config, { logger });
    logger.info(
      { port: server.port, adminPort: server.adminPort, grpcPort: server.grpcPort, workers: count.workers, ...(count.cpuLimit !== undefined ? { cpuLimit: count.cpuLimit } : {}) },
      'listening',
    );
    const outcome = await Promise.race([
      signal.then((s) => ({ signal: s })),
      server.loaded.then(
        () => new Promise<never>(() => undefined),
        (e: unknown) => ({ loadError: e }),
      ),
      ...('broken' in server ? [server.broken.then((why) => ({ broken: why }))] : []),
    ]);
    if ('loadError' in outcome) {
      const e = outcome.loadError;
      const reason = loadFailureReason(e);
      const message = e instanceof Error ? e.message : String(e);
      logger.error({ err: message, reason, uri: config.modelUri }, 'cannot load the model');
      // The operator reports this line in the Model's status (ServingFailed).
      writeTerminationMessage(`${reason}: ${message}`);
      await server.shutdown();
      return 1;
    }
    if ('broken' in outcome) {
      logger.error({ err: outcome.broken }, 'a worker stopped; stopping every worker');
      writeTerminationMessage(`WorkerFailed: ${outcome.broken}`);
      await server.shutdown();
      return 1;
    }
    logger.info({ signal: outcome.signal }, 'shutting down: draining in-flight requests');
    return (await server.shutdown()) ? 0 : 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
