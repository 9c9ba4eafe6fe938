// `fluxora drift-check --monitor <namespace>/<name>`: the DriftMonitor
// CronJob's entrypoint. Exit 0 after a verdict or a "too few samples" skip;
// exit 1 when the check failed (the reason is in the monitor's status).
import { parseAddressMap } from '../controllers/pod-admin.js';
import { runDriftCheck } from '../drift/check-run.js';
import { kubeClient } from './kube.js';
import { createLogger } from './logger.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitStatusHelp, logLevel, parseFlags, UsageError } from './usage.js';

const HELP = `usage: fluxora drift-check --monitor <namespace>/<name> [flags]

One drift check of a DriftMonitor, as its CronJob runs it: reads the monitor,
its Model and the data, and writes the verdict to the monitor's status.

  --monitor NAMESPACE/NAME   the DriftMonitor to check (required)
  --kubeconfig PATH          kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  -h, --help                 this help

Environment: FLUXORA_LOG_LEVEL (default info), FLUXORA_SAMPLES_ADDRESS_MAP; AWS_*
for the data sets, FLUXORA_PREDICTION_LOG_AWS_* for the prediction log
(current.source PredictionLog, performance) and FLUXORA_LABELS_AWS_* for the
labels (performance); unset keys fall back to AWS_*.

${exitStatusHelp({
  [EXIT_OK]: 'a verdict, or no verdict for too few samples',
  [EXIT_FAILURE]: "the check failed (the reason is in the monitor's status), or no kubeconfig could be loaded",
  [EXIT_USAGE]: 'usage error',
}, { signals: true })}`;

export async function runDriftCheckCommand(argv: string[]): Promise<number> {
  const values = parseFlags(argv, { monitor: { type: 'string' }, kubeconfig: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, HELP);
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  if (!values.monitor) throw new UsageError('--monitor is required', HELP);
  const [namespace, name, extra] = values.monitor.split('/');
  if (!namespace || !name || extra !== undefined) {
    throw new UsageError(`--monitor must be <namespace>/<name>, got "${values.monitor}"`, HELP);
  }
  const level = logLevel(process.env.FLUXORA_LOG_LEVEL ?? 'info', 'FLUXORA_LOG_LEVEL', HELP);
  let addressMap;
  try {
    addressMap = parseAddressMap(process.env.FLUXORA_SAMPLES_ADDRESS_MAP);
  } catch (e) {
    throw new UsageError((e as Error).message, HELP);
  }
  const logger = createLogger(level, { component: 'drift-check', namespace, monitor: name });
  const client = kubeClient(values.kubeconfig, { userAgent: 'fluxora-drift-check' }, HELP);
  try {
    const outcome = await runDriftCheck({ client, namespace, name, logger, addressMap });
    return outcome.result === 'failed' ? EXIT_FAILURE : EXIT_OK;
  } finally {
    client.close();
  }
}
