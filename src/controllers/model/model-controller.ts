// Reconciles a Model into a Deployment running `fluxora serve`, a Service, an
// HPA (when autoscaling is set) and the Secret holding the token that guards
// the serving pods' sample endpoint; then reports the rollout in status, and,
// for a Model with a prediction log, whether its pods keep losing records.
//
// Every step compares the desired object with the informer's copy and only
// writes on a difference, so an unchanged Model costs zero API writes.
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Model } from '../../api/index.js';
import { applyIfChanged, patchStatus } from '../../runtime/apply.js';
import { getCondition, kubeTime, type Condition } from '../../runtime/conditions.js';
import { Controller, type ReconcileResult, type Request } from '../../runtime/controller.js';
import type { EventRecorder } from '../../runtime/events.js';
import { isAlreadyExists, isRefused, type KubeObject } from '../../runtime/kube-client.js';
import type { Manager } from '../../runtime/manager.js';
import {
  DeploymentResource,
  HpaResource,
  MANAGED_SELECTOR,
  PodResource,
  SecretResource,
  ServiceResource,
} from '../resource-types.js';
import type { DomainMetrics } from '../domain-metrics.js';
import { ModelType } from '../fluxora-types.js';
import type { PodAdminReader } from '../pod-admin.js';
import { predictionLogPath } from '../../serving/admin-paths.js';
import {
  buildDeployment,
  buildHpa,
  buildSamplesSecret,
  buildService,
  endpointFor,
  hpaName,
  MODEL_LABEL,
  samplesSecretName,
  serviceName,
  type ChildContext,
} from './children.js';
import {
  parsePodLogStatus,
  PREDICTION_LOG_LOSING,
  predictionLogVerdict,
  withPredictionLogCondition,
  type LogVerdict,
  type PodLogReport,
} from './prediction-log-health.js';
import { serverFailure, summarizeServerPod } from './server-failure.js';
import { modelConditions, rolloutState } from './status.js';
import { decideVersions } from './versions.js';

export interface ModelControllerOptions extends ChildContext {
  manager: Manager;
  metrics?: DomainMetrics;
  events: EventRecorder;
  logger: Logger;
  workers?: number;
  /** Reads the serving pods' admin port; without one, prediction logs are not checked (PredictionLogLosing is never set). */
  podAdmin?: PodAdminReader;
  /** How often the pods of a Model with a prediction log are asked for its state. */
  predictionLogCheckPeriodMs?: number;
}

type ModelStatus = NonNullable<Model['status']>;

/** Most rollouts finish within this; only a Model still rolling out after it has its pods read. */
const POD_CHECK_AFTER_MS = 10_000;
/** While a rollout stays unfinished, its pods are read again this often. */
const POD_RECHECK_MS = 15_000;
/** How often a Model's pods are asked for their prediction log's state, by default. */
export const DEFAULT_PREDICTION_LOG_CHECK_PERIOD_MS = 60_000;
/** spec.serving.predictionLog.maxBufferedRecords when unset (the schema's default). */
const DEFAULT_MAX_BUFFERED_RECORDS = 10_000;

/** When the current rollout started: the Ready condition's last transition to False (a new version, a new Model). */
function rollingOutSince(conditions: ModelStatus['conditions'], now: Date): number {
  const ready = getCondition(conditions, 'Ready');
  if (!ready || ready.status !== 'False') return now.getTime();
  const t = Date.parse(ready.lastTransitionTime ?? '');
  return Number.isFinite(t) ? t : now.getTime();
}

export function createModelController(o: ModelControllerOptions): Controller<Model> {
  const { manager, events, logger } = o;
  const client = manager.client;
  const models = manager.informer<Model>(ModelType);
  const deployments = manager.informer<KubeObject>(DeploymentResource, { labelSelector: MANAGED_SELECTOR });
  const services = manager.informer<KubeObject>(ServiceResource, { labelSelector: MANAGED_SELECTOR });
  const hpas = manager.informer<KubeObject>(HpaResource, { labelSelector: MANAGED_SELECTOR });
  const secrets = manager.informer<KubeObject>(SecretResource, { labelSelector: MANAGED_SELECTOR });

  /**
   * Why the serving version's server cannot start, if it cannot: read from
   * the Model's pods on demand. Not a pod watch: JSON watch events for every
   * pod cost the API server more than the rest of a Model's traffic (the scale
   * benchmark's control-plane CPU went from 1.6x to 2x the baseline's), and
   * only a rollout that has not finished after POD_CHECK_AFTER_MS is looked at.
   */
  async function failureOfServers(model: Model, version: string) {
    const selector = `${MODEL_LABEL}=${model.metadata.name},${MANAGED_SELECTOR}`;
    return serverFailure((await client.list(PodResource, model.metadata.namespace, selector)).map(summarizeServerPod), version);
  }

  /**
   * The last prediction-log verdict of each Model (by namespace/name, for the
   * uid it was made for). Reconciles come far more often than checks are due
   * (every rollout step, every status write): between checks the last verdict
   * is applied again, which changes nothing, so only a check that finds
   * something new writes status, and a write lost to a conflict is redone by
   * the retry without asking the pods again.
   */
  const logChecks = new Map<string, { uid: string | undefined; at: number; verdict: LogVerdict | undefined }>();
  const logCheckPeriodMs = o.predictionLogCheckPeriodMs ?? DEFAULT_PREDICTION_LOG_CHECK_PERIOD_MS;

  /** Asks each ready pod of the Model for its prediction log's state (pods that do not answer are reports too). */
  async function podLogReports(model: Model): Promise<PodLogReport[]> {
    const answers = await o.podAdmin!.getFromReadyPods(client, model.metadata.namespace!, serviceName(model), predictionLogPath(model.metadata.name), async (res) =>
      parsePodLogStatus(await res.json()),
    );
    return answers.map((a): PodLogReport => {
      if (!a.ok) return { pod: a.endpoint.pod, state: 'silent', error: a.error };
      return a.value.enabled ? { pod: a.endpoint.pod, state: 'reported', status: a.value.status } : { pod: a.endpoint.pod, state: 'disabled' };
    });
  }

  /**
   * The PredictionLogLosing verdict for a Model with a prediction log (a
   * fresh one when a check is due, else the last; none when the pods could
   * not even be listed, which leaves the condition as it is), and when the
   * next check is due; undefined for a Model without a log.
   */
  async function predictionLogCheck(model: Model, key: string, now: Date, log: Logger): Promise<{ verdict?: LogVerdict; dueInMs: number } | undefined> {
    const spec = model.spec.serving?.predictionLog;
    if (!spec || !o.podAdmin) {
      logChecks.delete(key);
      return undefined;
    }
    const last = logChecks.get(key)?.uid === model.metadata.uid ? logChecks.get(key) : undefined;
    const age = last ? now.getTime() - last.at : Infinity;
    if (last && age >= 0 && age < logCheckPeriodMs) return { verdict: last.verdict, dueInMs: logCheckPeriodMs - age };
    let verdict: LogVerdict | undefined;
    try {
      verdict = predictionLogVerdict(await podLogReports(model), { uri: spec.uri, maxBufferedRecords: spec.maxBufferedRecords ?? DEFAULT_MAX_BUFFERED_RECORDS });
    } catch (err) {
      // Listing the EndpointSlices failed (the API server, RBAC): not the Model's news, and no reason to
      // hold back the rest of its status. The last verdict stands until the next check.
      log.warn({ err }, 'could not list the serving pods to read their prediction logs');
      verdict = last?.verdict;
    }
    logChecks.set(key, { uid: model.metadata.uid, at: now.getTime(), verdict });
    return { verdict, dueInMs: logCheckPeriodMs };
  }

  async function reconcile(req: Request): Promise<ReconcileResult | void> {
    const model = models.get(req.namespace, req.name);
    const key = `${req.namespace}/${req.name}`;
    // Deleted: the garbage collector removes children through owner references.
    if (!model || model.metadata.deletionTimestamp) {
      o.metrics?.setModelReady(req.namespace, req.name, undefined);
      logChecks.delete(key);
      return;
    }
    const log = logger.child({ kind: 'Model', namespace: req.namespace, name: req.name });
    const now = new Date();
    const status: ModelStatus = model.status ?? {};
    const generation = model.metadata.generation ?? 0;

    const decision = decideVersions(
      {
        artifact: model.spec.artifact,
        promotionPolicy: model.spec.promotion?.policy ?? 'Automatic',
        pinnedVersion: model.spec.pinnedVersion || undefined,
      },
      status.versions,
      kubeTime(now),
    );
    // A pin to an unknown version must not take the model down: keep serving
    // what is serving now and report the problem.
    const serving =
      decision.serving ?? decision.versions.find((v) => v.name === status.servingVersion) ?? decision.versions.at(-1)!;

    const ensureSecret = async () => {
      if (secrets.get(req.namespace, samplesSecretName(model))) return;
      try {
        await client.create(SecretResource, buildSamplesSecret(model, randomBytes(32).toString('hex')));
      } catch (e) {
        // Created by a previous attempt whose watch event has not arrived yet:
        // keep that token, never rotate it underneath running pods.
        if (!isAlreadyExists(e)) throw e;
      }
    };
    const hpa = buildHpa(model);
    const liveHpa = hpas.get(req.namespace, hpaName(model));
    const ensureHpa = async () => {
      if (hpa) await applyIfChanged(client, HpaResource, hpa, liveHpa);
      else if (liveHpa) await client.delete(HpaResource, req.namespace, hpaName(model));
    };
    // The children are independent writes: sent together, a new Model costs
    // one round trip to the API server instead of one per child (a pod that
    // starts before its token Secret exists is retried by the kubelet). If
    // one fails the reconcile is retried, and the others are then no-ops.
    // A child the API server refuses (invalid, or forbidden by a policy or a
    // quota) is the Model's problem, not a passing error: it goes to status
    // and the reconcile backs off instead of failing in a loop.
    const refusals: string[] = [];
    const refusable = <T>(what: string, p: Promise<T>): Promise<T | undefined> =>
      p.catch((e: unknown) => {
        if (!isRefused(e)) throw e;
        refusals.push(`the API server refused the ${what}: ${e.message}`);
        return undefined;
      });
    const liveDeployment = deployments.get(req.namespace, model.metadata.name);
    const writes = [
      refusable(`Deployment ${model.metadata.name}`, applyIfChanged(client, DeploymentResource, buildDeployment(model, serving, o), liveDeployment)),
      refusable(`Service ${model.metadata.name}`, applyIfChanged(client, ServiceResource, buildService(model), services.get(req.namespace, model.metadata.name))),
      refusable(`Secret ${samplesSecretName(model)}`, ensureSecret()),
      refusable(`HorizontalPodAutoscaler ${hpaName(model)}`, ensureHpa()),
    ] as const;
    // Wait for all first: the reconcile ends only when none of its requests is in flight.
    await Promise.allSettled(writes);
    const [dep, svc] = await Promise.all(writes);
    // Our writes go into the caches at once: the next reconcile compares with them, not with older copies.
    if (dep?.changed) {
      deployments.remember(dep.object);
      log.info({ version: serving.name }, 'deployment applied');
    }
    if (svc?.changed) {
      services.remember(svc.object);
      log.info('service applied');
    }
    const refused = refusals.length ? { reason: 'ChildRejected', message: refusals.join('; ') } : undefined;
    if (refused) log.warn({ refused: refused.message }, 'child refused by the API server');

    // Without an applied Deployment the live one (if any) is what runs.
    const rollout = rolloutState(dep?.object ?? liveDeployment);
    // A refused Deployment still runs the version it ran before.
    const servedName = dep || !status.servingVersion ? serving.name : status.servingVersion;
    // A rollout still running after POD_CHECK_AFTER_MS: look at the pods, and again every POD_RECHECK_MS
    // while it runs (a crash-looping server changes no Deployment field, so no event would tell us).
    let serverProblem: { reason: string; message: string } | undefined;
    let requeueAfterMs: number | undefined;
    if (!rollout.complete) {
      const elapsed = now.getTime() - rollingOutSince(status.conditions, now);
      if (elapsed >= POD_CHECK_AFTER_MS) {
        serverProblem = await failureOfServers(model, servedName);
        requeueAfterMs = POD_RECHECK_MS;
      } else requeueAfterMs = POD_CHECK_AFTER_MS - elapsed;
    }
    // Lost log records never touch Ready or Degraded: serving works; a condition of its own says so.
    const logCheck = await predictionLogCheck(model, key, now, log);
    if (logCheck) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, logCheck.dueInMs);
    let conditions = modelConditions(status.conditions, {
      generation,
      rollout,
      problem: refused ?? decision.problem,
      serverFailure: serverProblem,
      servingVersion: servedName,
    }, now);
    // No log: the condition goes. A log without a verdict yet (the pods could not be listed): it stays as it is.
    if (!logCheck || logCheck.verdict) conditions = withPredictionLogCondition(conditions, logCheck?.verdict, generation, now);
    const next: ModelStatus = {
      ...status,
      observedGeneration: generation,
      servingVersion: servedName,
      versions: decision.versions,
      endpoint: endpointFor(model),
      replicas: rollout.replicas,
      readyReplicas: rollout.readyReplicas,
      conditions,
    };
    o.metrics?.setModelReady(req.namespace, req.name, getCondition(conditions, 'Ready')?.status === 'True', servedName);
    if (!isDeepStrictEqual(next, status)) {
      models.remember(await patchStatus<Model>(client, ModelType, req.namespace, req.name, next, model.metadata.resourceVersion));
      recordTransitions(events, model, status, next, decision.recorded?.name);
      const losing = getCondition(conditions, PREDICTION_LOG_LOSING);
      log.info({ ready: getCondition(conditions, 'Ready')?.status, version: servedName, ...(losing ? { predictionLogLosing: losing.reason } : {}) }, 'status updated');
    }
    if (refused) return { requeue: true };
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  const controller = new Controller<Model>({
    name: 'model',
    primary: models,
    owns: [deployments, services, hpas, secrets],
    reconcile,
    workers: o.workers,
    metrics: manager.opts.metrics,
    logger,
  });
  manager.addController(controller);
  return controller;
}

/**
 * One Event per thing a user would want to see, and no two that say the same:
 * a new version that is also the one now served is one VersionRecorded event,
 * and a version change already says the rollout started, so the Ready
 * condition's RollingOut is not repeated. (Events are writes: a new Model
 * costs two, VersionRecorded and Available.)
 */
function recordTransitions(events: EventRecorder, model: Model, prev: ModelStatus, next: ModelStatus, recorded: string | undefined) {
  const versionChanged = prev.servingVersion !== next.servingVersion;
  // The first version of a new Model is its creation, not news: the Ready
  // transition that follows says it is served (one write fewer per Model).
  const first = !prev.versions?.length;
  if (recorded && !first) {
    const served = versionChanged && next.servingVersion === recorded;
    events.record(model, 'Normal', 'VersionRecorded', `recorded ${recorded} from spec.artifact${served ? `; rolling out ${recorded}${prev.servingVersion ? ` (was ${prev.servingVersion})` : ''}` : ''}`);
  } else if (versionChanged && !first) {
    events.record(model, 'Normal', 'RollingOut', `serving version ${next.servingVersion ?? ''}${prev.servingVersion ? ` (was ${prev.servingVersion})` : ''}`);
  }
  const was = getCondition(prev.conditions, 'Ready');
  const is = getCondition(next.conditions, 'Ready');
  if (is && (was?.status !== is.status || was.reason !== is.reason) && !(versionChanged && is.reason === 'RollingOut')) {
    events.record(model, is.status === 'True' || is.reason === 'RollingOut' ? 'Normal' : 'Warning', is.reason, is.message);
  }
  recordLogTransition(events, model, getCondition(prev.conditions, PREDICTION_LOG_LOSING), getCondition(next.conditions, PREDICTION_LOG_LOSING));
}

/** A Warning when the pods start losing log records, a Normal event when the losses end; nothing for Unknown. */
function recordLogTransition(events: EventRecorder, model: Model, was: Condition | undefined, is: Condition | undefined) {
  if (is?.status === 'True' && was?.status !== 'True') events.record(model, 'Warning', is.reason, is.message);
  else if (is?.status === 'False' && was?.status === 'True') events.record(model, 'Normal', is.reason, is.message);
}
