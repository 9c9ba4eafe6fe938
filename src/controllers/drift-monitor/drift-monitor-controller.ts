// Reconciles a DriftMonitor: the CronJob that runs `fluxora drift-check` and
// its least-privilege ServiceAccount/Role/RoleBinding; reports readiness; and
// when the checks' verdicts (written to status by drift-check) show drift
// that persisted, starts exactly one RetrainJob per verdict, within cooldown
// and maxConcurrent.
import type { Logger } from 'pino';
import { isDeepStrictEqual } from 'node:util';
import type { DriftMonitor, Model, RetrainJob } from '../../api/index.js';
import { applyIfChanged, patchStatus } from '../../runtime/apply.js';
import { getCondition, kubeTime } from '../../runtime/conditions.js';
import { Controller, type ReconcileResult, type Request } from '../../runtime/controller.js';
import type { EventRecorder } from '../../runtime/events.js';
import { isAlreadyExists, isRefused, type KubeObject } from '../../runtime/kube-client.js';
import type { Manager } from '../../runtime/manager.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../fluxora-types.js';
import {
  CronJobResource,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  MANAGED_SELECTOR,
  RoleBindingResource,
  RoleResource,
  SecretResource,
  ServiceAccountResource,
} from '../resource-types.js';
import { checkCredentials } from './check-credentials.js';
import { buildCronJob, buildRole, buildRoleBinding, buildServiceAccount, driftCheckName } from './children.js';
import { causesText, decideRetrain, unrecordedRetrain, verdictCauses } from './retrain-trigger.js';
import { BUDGET_EXHAUSTED_REASON, monitorConditions } from './status.js';
import { resolveReference } from './reference.js';
import { budgetMessage, retrainBudget } from './retrain-budget.js';
import type { DomainMetrics } from '../domain-metrics.js';


const TERMINAL_PHASES = new Set(['Succeeded', 'Failed', 'Rejected']);
export const MONITOR_LABEL = 'fluxora.io/drift-monitor';
/** While a credentials Secret is missing, look again this often (Secrets are not watched). */
const MISSING_SECRET_RECHECK_MS = 30_000;

export interface DriftMonitorControllerOptions {
  manager: Manager;
  events: EventRecorder;
  logger: Logger;
  image: string;
  metrics?: DomainMetrics;
  workers?: number;
}

type Status = NonNullable<DriftMonitor['status']>;

export function createDriftMonitorController(o: DriftMonitorControllerOptions): Controller<DriftMonitor> {
  const { manager, events, logger } = o;
  const client = manager.client;
  const monitors = manager.informer<DriftMonitor>(DriftMonitorType);
  const models = manager.informer<Model>(ModelType);
  const cronjobs = manager.informer<KubeObject>(CronJobResource, { labelSelector: MANAGED_SELECTOR });
  const accounts = manager.informer<KubeObject>(ServiceAccountResource, { labelSelector: MANAGED_SELECTOR });
  const roles = manager.informer<KubeObject>(RoleResource, { labelSelector: MANAGED_SELECTOR });
  const bindings = manager.informer<KubeObject>(RoleBindingResource, { labelSelector: MANAGED_SELECTOR });
  const retrains = manager.informer<RetrainJob>(RetrainJobType, { labelSelector: MONITOR_LABEL });

  async function reconcile(req: Request): Promise<ReconcileResult | void> {
    const monitor = monitors.get(req.namespace, req.name);
    if (!monitor || monitor.metadata.deletionTimestamp) {
      o.metrics?.forgetMonitor(req.namespace, req.name);
      return;
    }
    const log = logger.child({ kind: 'DriftMonitor', namespace: req.namespace, name: req.name });
    const now = new Date();
    const status: Status = monitor.status ?? {};
    const generation = monitor.metadata.generation ?? 0;
    const name = driftCheckName(monitor);
    // The CronJob's pod spec depends on the Model too (its prediction log credentials); the Model watch below requeues.
    const model = models.get(req.namespace, monitor.spec.modelRef.name);

    // A child the API server refuses (a schedule it cannot parse, a policy)
    // is reported in status, and the reconcile backs off.
    let refused: string | undefined;
    for (const [type, desired, informer] of [
      [ServiceAccountResource, buildServiceAccount(monitor), accounts],
      [RoleResource, buildRole(monitor), roles],
      [RoleBindingResource, buildRoleBinding(monitor), bindings],
      [CronJobResource, buildCronJob(monitor, o.image, model), cronjobs],
    ] as const) {
      try {
        const r = await applyIfChanged(client, type, desired, informer.get(req.namespace, name));
        if (r.changed) {
          informer.remember(r.object);
          log.info({ child: `${type.kind}/${name}` }, 'applied');
        }
      } catch (e) {
        if (!isRefused(e)) throw e;
        refused = `the API server refused the ${type.kind} ${name}: ${e.message}`;
        log.warn({ err: e, child: `${type.kind}/${name}` }, 'child refused by the API server');
        break;
      }
    }

    // The check pods get the data sets', the labels' and the Model's log Secrets as environment: a missing one
    // keeps them from starting at all (CreateContainerConfigError), so no
    // check could ever say so. Secrets are not watched; look them up.
    const missingSecrets: { field: string; name: string }[] = [];
    for (const { field, name: secret } of checkCredentials(monitor, model)) {
      if (!(await client.getOrUndefined(SecretResource, req.namespace, secret))) missingSecrets.push({ field, name: secret });
    }

    const mine = retrains.list(req.namespace).filter((r) => r.metadata.labels?.[MONITOR_LABEL] === req.name);
    // reference.fromServingVersion: whether the serving version has a data set to compare with.
    const reference = model && monitor.spec.reference.fromServingVersion ? resolveReference(monitor, model) : undefined;
    // The retrain budget: this monitor's runs for its Model (retrain-budget.ts). Kept while retrain is
    // disabled too, so that enabling it again (a spec change) re-arms it rather than counting old runs.
    const budget = retrainBudget(monitor, mine.filter((r) => r.spec.modelRef.name === monitor.spec.modelRef.name), now);
    const budgetExhausted = budget.record.exhausted ? budgetMessage(monitor, budget.rejected) : undefined;

    const findConditions = () => monitorConditions(monitor, {
      generation,
      ...(refused ? { refused } : {}),
      missingSecrets,
      ...(model ? { modelFeatures: model.spec.features.map((f) => f.name) } : {}),
      ...(reference && !reference.ok ? { noReference: reference.message } : {}),
      ...(budgetExhausted ? { budgetExhausted } : {}),
    }, now);
    let conditions = findConditions();

    // Retrain: at most one per verdict, within cooldown and maxConcurrent and the budget.
    let retrainFields: Partial<Status> = {};
    const active = mine.filter((r) => !TERMINAL_PHASES.has(r.status?.phase ?? '')).length;
    const newest = mine.map((r) => r.metadata.creationTimestamp ?? '').sort().at(-1);
    const decision = decideRetrain(monitor, {
      now,
      activeRetrains: active,
      newestRetrainCreatedAt: newest || undefined,
      ...(model?.status?.servingVersion ? { servingVersion: model.status.servingVersion } : {}),
      ...(budgetExhausted ? { budgetExhausted } : {}),
    });
    if (decision.create && model) {
      const template = monitor.spec.retrain.template!;
      const job = {
        apiVersion: 'fluxora.io/v1alpha1',
        kind: 'RetrainJob',
        metadata: {
          name: decision.name,
          namespace: req.namespace,
          labels: { [MONITOR_LABEL]: req.name, 'fluxora.io/model': model.metadata.name, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          annotations: { 'fluxora.io/drift-check-time': status.lastCheckTime ?? '', 'fluxora.io/retrain-cause': verdictCauses(status).join(',') },
          ownerReferences: [{ apiVersion: monitor.apiVersion, kind: monitor.kind, name: req.name, uid: monitor.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
        },
        spec: { ...template, modelRef: { name: model.metadata.name } },
      };
      try {
        await client.create(RetrainJobType, job as unknown as RetrainJob);
        const causes = causesText(verdictCauses(status));
        log.info({ retrainJob: decision.name, driftShare: status.driftShare, causes }, `${causes} persisted: retrain started`);
        events.record(monitor, 'Normal', 'RetrainStarted', `${causes} in the last verdict (${status.consecutiveDriftChecks ?? 0} verdicts in a row): created RetrainJob ${decision.name}`);
        o.metrics?.retrainTriggered(req.namespace, req.name);
        retrainFields = { lastRetrainJob: decision.name, lastRetrainTime: kubeTime(now) };
      } catch (e) {
        if (isRefused(e)) {
          // A quota or a policy: the monitor says so, and tries again with back-off.
          refused = `the API server refused the RetrainJob ${decision.name}: ${e.message}`;
          conditions = findConditions();
        } else if (isAlreadyExists(e)) {
          // Created by an earlier attempt (restart, lost status write): same verdict, same job.
          retrainFields = { lastRetrainJob: decision.name, lastRetrainTime: kubeTime(now) };
        } else throw e;
      }
    } else {
      retrainFields = unrecordedRetrain(status, mine) ?? {};
    }

    const next: Status = { ...status, ...retrainFields, retrainBudget: budget.record, observedGeneration: generation, conditions };
    o.metrics?.observeMonitor(monitor.metadata.namespace ?? '', req.name, next, monitor.spec.modelRef.name);
    if (!isDeepStrictEqual(next, status)) {
      monitors.remember(await patchStatus<DriftMonitor>(client, DriftMonitorType, req.namespace, req.name, next, monitor.metadata.resourceVersion));
      const was = getCondition(status.conditions, 'Ready');
      const is = getCondition(next.conditions, 'Ready');
      // A change of state is news; a new monitor that is simply scheduled is not
      // (one write fewer per monitor: creation shows in `kubectl describe` anyway).
      const changed = is && (was?.status !== is.status || was.reason !== is.reason);
      if (is && changed && (was || is.status !== 'True')) {
        events.record(monitor, is.status === 'True' ? 'Normal' : 'Warning', is.reason, is.message);
      }
      // The budget's own news, also when a more fundamental problem is what Ready shows.
      const wasExhausted = status.retrainBudget?.exhausted === true;
      if (budgetExhausted && !wasExhausted && is?.reason !== BUDGET_EXHAUSTED_REASON) {
        events.record(monitor, 'Warning', BUDGET_EXHAUSTED_REASON, budgetExhausted);
      }
      if (budget.rearmedBy && wasExhausted && !budgetExhausted) {
        log.info({ rearmedBy: budget.rearmedBy }, 'retrain budget re-armed');
        events.record(monitor, 'Normal', 'RetrainRearmed', `retrains re-armed by ${budget.rearmedBy}: up to ${monitor.spec.retrain.maxConsecutiveRejections} more may be Rejected before it stops again`);
      }
    }
    if (refused) return { requeue: true };
    if (missingSecrets.length) return { requeueAfterMs: MISSING_SECRET_RECHECK_MS };
    if (!decision.create && decision.reason.startsWith('cooling down until ')) {
      // Wake up when the cooldown ends, in case drift is still there.
      const until = Date.parse(decision.reason.slice('cooling down until '.length));
      if (Number.isFinite(until)) return { requeueAfterMs: Math.max(1000, until - now.getTime() + 1000) };
    }
    return undefined;
  }

  const controller = new Controller<DriftMonitor>({
    name: 'driftmonitor',
    primary: monitors,
    owns: [cronjobs, accounts, roles, bindings, retrains],
    watches: [
      {
        // A Model appearing or disappearing changes the monitor's readiness; with
        // source PredictionLog its log credentials are in the CronJob, and with
        // reference.fromServingVersion its serving version's data set.
        informer: models,
        map: (model: KubeObject) =>
          monitors
            .list(model.metadata.namespace)
            .filter((m) => m.spec.modelRef.name === model.metadata.name)
            .map((m) => ({ namespace: m.metadata.namespace ?? '', name: m.metadata.name })),
      },
    ],
    reconcile,
    workers: o.workers,
    metrics: manager.opts.metrics,
    logger,
  });
  manager.addController(controller);
  return controller;
}
