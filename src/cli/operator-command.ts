// `fluxora operator`: runs the controllers. Flags follow controller-runtime's
// conventions so the chart and users' muscle memory carry over.
import { hostname } from 'node:os';
import { DomainMetrics } from '../controllers/domain-metrics.js';
import { createDriftMonitorController } from '../controllers/drift-monitor/drift-monitor-controller.js';
import { createModelController, DEFAULT_PREDICTION_LOG_CHECK_PERIOD_MS } from '../controllers/model/model-controller.js';
import { parseAddressMap, PodAdminReader } from '../controllers/pod-admin.js';
import { createRetrainJobController } from '../controllers/retrain-job/retrain-job-controller.js';
import { EventRecorder } from '../runtime/events.js';
import { parseBindAddress } from '../runtime/http-endpoints.js';
import { Manager } from '../runtime/manager.js';
import { createRuntimeMetrics } from '../runtime/metrics.js';
import { VERSION } from '../version.js';
import { kubeClient } from './kube.js';
import { createLogger } from './logger.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitStatusHelp, logLevel, numberFlag, parseFlags, UsageError } from './usage.js';

const HELP = `usage: fluxora operator [flags]

  --kubeconfig PATH                  kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --namespace NS                     watch only this namespace (default: all)
  --serving-image IMAGE              image for serving pods (default: $FLUXORA_IMAGE, else this version's image)
  --metrics-bind-address ADDR        default :8080 ("0" disables)
  --health-probe-bind-address ADDR   default :8081 ("0" disables)
  --leader-elect                     use a Lease so only one replica reconciles
  --leader-election-namespace NS     default: $POD_NAMESPACE or fluxora-system
  --leader-election-id NAME          default: fluxora-operator
  --lease-duration SECONDS           default 15
  --renew-deadline SECONDS           default 10
  --retry-period SECONDS             default 2
  --workers N                        concurrent reconciles per controller, 1 to 1000 (default 4)
  --resync-period SECONDS            re-check every object this often; 0 never (default 600)
  --prediction-log-check-period SECONDS
                                     ask the serving pods of Models with a prediction log
                                     whether they lose records this often (default ${DEFAULT_PREDICTION_LOG_CHECK_PERIOD_MS / 1000})
  --log-level LEVEL                  trace|debug|info|warn|error (default: $FLUXORA_LOG_LEVEL or info)
  -h, --help                         this help

With --leader-elect, lease-duration > renew-deadline > retry-period > 0.

Environment: FLUXORA_IMAGE, FLUXORA_LOG_LEVEL, and FLUXORA_SAMPLES_ADDRESS_MAP
("podIP:8081=host:port,...": where to reach serving pods' admin ports, for
local runs against simulated pods).

${exitStatusHelp({
  [EXIT_OK]: 'stopped by SIGTERM or SIGINT after draining in-flight reconciles',
  [EXIT_FAILURE]: 'could not start, an unclean shutdown, or leadership lost',
  [EXIT_USAGE]: 'usage error',
})}`;

const OPTIONS = {
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
  'prediction-log-check-period': { type: 'string', default: String(DEFAULT_PREDICTION_LOG_CHECK_PERIOD_MS / 1000) },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The most workers a controller may have: each is a concurrent reconcile against the API server. */
const MAX_WORKERS = 1000;

interface OperatorFlags {
  kubeconfig?: string;
  namespace?: string;
  servingImage?: string;
  metricsBind: ReturnType<typeof parseBindAddress>;
  probeBind: ReturnType<typeof parseBindAddress>;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  workers: number;
  resyncPeriodMs: number;
  predictionLogCheckPeriodMs: number;
  /** FLUXORA_SAMPLES_ADDRESS_MAP: pod admin addresses rewritten before dialling. */
  addressMap: Map<string, string>;
  logLevel: string;
}

/** Every flag checked before anything starts: a bad value is a UsageError (exit 2), never a stack trace or an operator that never reconciles. */
export function parseOperatorFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): OperatorFlags | 'help' {
  const values = parseFlags(argv, OPTIONS, HELP);
  if (values.help) return 'help';
  const seconds = (flag: 'lease-duration' | 'renew-deadline' | 'retry-period') =>
    numberFlag(flag, values[flag], HELP, { min: 0, minExclusive: true }) * 1000;
  const bind = (flag: 'metrics-bind-address' | 'health-probe-bind-address') => {
    try {
      return parseBindAddress(values[flag]);
    } catch {
      throw new UsageError(`--${flag} must be [host]:port or "0", got "${values[flag]}"`, HELP);
    }
  };
  const leaseDurationMs = seconds('lease-duration');
  const renewDeadlineMs = seconds('renew-deadline');
  const retryPeriodMs = seconds('retry-period');
  // client-go's rules: the leader must be able to renew (every retry period) before its deadline, and give up before
  // the lease expires. Only with --leader-elect: otherwise the three are unused (the chart passes them either way).
  if (values['leader-elect'] && !(renewDeadlineMs < leaseDurationMs)) {
    throw new UsageError(`--renew-deadline (${values['renew-deadline']}) must be less than --lease-duration (${values['lease-duration']})`, HELP);
  }
  if (values['leader-elect'] && !(retryPeriodMs < renewDeadlineMs)) {
    throw new UsageError(`--retry-period (${values['retry-period']}) must be less than --renew-deadline (${values['renew-deadline']})`, HELP);
  }
  let addressMap: Map<string, string>;
  try {
    addressMap = parseAddressMap(env.FLUXORA_SAMPLES_ADDRESS_MAP);
  } catch (e) {
    throw new UsageError((e as Error).message, HELP);
  }
  const levelFromFlag = values['log-level'] !== undefined;
  const level = values['log-level'] ?? env.FLUXORA_LOG_LEVEL ?? 'info';
  return {
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
    ...(values['serving-image'] !== undefined ? { servingImage: values['serving-image'] } : {}),
    metricsBind: bind('metrics-bind-address'),
    probeBind: bind('health-probe-bind-address'),
    leaderElect: values['leader-elect'],
    ...(values['leader-election-namespace'] !== undefined ? { leaderElectionNamespace: values['leader-election-namespace'] } : {}),
    leaderElectionId: values['leader-election-id'],
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    workers: numberFlag('workers', values.workers, HELP, { min: 1, max: MAX_WORKERS, integer: true }),
    resyncPeriodMs: numberFlag('resync-period', values['resync-period'], HELP, { min: 0 }) * 1000,
    predictionLogCheckPeriodMs: numberFlag('prediction-log-check-period', values['prediction-log-check-period'], HELP, { min: 1 }) * 1000,
    addressMap,
    logLevel: logLevel(level, levelFromFlag ? '--log-level' : 'FLUXORA_LOG_LEVEL', HELP),
  };
}

export async function runOperatorCommand(argv: string[]): Promise<number> {
  const flags = parseOperatorFlags(argv);
  if (flags === 'help') {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  const logger = createLogger(flags.logLevel, { component: 'operator' });
  const metrics = createRuntimeMetrics();
  const identity = `${process.env.POD_NAME ?? hostname()}_${process.pid}`;
  // The identity in the User-Agent lets audit logs tell replicas apart.
  const clientOpts = { userAgent: `fluxora-operator/${identity}`, metrics };
  const client = kubeClient(flags.kubeconfig, clientOpts, HELP);
  // The image this version was released as: serving, drift-check and trainer pods run the operator's own code.
  const servingImage = flags.servingImage ?? process.env.FLUXORA_IMAGE ?? `ghcr.io/fluxora/fluxora:${VERSION}`;

  const manager = new Manager({
    client,
    logger,
    metrics,
    namespace: flags.namespace,
    resyncPeriodMs: flags.resyncPeriodMs,
    metricsBind: flags.metricsBind,
    probeBind: flags.probeBind,
    leaderElection: flags.leaderElect
      ? {
          namespace: flags.leaderElectionNamespace ?? process.env.POD_NAMESPACE ?? 'fluxora-system',
          name: flags.leaderElectionId,
          identity,
          leaseDurationMs: flags.leaseDurationMs,
          renewDeadlineMs: flags.renewDeadlineMs,
          retryPeriodMs: flags.retryPeriodMs,
        }
      : undefined,
  });
  const events = new EventRecorder(client, 'fluxora-operator', logger);
  const workers = flags.workers;
  const domainMetrics = new DomainMetrics(metrics.registry);
  // One reader for every Model: its concurrency bound holds across the controller's workers.
  const podAdmin = new PodAdminReader({ addressMap: flags.addressMap });
  createModelController({
    manager,
    events,
    logger,
    servingImage,
    workers,
    metrics: domainMetrics,
    podAdmin,
    predictionLogCheckPeriodMs: flags.predictionLogCheckPeriodMs,
  });
  createDriftMonitorController({ manager, events, logger, image: servingImage, workers, metrics: domainMetrics });
  createRetrainJobController({ manager, events, logger, image: servingImage, workers, metrics: domainMetrics });

  const stopped = new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down: draining in-flight reconciles');
      manager.stop().then(
        () => resolve(EXIT_OK),
        (err: Error) => {
          logger.error({ err }, 'unclean shutdown');
          resolve(EXIT_FAILURE);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  await manager.start();
  logger.info(
    { version: VERSION, metricsPort: manager.metricsPort, probePort: manager.probePort, identity, leaderElection: flags.leaderElect },
    'operator started',
  );
  return stopped;
}
