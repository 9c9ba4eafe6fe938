// `fluxora train`: the built-in trainer, a RetrainJob's Job entrypoint when
// trainer.builtin is set. Writes model.onnx first and metrics.json last: the
// operator reads metrics.json only after the Job succeeded, and a run that
// fails half-way exits non-zero, so a partial output is never promoted.
//
// Exit codes (src/training/exit-codes.ts; the Job's podFailurePolicy reads
// them): 0 trained; 1 a retry may fix it (the store unreachable, anything
// unexpected); 2 bad flags or config; 3 bad input (the data set, the served
// model, a URI, the credentials), which a retry would read the same way.
import { ConfigError } from '../serving/config.js';
import { joinUri, writeObject } from '../storage/index.js';
import { isStorageError, StorageError } from '../storage/index.js';
import { parseTrainConfig, TRAIN_HELP } from '../training/config.js';
import { TrainingError } from '../training/errors.js';
import { EXIT_BAD_INPUT, EXIT_RETRYABLE, EXIT_USAGE } from '../training/exit-codes.js';
import { train } from '../training/train.js';
import { createLogger } from './logger.js';
import { writeTerminationMessage } from './termination-message.js';
import { EXIT_OK, exitStatusHelp, logLevel, UsageError } from './usage.js';

/** The help's exit statuses, from the constants the command returns (the Job's podFailurePolicy reads them). */
const HELP = `${TRAIN_HELP}
${exitStatusHelp({
  [EXIT_OK]: 'trained and written',
  [EXIT_RETRYABLE]: 'a retry may help (the store unreachable, anything unexpected)',
  [EXIT_USAGE]: 'bad flags or trainer configuration',
  [EXIT_BAD_INPUT]: 'bad input that a retry would read the same way (the data set, the served model, a URI, the credentials)',
}, { signals: true })}`;

export async function runTrainCommand(argv: string[]): Promise<number> {
  let config;
  try {
    config = parseTrainConfig(argv);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    writeTerminationMessage(e.message);
    throw new UsageError(e.message, HELP);
  }
  if (config === 'help') {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  const level = logLevel(process.env.FLUXORA_LOG_LEVEL ?? 'info', 'FLUXORA_LOG_LEVEL', HELP);
  const logger = createLogger(level, { component: 'trainer', model: config.modelName });
  const started = Date.now();
  try {
    logger.info({ dataset: config.datasetUri, output: config.outputUri, algorithm: config.builtin.algorithm }, 'training');
    const result = await train(config);
    const modelUri = joinUri(config.outputUri, 'model.onnx');
    const metricsUri = joinUri(config.outputUri, 'metrics.json');
    await writeObject(modelUri, result.model, { contentType: 'application/octet-stream' });
    await writeObject(metricsUri, `${JSON.stringify(result.metrics, null, 2)}\n`, { contentType: 'application/json' });
    const { serving, dataset, features, ...summary } = result.metrics;
    logger.info({ artifact: modelUri, metrics: summary, serving, dataset, features, seconds: (Date.now() - started) / 1000 }, 'trained');
    return EXIT_OK;
  } catch (e) {
    if (e instanceof TrainingError || e instanceof StorageError) {
      const retryable = isStorageError(e, 'Unreachable');
      logger.error({ err: e, retryable }, 'training failed');
      process.stderr.write(`fluxora train: ${e.message}\n`);
      writeTerminationMessage(e.message);
      return retryable ? EXIT_RETRYABLE : EXIT_BAD_INPUT;
    }
    throw e;
  }
}
