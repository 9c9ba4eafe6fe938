// Reconciles a DriftMonitor: the CronJob that runs `fluxora drift-check` and
// its least-privilege ServiceAccount/Role/RoleBinding; reports readiness; and
// when the checks' verdicts (written to status by drift-check) show drift
// that persisted, starts exactly one RetrainJob per verdict, within cooldown
// and maxConcurrent.
import type { Logger } from 'pino';
import { isDeepStrictEqual } from 'node:util';
import type { DriftMonitor, Model, RetrainJob } from '../../api/index.js';
import { applyIfChanged, patchStatus } from '../../runtime/apply.js';
import { getCondition, kubeTime, setAbnormalCondition, setCondition } from '../../runtime/conditions.js';
import { Controller, type Request } from '../../runtime/controller.js';
import type { EventRecorder } from '../../runtime/events.js';
import { isAlreadyExists, type KubeObject } from '../../runtime/kube-client.js';
import type { Manager } from '../../runtime/manager.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../fluxora-types.js';
import {
  CronJobResource,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  MANAGED_SELECTOR,
  RoleBindingResource,
  RoleResource,
  ServiceAccountResource,
} from '../resource-types.js';
import { buildCronJob, buildRole, buildRoleBinding, buildServiceAccount, driftCheckName } from './children.js';
import { decideRetrain, unrecordedRetrain } from './retrain-trigger.js';
import type { DomainMetrics } from '../domain-metrics.js';


const TERMINAL_PHASES = new Set(['Succeeded', 'Failed', 'Rejected']);
export const MONITOR_LABEL = 'fluxora.io/drift-monitor';

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

  async function reconcile(req: Request) {
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
    let conditions = status.conditions ?? [];

    for (const [type, desired, informer] of [
      [ServiceAccountResource, buildServiceAccount(monitor), accounts],
      [RoleResource, buildRole(monitor), roles],
      [RoleBindingResource, buildRoleBinding(monitor), bindings],
      [CronJobResource, buildCronJob(monitor, o.image), cronjobs],
    ] as const) {
      const r = await applyIfChanged(client, type, desired, informer.get(req.namespace, name));
      if (r.changed) log.info({ child: `${type.kind}/${name}` }, 'applied');
    }

    const model = models.get(req.namespace, monitor.spec.modelRef.name);
    if (!model) {
      conditions = setCondition(conditions, {
        type: 'Ready',
        status: 'False',
        reason: 'ModelNotFound',
        message: `Model "${monitor.spec.modelRef.name}" does not exist in namespace ${req.namespace}; checks will fail until it does`,
        observedGeneration: generation,
      }, now);
    } else {
      conditions = setCondition(conditions, {
        type: 'Ready',
        status: 'True',
        reason: monitor.spec.suspend ? 'Suspended' : 'Scheduled',
        message: monitor.spec.suspend ? 'checks are suspended' : `checks run on schedule "${monitor.spec.schedule}"`,
        observedGeneration: generation,
      }, now);
    }
    conditions = setAbnormalCondition(conditions, 'Reconciling', false, '', '', generation, now);

    // Retrain: at most one per verdict, within cooldown and maxConcurrent.
    let retrainFields: Partial<Status> = {};
    const mine = retrains.list(req.namespace).filter((r) => r.metadata.labels?.[MONITOR_LABEL] === req.name);
    const active = mine.filter((r) => !TERMINAL_PHASES.has(r.status?.phase ?? '')).length;
    const newest = mine.map((r) => r.metadata.creationTimestamp ?? '').sort().at(-1);
    const decision = decideRetrain(monitor, { now, activeRetrains: active, newestRetrainCreatedAt: newest || undefined });
    if (decision.create && model) {
      const template = monitor.spec.retrain.template!;
      const job = {
        apiVersion: 'fluxora.io/v1alpha1',
        kind: 'RetrainJob',
        metadata: {
          name: decision.name,
          namespace: req.namespace,
          labels: { [MONITOR_LABEL]: req.name, 'fluxora.io/model': model.metadata.name, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          annotations: { 'fluxora.io/drift-check-time': status.lastCheckTime ?? '' },
          ownerReferences: [{ apiVersion: monitor.apiVersion, kind: monitor.kind, name: req.name, uid: monitor.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
        },
        spec: { ...template, modelRef: { name: model.metadata.name } },
      };
      try {
        await client.create(RetrainJobType, job as unknown as RetrainJob);
        log.info({ retrainJob: decision.name, driftShare: status.driftShare }, 'drift persisted: retrain started');
        events.record(monitor, 'Normal', 'RetrainStarted', `drift in ${status.consecutiveDriftChecks ?? 0} consecutive checks: created RetrainJob ${decision.name}`);
        o.metrics?.retrainTriggered(req.namespace, req.name);
      } catch (e) {
        // Created by an earlier attempt (restart, lost status write): same verdict, same job.
        if (!isAlreadyExists(e)) throw e;
      }
      retrainFields = { lastRetrainJob: decision.name, lastRetrainTime: kubeTime(now) };
    } else {
      retrainFields = unrecordedRetrain(status, mine) ?? {};
    }

    const next: Status = { ...status, ...retrainFields, observedGeneration: generation, conditions };
    o.metrics?.observeMonitor(monitor.metadata.namespace ?? '', req.name, next);
    if (!isDeepStrictEqual(next, status)) {
      await patchStatus(client, DriftMonitorType, req.namespace, req.name, next, monitor.metadata.resourceVersion);
      const was = getCondition(status.conditions, 'Ready');
      const is = getCondition(next.conditions, 'Ready');
      if (is && (was?.status !== is.status || was.reason !== is.reason)) {
        events.record(monitor, is.status === 'True' ? 'Normal' : 'Warning', is.reason, is.message);
      }
    }
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
        // A Model appearing or disappearing changes the monitor's readiness.
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
