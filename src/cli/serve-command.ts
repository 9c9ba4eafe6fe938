// `fluxora serve`: the inference server a Model's Deployment runs. Settings
// come from FLUXORA_* variables the operator sets (flags override them; see
// src/serving/config.ts). Exits 0 after a clean drain on SIGTERM/SIGINT, 1
// if the model cannot be loaded or the drain times out, 2 on bad flags.
import { pino } from 'pino';
import { ConfigError, parseServeConfig, SERVE_HELP } from '../serving/config.js';
import { loadFailureReason } from '../serving/load-failure.js';
import { startServer } from '../serving/server.js';
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
      logger.error({ err: message, reason, uri: config.modelUri }, 'cannot load the model');
      // The operator reports this line in the Model's status (ServingFailed).
      writeTerminationMessage(`${reason}: ${message}`);
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
