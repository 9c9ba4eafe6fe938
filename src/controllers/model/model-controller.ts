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
import { PromotionSpecSchema, type Model, type PromotionSpec } from '../../api/index.js';
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
import type { PodFigures } from '../../promotion/figures.js';
import { durationMs } from '../../api/index.js';
import { predictionLogPath } from '../../serving/admin-paths.js';
import {
  buildCandidateDeployment,
  buildCandidateService,
  buildDeployment,
  buildHpa,
  candidateName,
  buildSamplesSecret,
  buildService,
  endpointFor,
  hpaName,
  MODEL_LABEL,
  samplesSecretName,
  SAMPLES_TOKEN_KEY,
  serviceName,
  desiredReplicas,
  type ChildContext,
} from './children.js';
import {
  analysisDue,
  candidateActive,
  canarySteps,
  guardWatching,
  nextAnalysisInMs,
  judgeCandidate,
  judgeGuard,
  planPromotion,
  promotionKeeps,
  rejectCandidate,
  type PromotionState,
} from './promotion.js';
import { alignPods, candidateFigures, desiredConfig, guardFigures, promotionEndpoints, readPodFigures } from './promotion-round.js';
import { promotionCondition, withPromotionCondition } from './promotion-condition.js';
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
import { decideVersions, trimHistory, type VersionRecord } from './versions.js';

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

  /** The bearer token of the Model's pods (the samples Secret), once the Secret is in the cache. */
  function podToken(model: Model): string | undefined {
    const secret = secrets.get(model.metadata.namespace, samplesSecretName(model));
    const data: unknown = secret && 'data' in secret ? secret.data : undefined;
    const b64: unknown = data && typeof data === 'object' ? (data as Record<string, unknown>)[SAMPLES_TOKEN_KEY] : undefined;
    return typeof b64 === 'string' && b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
  }

  /** When the pods of a Model were last read for something other than an analysis (digests, cleanup): at most every 30 s. */
  const sideReads = new Map<string, number>();
  const SIDE_READ_PERIOD_MS = 30_000;
  /** When the candidate's pods were first seen behind their Service, by namespace/name, for the analysis they serve. */
  const candidateSeen = new Map<string, { analysis: string; at: number }>();
  const ENDPOINT_SETTLE_MS = 2_000;
  /** Reads made to learn a version's digest, by namespace/name/version. */
  const digestTries = new Map<string, number>();
  const DIGEST_TRIES = 3;

  interface RoundResult {
    state: PromotionState;
    /** Artifact digests the pods reported, by version, for versions recorded without one. */
    digests: Map<string, string>;
    /** Why no analysis ran yet (the candidate's pods are not up). */
    waiting?: string;
    requeueAfterMs?: number;
  }

  /**
   * A promotion round, when one is due: read every pod's figures, tell the pods
   * what to count, and judge the candidate or the guard. Also records the
   * digest of a served version that has none, and ends the mirror after a
   * decision. Without an admin reader or a token, nothing is read.
   */
  async function promotionRound(
    model: Model,
    spec: PromotionSpec,
    promo: PromotionState,
    versions: readonly VersionRecord[],
    liveCandidate: KubeObject | undefined,
    pinned: boolean,
    championReady: boolean,
    now: Date,
    log: Logger,
  ): Promise<RoundResult> {
    const out: RoundResult = { state: promo, digests: new Map() };
    const token = podToken(model);
    if (!o.podAdmin || !token) return out;
    const key = `${model.metadata.namespace}/${model.metadata.name}`;
    const c = promo.status.candidate;
    const active = !pinned && candidateActive(c) ? c : undefined;
    const watching = !pinned && !active && guardWatching(promo.status.guard) ? promo.status.guard : undefined;
    const intervalMs = durationMs(spec.analysis.interval);
    // Before any figure exists (pods not up, or not behind their Service), the deadline alone can end the analysis.
    const pastDeadline = (candidate: { startedAt: string }) => now.getTime() - Date.parse(candidate.startedAt) >= durationMs(spec.analysis.deadline);

    if (active) {
      const cr = rolloutState(liveCandidate);
      const runsCandidate = templateVersion(liveCandidate) === active.version;
      if (!runsCandidate || !cr.complete) {
        // Nothing is measured before the candidate's pods are up: a mirror to no pod would count as its errors.
        const elapsed = now.getTime() - Date.parse(active.startedAt);
        if (elapsed >= POD_CHECK_AFTER_MS) {
          const failure = await failureOfServers(model, active.version);
          if (failure) {
            out.state = rejectCandidate(promo, failure.message, now);
            return out;
          }
        }
        if (pastDeadline(active)) {
          out.state = judgeCandidate(promo, spec, { samples: 0 }, versions, now);
          return out;
        }
        out.waiting = `waiting for the candidate's pods (${runsCandidate ? cr.message : 'Deployment not updated yet'})`;
        out.requeueAfterMs = 5_000;
        return out;
      }
    }
    const served = versions.find((v) => v.name === (pinned ? undefined : promo.status.promotedVersion));
    // Learnt from the pods once they run it; a few tries per version at most (pods of an older image never say).
    const digestWanted = (v: VersionRecord) => !v.sha256 && (digestTries.get(`${key}/${v.name}`) ?? 0) < DIGEST_TRIES;
    const needDigest = championReady && versions.some((v) => digestWanted(v) && (v.name === served?.name || v.name === active?.version));
    const decidedAt = Math.max(Date.parse(c?.decidedAt ?? '') || 0, Date.parse(promo.status.guard?.lastAnalysisTime ?? '') || 0);
    const cleanup = !active && !watching && now.getTime() - decidedAt < 3 * intervalMs;
    if (active || watching) {
      const last = active?.lastAnalysisTime ?? watching?.lastAnalysisTime;
      if (!analysisDue(last, spec, now)) {
        out.requeueAfterMs = nextAnalysisInMs(last, spec, now);
        return out;
      }
    } else if (cleanup || needDigest) {
      const lastSide = sideReads.get(key) ?? 0;
      if (now.getTime() - lastSide < SIDE_READ_PERIOD_MS) {
        out.requeueAfterMs = SIDE_READ_PERIOD_MS - (now.getTime() - lastSide);
        return out;
      }
      sideReads.set(key, now.getTime());
      if (needDigest) for (const v of versions) if (digestWanted(v)) digestTries.set(`${key}/${v.name}`, (digestTries.get(`${key}/${v.name}`) ?? 0) + 1);
    } else {
      sideReads.delete(key);
      return out;
    }

    let reports;
    try {
      reports = await readPodFigures(o.podAdmin, await promotionEndpoints(o.podAdmin, client, model, active !== undefined || liveCandidate !== undefined), model, token, log);
    } catch (err) {
      log.warn({ err }, 'could not list the serving pods to read their promotion figures');
      out.requeueAfterMs = intervalMs;
      return out;
    }
    for (const [version, digest] of agreedDigests(reports.map((r) => r.figures))) out.digests.set(version, digest);
    if (active && !reports.some((r) => r.figures.version === active.version && r.figures.analysis === active.analysis)) {
      // Before the analysis starts on the pods: the candidate's pods must be behind their Service, and have been for a
      // moment (kube-proxy programs a new endpoint a little after the EndpointSlice lists it). A mirror sent sooner
      // would find no endpoint and count as the candidate's error.
      const seen = reports.some((r) => r.figures.version === active.version);
      const since = candidateSeen.get(key);
      if (!seen || since?.analysis !== active.analysis || now.getTime() - since.at < ENDPOINT_SETTLE_MS) {
        if (seen && since?.analysis !== active.analysis) candidateSeen.set(key, { analysis: active.analysis, at: now.getTime() });
        if (!seen) candidateSeen.delete(key);
        // The deadline runs meanwhile: pods that never answer (or never get behind their Service) end the analysis too.
        if (pastDeadline(active)) {
          out.state = judgeCandidate(promo, spec, { samples: 0 }, versions, now);
          return out;
        }
        out.waiting = "waiting for the candidate's pods to be behind their Service";
        out.requeueAfterMs = ENDPOINT_SETTLE_MS;
        return out;
      }
    }
    await alignPods(o.podAdmin, reports, (v) => desiredConfig(model, spec, active, watching, v), model, token, log);
    if (active) {
      out.state = judgeCandidate(promo, spec, candidateFigures(reports, active), versions, now);
    } else if (watching) {
      const judged = judgeGuard(promo, spec, guardFigures(reports, watching), now);
      out.state = judged.status.guard ? { ...judged, status: { ...judged.status, guard: { ...judged.status.guard, lastAnalysisTime: kubeTime(now) } } } : judged;
    }
    // A decision changes what the pods should count: tell them now, so the mirror ends with the verdict.
    const nextActive = candidateActive(out.state.status.candidate) ? out.state.status.candidate : undefined;
    const nextWatching = !nextActive && guardWatching(out.state.status.guard) ? out.state.status.guard : undefined;
    if ((active || watching) && (nextActive?.analysis !== active?.analysis || nextWatching?.analysis !== watching?.analysis)) {
      await alignPods(o.podAdmin, reports, (v) => desiredConfig(model, spec, nextActive, nextWatching, v), model, token, log);
    }
    out.requeueAfterMs = active || watching || nextActive || nextWatching ? intervalMs : SIDE_READ_PERIOD_MS;
    return out;
  }

  /** Creates, updates or removes the candidate's Deployment and Service. */
  async function ensureCandidate(model: Model, plan: CandidateChildren, live: KubeObject | undefined): Promise<void> {
    const ns = model.metadata.namespace;
    const name = candidateName(model);
    // Foreground: the Deployment goes only once its pods have, so the next candidate, under the same name, never
    // adopts the old one's ReplicaSet nor shares the Service with its pods (their answers would be counted as its own).
    const remove = async () => {
      if (live && !live.metadata.deletionTimestamp) await client.delete(DeploymentResource, ns, name, { propagationPolicy: 'Foreground' });
    };
    if (plan.deployment) {
      // Another candidate's Deployment (or one still going): wait for it to be gone; its deletion event brings us back.
      if (live && (live.metadata.deletionTimestamp || templateVersion(live) !== templateVersion(plan.deployment))) await remove();
      else {
        const d = await applyIfChanged(client, DeploymentResource, plan.deployment, live);
        if (d.changed) deployments.remember(d.object);
      }
    } else await remove();
    const liveService = services.get(ns, name);
    if (plan.service) {
      const s = await applyIfChanged(client, ServiceResource, plan.service, liveService);
      if (s.changed) services.remember(s.object);
    } else if (liveService) await client.delete(ServiceResource, ns, name);
  }

  async function reconcile(req: Request): Promise<ReconcileResult | void> {
    const model = models.get(req.namespace, req.name);
    const key = `${req.namespace}/${req.name}`;
    // Deleted: the garbage collector removes children through owner references.
    if (!model || model.metadata.deletionTimestamp) {
      o.metrics?.setModelReady(req.namespace, req.name, undefined);
      logChecks.delete(key);
      sideReads.delete(key);
      candidateSeen.delete(key);
      for (const k of digestTries.keys()) if (k.startsWith(`${key}/`)) digestTries.delete(k);
      return;
    }
    const log = logger.child({ kind: 'Model', namespace: req.namespace, name: req.name });
    const now = new Date();
    const status: ModelStatus = model.status ?? {};
    const generation = model.metadata.generation ?? 0;

    const decision = decideVersions(
      { artifact: model.spec.artifact, pinnedVersion: model.spec.pinnedVersion || undefined },
      status.versions,
      kubeTime(now),
    );
    const promotionSpec = promotionSpecOf(model);
    let promo = planPromotion({
      spec: promotionSpec,
      versions: decision.versions,
      specVersion: decision.specVersion,
      specRecorded: decision.recorded !== undefined,
      pinned: decision.pinned !== undefined,
      prev: status.promotion,
      legacyServing: status.servingVersion,
      now,
    });
    const liveCandidate = deployments.get(req.namespace, candidateName(model));
    const championReady = rolloutState(deployments.get(req.namespace, model.metadata.name)).complete;
    const round = await promotionRound(model, promotionSpec, promo, decision.versions, liveCandidate, decision.pinned !== undefined, championReady, now, log);
    promo = round.state;
    const versions = trimHistory(
      withDigests(decision.versions, round.digests),
      new Set([decision.specVersion.name, promo.status.promotedVersion!, ...(decision.pinned ? [decision.pinned.name] : []), ...promotionKeeps(promo)]),
    );
    // A pin to an unknown version must not take the model down: keep serving
    // what is serving now and report the problem.
    const serving =
      decision.pinned ??
      (decision.problem ? versions.find((v) => v.name === status.servingVersion) : undefined) ??
      versions.find((v) => v.name === promo.status.promotedVersion) ??
      versions.at(-1)!;

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
    const candidatePlan = candidateChildren(model, promotionSpec, promo, versions, decision.pinned !== undefined, liveDeployment, serving.name, o);
    const writes = [
      refusable(`Deployment ${model.metadata.name}`, applyIfChanged(client, DeploymentResource, buildDeployment(model, serving, o), liveDeployment)),
      refusable(`Service ${model.metadata.name}`, applyIfChanged(client, ServiceResource, buildService(model), services.get(req.namespace, model.metadata.name))),
      refusable(`Secret ${samplesSecretName(model)}`, ensureSecret()),
      refusable(`HorizontalPodAutoscaler ${hpaName(model)}`, ensureHpa()),
      refusable(`Deployment ${candidateName(model)}`, ensureCandidate(model, candidatePlan, liveCandidate)),
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
    if (candidatePlan.trafficPercent !== undefined && promo.status.candidate) {
      promo = { ...promo, status: { ...promo.status, candidate: { ...promo.status.candidate, trafficPercent: candidatePlan.trafficPercent } } };
    }
    conditions = withPromotionCondition(conditions, promotionCondition(promo.status, { pinned: decision.pinned?.name, waiting: round.waiting }), generation, now);
    if (round.requeueAfterMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, round.requeueAfterMs);
    const next: ModelStatus = {
      ...status,
      observedGeneration: generation,
      servingVersion: servedName,
      versions,
      promotion: promo.status,
      endpoint: endpointFor(model),
      replicas: rollout.replicas,
      readyReplicas: rollout.readyReplicas,
      conditions,
    };
    o.metrics?.setModelReady(req.namespace, req.name, getCondition(conditions, 'Ready')?.status === 'True', servedName);
    observeAnalysisMetrics(o.metrics, req.namespace, req.name, promo.status);
    if (!isDeepStrictEqual(next, status)) {
      // `status` as prev: what `next` drops goes (a new candidate's record has no decidedAt of the one before).
      models.remember(await patchStatus<Model>(client, ModelType, req.namespace, req.name, next, model.metadata.resourceVersion, status));
      recordTransitions(events, model, status, next, decision.recorded?.name);
      // Only now that the status holding them is written: a decision is counted once, even if this reconcile is retried.
      for (const e of promo.events) events.record(model, e.type, e.reason, e.message);
      for (const d of promo.decisions) o.metrics?.promotionDecided(req.namespace, req.name, d.verdict);
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

/** spec.promotion with its defaults (the API server applies them; a Model built in memory may lack them). */
function promotionSpecOf(model: Model): PromotionSpec {
  const parsed = PromotionSpecSchema.safeParse(model.spec.promotion ?? {});
  return parsed.success ? parsed.data : PromotionSpecSchema.parse({});
}

/** The version a Deployment's pod template runs. */
function templateVersion(d: KubeObject | undefined): string | undefined {
  const t = (d as { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } } | undefined)?.spec?.template;
  return t?.metadata?.annotations?.['fluxora.io/version'];
}

/** A version's digest, when every pod that serves it reports the same one. */
function agreedDigests(pods: readonly PodFigures[]): Map<string, string> {
  const by = new Map<string, Set<string>>();
  for (const p of pods) {
    if (!p.artifactSha256) continue;
    if (!by.has(p.version)) by.set(p.version, new Set());
    by.get(p.version)!.add(p.artifactSha256.toLowerCase());
  }
  const out = new Map<string, string>();
  for (const [version, digests] of by) if (digests.size === 1) out.set(version, [...digests][0]!);
  return out;
}

/** Records the digests the pods reported on versions that had none. */
function withDigests(versions: VersionRecord[], digests: ReadonlyMap<string, string>): VersionRecord[] {
  if (digests.size === 0) return versions;
  return versions.map((v) => (v.sha256 || !digests.has(v.name) ? v : { ...v, sha256: digests.get(v.name)! }));
}

interface CandidateChildren {
  deployment?: KubeObject;
  service?: KubeObject;
  trafficPercent?: number;
}

/**
 * The candidate's children. Its Deployment while it is analysed, and after a
 * promotion until the champion's Deployment has rolled out to it (so capacity
 * never dips). Its Service for as long as the strategy is Shadow or Canary:
 * one candidate follows another under the same name, and a Service deleted
 * and created again gets a new address, which cluster DNS caches (30 s in
 * CoreDNS' default) keep answering with the old one, so mirrors would fail.
 * A canary's pod count is its step's share of the champion's replicas,
 * rounded up: the Service spreads requests over all pods alike.
 */
function candidateChildren(
  model: Model,
  spec: PromotionSpec,
  promo: PromotionState,
  versions: readonly VersionRecord[],
  pinned: boolean,
  liveChampion: KubeObject | undefined,
  servingName: string,
  ctx: ChildContext,
): CandidateChildren {
  const service = spec.strategy !== 'Direct' ? buildCandidateService(model) : undefined;
  const c = promo.status.candidate;
  if (!c || pinned || c.strategy === 'Direct') return { service };
  const active = c.decidedAt === undefined && (c.phase === 'Shadowing' || c.phase === 'Canary');
  const championRunsIt = templateVersion(liveChampion) === c.version && rolloutState(liveChampion).complete;
  if (!active && !(c.phase === 'Promoted' && servingName === c.version && !championRunsIt)) return { service };
  const version = versions.find((v) => v.name === c.version);
  if (!version) return { service };
  const replicas = desiredReplicas(model) ?? (liveChampion as { spec?: { replicas?: number } } | undefined)?.spec?.replicas ?? 1;
  if (c.strategy === 'Canary') {
    const steps = canarySteps(spec);
    const weight = steps[Math.min(c.step ?? 0, steps.length - 1)]!.weight;
    const pods = Math.max(1, Math.ceil((weight * replicas) / 100));
    return {
      deployment: buildCandidateDeployment(model, version, { canary: true, replicas: pods }, ctx),
      service: service ?? buildCandidateService(model),
      trafficPercent: Math.round((100 * pods) / (replicas + pods)),
    };
  }
  return { deployment: buildCandidateDeployment(model, version, { canary: false, replicas }, ctx), service: service ?? buildCandidateService(model) };
}

/** The running analysis' figures as metrics: the candidate's, else the guard's; none otherwise. */
function observeAnalysisMetrics(metrics: DomainMetrics | undefined, namespace: string, model: string, s: NonNullable<Model['status']>['promotion']): void {
  if (!metrics) return;
  const c = s?.candidate;
  const g = s?.guard;
  const running = c && candidateActive(c) ? { version: c.version, f: c.figures, traffic: c.trafficPercent } : guardWatching(g) ? { version: g.version, f: g.figures, traffic: undefined } : undefined;
  if (!running) {
    metrics.observeAnalysis(namespace, model, undefined, undefined);
    return;
  }
  const f = running.f;
  metrics.observeAnalysis(namespace, model, running.version, {
    samples: f?.samples ?? 0,
    agreement: f?.agreement,
    error_rate_increase: f?.candidateErrorRate === undefined ? undefined : f.candidateErrorRate - (f.championErrorRate ?? 0),
    latency_ratio: f?.latencyRatio,
    output_drift: f?.outputDrift,
    traffic_percent: running.traffic,
  });
}
