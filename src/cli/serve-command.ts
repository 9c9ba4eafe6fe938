// `fluxora serve`: the inference server a Model's Deployment runs. Settings
// come from FLUXORA_* variables the operator sets (flags override them; see
// src/serving/config.ts). Exits 0 after a clean drain on SIGTERM/SIGINT, 1
// if the model cannot be loaded or the drain times out, 2 on bad flags.
import { ConfigError, parseServeConfig, SERVE_HELP } from '../serving/config.js';
import { FeatureMismatchError, startServer } from '../serving/server.js';
import { InvalidModelError } from '../serving/onnx-model.js';
import { isStorageError } from '../storage/index.js';
import { createLogger } from './logger.js';
import { writeTerminationMessage } from './termination-message.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitStatusHelp, logLevel, UsageError } from './usage.js';

const HELP = `${SERVE_HELP}
${exitStatusHelp({
  [EXIT_OK]: 'stopped by SIGTERM or SIGINT after a clean drain',
  [EXIT_FAILURE]: 'the model cannot be loaded, or the drain timed out',
  [EXIT_USAGE]: 'usage error',
})}`;

/** A machine-readable cause, as the storage codes (NotFound, AccessDenied, ...) the operator uses for condition reasons. */
function loadFailureReason(e: unknown): string {
  if (isStorageError(e)) return e.code;
  if (e instanceof InvalidModelError) return 'InvalidModel';
  if (e instanceof FeatureMismatchError) return 'FeatureMismatch';
  return 'LoadFailed';
}

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
  // Registered before anything slow, so a SIGTERM during the model download is a clean stop too.
  let signalled: (signal: string) => void = () => undefined;
  const signal = new Promise<string>((resolve) => (signalled = resolve));
  const onSignal = (s: NodeJS.Signals) => signalled(s);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const server = await startServer(config, { logger });
    logger.info({ port: server.port, adminPort: server.adminPort, grpcPort: server.grpcPort }, 'listening');
    const outcome = await Promise.race([
      signal.then((s) => ({ signal: s })),
      server.loaded.then(
        () => new Promise<never>(() => undefined),
        (e: unknown) => ({ loadError: e }),
      ),
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
    logger.info({ signal: outcome.signal }, 'shutting down: draining in-flight requests');
    return (await server.shutdown()) ? EXIT_OK : EXIT_FAILURE;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
