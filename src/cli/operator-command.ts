// `fluxora operator`: runs the controllers. Flags follow controller-runtime's
// conventions so the chart and users' muscle memory carry over.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { DomainMetrics } from '../controllers/domain-metrics.js';
import { createDriftMonitorController } from '../controllers/drift-monitor/drift-monitor-controller.js';
import { createModelController } from '../controllers/model/model-controller.js';
import { createRetrainJobController } from '../controllers/retrain-job/retrain-job-controller.js';
import { EventRecorder } from '../runtime/events.js';
import { parseBindAddress } from '../runtime/http-endpoints.js';
import { KubeClient } from '../runtime/kube-client.js';
import { Manager } from '../runtime/manager.js';
import { createRuntimeMetrics } from '../runtime/metrics.js';

const HELP = `usage: fluxora operator [flags]

  --kubeconfig PATH                  kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --namespace NS                     watch only this namespace (default: all)
  --serving-image IMAGE              image for serving pods (default: $FLUXORA_IMAGE)
  --metrics-bind-address ADDR        default :8080 ("0" disables)
  --health-probe-bind-address ADDR   default :8081 ("0" disables)
  --leader-elect                     use a Lease so only one replica reconciles
  --leader-election-namespace NS     default: $POD_NAMESPACE or fluxora-system
  --leader-election-id NAME          default: fluxora-operator
  --lease-duration SECONDS           default 15
  --renew-deadline SECONDS           default 10
  --retry-period SECONDS             default 2
  --workers N                        concurrent reconciles per controller (default 4)
  --resync-period SECONDS            re-check every object this often (default 600)
  --log-level LEVEL                  debug|info|warn|error (default info)
`;

export async function runOperatorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'serving-image': { type: 'string' },
      'metrics-bind-address': { type: 'string', default: ':8080' },
      'health-probe-bind-address': { type: 'string', default: ':8081' },
      'leader-elect': { type: 'boolean', default: false },
      'leader-election-namespace': { type: 'string' },
      'leader-election-id': { type: 'string', default: 'fluxora-operator' },
      'lease-duration': { type: 'string', default: '15' },
      'renew-deadline': { type: 'string', default: '10' },
      'retry-period': { type: 'string', default: '2' },
      workers: { type: 'string', default: '4' },
      'resync-period': { type: 'string', default: '600' },
      'log-level': { type: 'string', default: process.env.FLUXORA_LOG_LEVEL ?? 'info' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const num = (flag: string, v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a non-negative number, got "${v}"`);
    return n;
  };
  const logger = pino({ level: values['log-level'], base: { component: 'operator' } });
  const metrics = createRuntimeMetrics();
  const identity = `${process.env.POD_NAME ?? hostname()}_${process.pid}`;
  // The identity in the User-Agent lets audit logs tell replicas apart.
  const clientOpts = { userAgent: `fluxora-operator/${identity}`, metrics };
  const client = values.kubeconfig ? KubeClient.fromFile(values.kubeconfig, clientOpts) : KubeClient.fromDefault(clientOpts);
  const servingImage = values['serving-image'] ?? process.env.FLUXORA_IMAGE ?? 'ghcr.io/fluxora/fluxora:0.1.0';

  const manager = new Manager({
    client,
    logger,
    metrics,
    namespace: values.namespace,
    resyncPeriodMs: num('resync-period', values['resync-period']) * 1000,
    metricsBind: parseBindAddress(values['metrics-bind-address']),
    probeBind: parseBindAddress(values['health-probe-bind-address']),
    leaderElection: values['leader-elect']
      ? {
          namespace: values['leader-election-namespace'] ?? process.env.POD_NAMESPACE ?? 'fluxora-system',
          name: values['leader-election-id'],
          identity,
          leaseDurationMs: num('lease-duration', values['lease-duration']) * 1000,
          renewDeadlineMs: num('renew-deadline', values['renew-deadline']) * 1000,
          retryPeriodMs: num('retry-period', values['retry-period']) * 1000,
        }
      : undefined,
  });
  const events = new EventRecorder(client, 'fluxora-operator', logger);
  const workers = num('workers', values.workers);
  const domainMetrics = new DomainMetrics(metrics.registry);
  createModelController({ manager, events, logger, servingImage, workers, metrics: domainMetrics });
  createDriftMonitorController({ manager, events, logger, image: servingImage, workers, metrics: domainMetrics });
  createRetrainJobController({ manager, events, logger, image: servingImage, workers, metrics: domainMetrics });

  const stopped = new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down: draining in-flight reconciles');
      manager.stop().then(
        () => resolve(0),
        (err: Error) => {
          logger.error({ err: err.message }, 'unclean shutdown');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  await manager.start();
  logger.info(
    { metricsPort: manager.metricsPort, probePort: manager.probePort, identity, leaderElection: values['leader-elect'] },
    'operator started',
  );
  return stopped;
}
