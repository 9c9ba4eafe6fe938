// `fluxora drift-check --monitor <namespace>/<name>`: the DriftMonitor
// CronJob's entrypoint. Exit 0 after a verdict or a "too few samples" skip;
// exit 1 when the check failed (the reason is in the monitor's status).
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { KubeClient } from '../runtime/kube-client.js';
import { parseAddressMap } from '../drift/check-samples.js';
import { runDriftCheck } from '../drift/check-run.js';

export async function runDriftCheckCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { monitor: { type: 'string' }, kubeconfig: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help || !values.monitor) {
    process.stderr.write('usage: fluxora drift-check --monitor <namespace>/<name> [--kubeconfig PATH]\n');
    return values.help ? 0 : 2;
  }
  const [namespace, name, extra] = values.monitor.split('/');
  if (!namespace || !name || extra !== undefined) {
    process.stderr.write(`fluxora drift-check: --monitor must be <namespace>/<name>, got "${values.monitor}"\n`);
    return 2;
  }
  const logger = pino({ level: process.env.FLUXORA_LOG_LEVEL ?? 'info', base: { component: 'drift-check', namespace, monitor: name } });
  const client = values.kubeconfig ? KubeClient.fromFile(values.kubeconfig, { userAgent: 'fluxora-drift-check' }) : KubeClient.fromDefault({ userAgent: 'fluxora-drift-check' });
  try {
    const outcome = await runDriftCheck({ client, namespace, name, logger, addressMap: parseAddressMap(process.env.FLUXORA_SAMPLES_ADDRESS_MAP) });
    return outcome.result === 'failed' ? 1 : 0;
  } finally {
    client.close();
  }
}
