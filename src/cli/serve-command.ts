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
import { ConfigError, parseServeConfig, SERVE_HELP } from '../serving/config.js';
import { loadFailureReason } from '../serving/load-failure.js';
import { workerCount } from '../serving/workers.js';
import { createLogger } from './logger.js';
import { writeTerminationMessage } from './termination-message.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitStatusHelp, logLevel, UsageError } from './usage.js';

const HELP = `${SERVE_HELP}
${exitStatusHelp({
  [EXIT_OK]: 'stopped by SIGTERM or SIGINT after a clean drain',
  [EXIT_FAILURE]: 'the model cannot be loaded, a worker stopped, or the drain timed out',
  [EXIT_USAGE]: 'usage error',
})}`;

export async function runServeCommand(argv: string[]): Promise<number> {
  let config;
  try {
    config = parseServeConfig(argv);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    writeTerminationMessage(`InvalidConfig: ${e.message}`);
    throw new UsageError(e.message, HELP);
  }
  if (config === 'help') {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  logLevel(config.logLevel, '--log-level (or $FLUXORA_LOG_LEVEL)', HELP);
  const logger = createLogger(config.logLevel, { component: 'serve', model: config.modelName });
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
      logger.error({ err: e, reason, uri: config.modelUri }, 'cannot load the model');
      // The operator reports this line in the Model's status (ServingFailed).
      writeTerminationMessage(`${reason}: ${message}`);
      await server.shutdown();
      return EXIT_FAILURE;
    }
    if ('broken' in outcome) {
      logger.error({ broken: outcome.broken }, 'a worker stopped; stopping every worker');
      writeTerminationMessage(`WorkerFailed: ${outcome.broken}`);
      await server.shutdown();
      return EXIT_FAILURE;
    }
    logger.info({ signal: outcome.signal }, 'shutting down: draining in-flight requests');
    return (await server.shutdown()) ? EXIT_OK : EXIT_FAILURE;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
