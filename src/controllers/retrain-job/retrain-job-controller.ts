// Reconciles a RetrainJob: runs the trainer as a batch Job, follows the real
// Job status (Pending -> Running -> Evaluating -> Succeeded | Failed |
// Rejected), reads metrics.json from the run's output prefix, applies the
// acceptance gate and, on acceptance, records the artifact as a new version in
// the Model's status. With promotion Automatic the Model controller then
// serves it (the newest version); with Manual it waits for spec.pinnedVersion.
import type { Logger } from 'pino';
import { isDeepStrictEqual } from 'node:util';
import type { Model, RetrainJob, RunDataset } from '../../api/index.js';
import { patchStatus } from '../../runtime/apply.js';
import { getCondition, kubeTime, setAbnormalCondition, setCondition, type Condition } from '../../runtime/conditions.js';
import { Controller, type ReconcileResult, type Request } from '../../runtime/controller.js';
import type { EventRecorder } from '../../runtime/events.js';
import { isAlreadyExists, isRefused, type KubeObject } from '../../runtime/kube-client.js';
import type { Manager } from '../../runtime/manager.js';
import { readObject, sha256Hex, StorageError } from '../../storage/index.js';
import { PERMANENT_EXIT_CODES } from '../../training/exit-codes.js';
import { MissingSecretError, storageOptionsFromSecret } from '../storage-credentials.js';
import type { DomainMetrics } from '../domain-metrics.js';
import { ModelType, RetrainJobType } from '../fluxora-types.js';
import { nextVersionName, trimHistory, type VersionRecord } from '../model/versions.js';
import { JobResource, MANAGED_SELECTOR, PodResource, ServiceAccountResource } from '../resource-types.js';
import { applyAcceptance, parseTrainerMetrics } from './acceptance.js';
import { followsModel, promotionOutcome } from './promotion-outcome.js';
import { datasetStepFailure, parseDatasetRecord, stepFailureMessage, type TrainerPod } from './dataset-step.js';
import { buildTrainerJob, buildTrainerServiceAccount, datasetTarget, outputPrefix, trainerJobName } from './job.js';
import { MANIFEST_FILE } from '../../training/logged-dataset.js';
import { builtDataset, uriDataset, type TrainedOn } from './trained-on.js';

interface JobState extends KubeObject {
  status?: {
    active?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

type Status = NonNullable<RetrainJob['status']>;
type Phase = NonNullable<Status['phase']>;
const TERMINAL = new Set<Phase>(['Succeeded', 'Failed', 'Rejected']);

export interface RetrainJobControllerOptions {
  manager: Manager;
  events: EventRecorder;
  logger: Logger;
  image: string;
  metrics?: DomainMetrics;
  workers?: number;
}

export function createRetrainJobController(o: RetrainJobControllerOptions): Controller<RetrainJob> {
  const { manager, events, logger } = o;
  const client = manager.client;
  const retrains = manager.informer<RetrainJob>(RetrainJobType);
  const models = manager.informer<Model>(ModelType);
  const jobs = manager.informer<JobState>(JobResource, { labelSelector: MANAGED_SELECTOR });
  const accounts = manager.informer<KubeObject>(ServiceAccountResource, { labelSelector: MANAGED_SELECTOR });

  /** Builds the next status: the phase plus the conditions that go with it. */
  function withPhase(prev: Status, phase: Phase, reason: string, message: string, generation: number, now: Date, extra: Partial<Status> = {}): Status {
    let c: Condition[] = prev.conditions ?? [];
    const done = TERMINAL.has(phase);
    const ok = phase === 'Succeeded';
    c = setCondition(c, { type: 'Ready', status: done ? (ok ? 'True' : 'False') : 'False', reason, message, observedGeneration: generation }, now);
    c = setCondition(c, { type: 'Complete', status: ok ? 'True' : 'False', reason, message, observedGeneration: generation }, now);
    c = setCondition(c, { type: 'Failed', status: phase === 'Failed' || phase === 'Rejected' ? 'True' : 'False', reason, message, observedGeneration: generation }, now);
    c = setAbnormalCondition(c, 'Reconciling', !done, reason, message, generation, now);
    c = setAbnormalCondition(c, 'Stalled', phase === 'Failed' || phase === 'Rejected', reason, message, generation, now);
    return { ...prev, ...extra, phase, observedGeneration: generation, conditions: c };
  }

  /** Adds the accepted artifact to the Model's versions (idempotent: keyed by the RetrainJob). */
  async function recordVersion(
    model: Model,
    rj: RetrainJob,
    uri: string,
    sha256: string,
    metrics: Record<string, number>,
    dataset: TrainedOn | undefined,
    now: Date,
  ): Promise<VersionRecord> {
    const source = `RetrainJob/${rj.metadata.name}`;
    const versions = [...((model.status?.versions ?? []) as VersionRecord[])];
    const existing = versions.find((v) => v.source === source);
    if (existing) return existing;
    const record: VersionRecord = {
      name: nextVersionName(versions),
      uri,
      sha256,
      source,
      metrics,
      // Lineage: the version names the data it came from; its RetrainJob (source) has the counts and the verdict that started it.
      ...(dataset ? { dataset } : {}),
      createdAt: kubeTime(now),
    };
    versions.push(record);
    const keep = new Set([record.name, ...(model.status?.servingVersion ? [model.status.servingVersion] : []), ...(model.spec.pinnedVersion ? [model.spec.pinnedVersion] : [])]);
    // resourceVersion guards against a concurrent Model status write (409 -> retried).
    models.remember(
      await patchStatus<Model>(client, ModelType, model.metadata.namespace, model.metadata.name, { ...model.status, versions: trimHistory(versions, keep) }, model.metadata.resourceVersion),
    );
    return record;
  }

  /**
   * Side effects (events, metrics) that must happen once per transition are
   * queued in `after` and run only when the status write succeeds: an attempt
   * on stale data ends in 409 and is retried without double counting.
   *
   * Reads the run's output and gates it. `retry` is set when the output could
   * not be read for a reason that may pass (the store does not answer): the
   * run stays Evaluating with the storage error, and is tried again with back-off.
   */
  async function evaluate(rj: RetrainJob, model: Model, status: Status, generation: number, now: Date, after: (() => void)[]): Promise<{ next: Status; retry?: boolean }> {
    const prefix = outputPrefix(rj);
    const modelUri = `${prefix}model.onnx`;
    let metricsText: string;
    let artifact: Buffer;
    let datasetText: string | undefined;
    try {
      const storage = await storageOptionsFromSecret(client, rj.metadata.namespace ?? '', rj.spec.output.credentialsSecretRef?.name);
      metricsText = (await readObject(`${prefix}metrics.json`, { ...storage, maxBytes: 1 << 20 })).toString('utf8');
      artifact = await readObject(modelUri, storage);
      // What the data set step built (dataset.predictionLog): the run's lineage.
      if (rj.spec.dataset.predictionLog) datasetText = (await readObject(`${prefix}${MANIFEST_FILE}`, { ...storage, maxBytes: 1 << 20 })).toString('utf8');
    } catch (e) {
      if (e instanceof MissingSecretError) return { next: withPhase(status, 'Failed', 'CredentialsNotFound', e.message, generation, now) };
      if (e instanceof StorageError && e.code !== 'Unreachable') {
        return { next: withPhase(status, 'Failed', 'OutputMissing', `the trainer succeeded but its output is unusable: ${e.message}`, generation, now) };
      }
      // The store does not answer (or another error that may pass): say so, and try again later.
      const message = `the trainer finished; reading its output at ${prefix} failed, retrying: ${(e as Error).message}`;
      return { next: withPhase(status, 'Evaluating', e instanceof StorageError ? 'OutputUnreachable' : 'EvaluationError', message, generation, now), retry: true };
    }
    let parsed;
    try {
      parsed = parseTrainerMetrics(metricsText);
    } catch (e) {
      return { next: withPhase(status, 'Failed', 'InvalidMetrics', (e as Error).message, generation, now) };
    }
    let dataset: RunDataset | undefined;
    if (datasetText !== undefined) {
      try {
        dataset = parseDatasetRecord(datasetText);
      } catch (e) {
        return { next: withPhase(status, 'Failed', 'InvalidDatasetRecord', `the trainer succeeded but the data set step's record is unusable: ${(e as Error).message}`, generation, now) };
      }
    }
    const sha256 = sha256Hex(artifact);
    const artifactStatus = { artifact: { uri: modelUri, sha256 }, metrics: parsed.metrics, ...(dataset ? { dataset } : {}) };
    const servingMetrics = (model.status?.versions ?? []).find((v) => v.name === model.status?.servingVersion)?.metrics;
    const gate = applyAcceptance(rj.spec.acceptance, parsed, servingMetrics);
    if (!gate.accepted) {
      // A metric the gate cannot read is broken trainer output (Failed), not a quality verdict (Rejected).
      return { next: withPhase(status, gate.invalid ? 'Failed' : 'Rejected', gate.reason, gate.message, generation, now, artifactStatus) };
    }
    const trainedOn = dataset ? builtDataset(dataset) : await uriDataset(client, rj, logger);
    const version = await recordVersion(model, rj, modelUri, sha256, parsed.metrics, trainedOn, now);
    const automatic = (model.spec.promotion?.policy ?? 'Automatic') === 'Automatic' && !model.spec.pinnedVersion;
    // Under Shadow or Canary the new version is a candidate: live traffic, not this gate, has the last word.
    const strategy = model.spec.promotion?.strategy ?? 'Direct';
    const analysed = strategy !== 'Direct' && !model.spec.pinnedVersion;
    const message = analysed
      ? `${gate.message}; recorded as ${version.name}, the Model's candidate: its ${strategy} analysis on live traffic decides (the Model's status.promotion)` +
        (automatic ? '' : `; with policy Manual a passing ${version.name} still waits for spec.pinnedVersion`)
      : automatic
        ? `${gate.message}; recorded as ${version.name}, which the Model now serves`
        : `${gate.message}; recorded as ${version.name}; set the Model's spec.pinnedVersion to ${version.name} to serve it`;
    after.push(() => {
      events.record(rj, 'Normal', 'Accepted', message);
      events.record(model, 'Normal', 'VersionRecorded', `recorded ${version.name} from RetrainJob ${rj.metadata.name}`);
      if (automatic && !analysed) o.metrics?.promoted(rj.metadata.namespace ?? '', model.metadata.name);
    });
    let next = withPhase(status, 'Succeeded', 'Accepted', message, generation, now, { ...artifactStatus, promotedVersion: version.name });
    next = {
      ...next,
      conditions: setCondition(next.conditions, {
        type: 'Promoted',
        status: analysed ? 'Unknown' : automatic ? 'True' : 'False',
        reason: analysed ? 'CandidateUnderAnalysis' : automatic ? 'AutomaticPromotion' : 'AwaitingManualPromotion',
        message,
        observedGeneration: generation,
      }, now),
    };
    return { next };
  }

  /**
   * Creates the trainer's ServiceAccount and Job. Undefined when the API
   * server refuses them (an over-long label, a quota, an admission policy):
   * the spec is immutable, so the run can never start and is Failed.
   */
  async function createJob(rj: RetrainJob, model: Model, name: string): Promise<JobState | { refused: string }> {
    const ns = rj.metadata.namespace ?? '';
    try {
      if (!accounts.get(ns, name)) {
        await client.create(ServiceAccountResource, buildTrainerServiceAccount(rj)).catch((e: unknown) => {
          if (!isAlreadyExists(e)) throw e;
        });
      }
      const servingUri = (model.status?.versions ?? []).find((v) => v.name === model.status?.servingVersion)?.uri;
      // A Job's template is immutable: create it once, never re-apply.
      const job = await client.create<JobState>(JobResource, buildTrainerJob(rj, model, servingUri, o.image) as JobState).catch(async (e: unknown) => {
        if (!isAlreadyExists(e)) throw e;
        return client.get<JobState>(JobResource, ns, name);
      });
      events.record(rj, 'Normal', 'JobCreated', `created Job ${name}`);
      return job;
    } catch (e) {
      if (isRefused(e)) return { refused: e.message };
      throw e;
    }
  }

  /** Why a predictionLog data set cannot be built for this Model, before any Job is created. */
  function datasetProblem(rj: RetrainJob, model: Model): { reason: string; message: string } | undefined {
    const spec = rj.spec.dataset.predictionLog;
    if (!spec) return undefined;
    if (!model.spec.serving?.predictionLog) {
      return {
        reason: 'PredictionLogNotConfigured',
        message:
          `dataset.predictionLog trains on the prediction log of Model "${model.metadata.name}", which has none: ` +
          'set spec.serving.predictionLog on the Model (and let it log traffic), or train on a file with dataset.uri',
      };
    }
    const target = datasetTarget(rj)!;
    if (model.spec.features.some((f) => f.name === target)) {
      return {
        reason: 'DatasetInvalid',
        message: `the label column of the data set, "${target}" (${rj.spec.trainer.builtin ? 'trainer.builtin.target' : 'dataset.predictionLog.labels.labelColumn'}), is also a feature of Model "${model.metadata.name}": name it differently`,
      };
    }
    return undefined;
  }

  /** Under Shadow or Canary the Model's analysis decides after the run: its Promoted condition says what it decided. */
  async function followPromotion(rj: RetrainJob, status: Status): Promise<void> {
    const promoted = getCondition(status.conditions, 'Promoted');
    const model = models.get(rj.metadata.namespace ?? '', rj.spec.modelRef.name);
    const version = status.promotedVersion;
    if (!promoted || !model || !version || !followsModel(promoted.reason, model, version)) return;
    const outcome = promotionOutcome(model, version, promoted.reason);
    if (!outcome || (outcome.reason === promoted.reason && outcome.status === promoted.status)) return;
    const next: Status = {
      ...status,
      conditions: setCondition(status.conditions, { type: 'Promoted', ...outcome, observedGeneration: rj.metadata.generation ?? 0 }, new Date()),
    };
    retrains.remember(await patchStatus<RetrainJob>(client, RetrainJobType, rj.metadata.namespace ?? '', rj.metadata.name, next, rj.metadata.resourceVersion));
    const bad = outcome.reason === 'CandidateRejected' || outcome.reason === 'RolledBack';
    events.record(rj, bad ? 'Warning' : 'Normal', outcome.reason, outcome.message);
  }

  async function reconcile(req: Request): Promise<ReconcileResult | void> {
    const rj = retrains.get(req.namespace, req.name);
    if (!rj || rj.metadata.deletionTimestamp) return; // the GC removes the Job
    o.metrics?.retrainJobSeen(req.namespace);
    const status: Status = rj.status ?? {};
    if (status.phase && TERMINAL.has(status.phase)) {
      // A finished run is a record; only an analysed version's Promoted condition still moves.
      if (status.phase === 'Succeeded') await followPromotion(rj, status);
      return;
    }
    const now = new Date();
    const generation = rj.metadata.generation ?? 0;
    const model = models.get(req.namespace, rj.spec.modelRef.name);
    const after: (() => void)[] = [];
    const name = trainerJobName(rj);
    let next: Status;
    let retry = false;
    // The Job's state decides the phase whether or not the Model still exists:
    // a run whose Job started never goes back to Pending.
    let job = jobs.get(req.namespace, name);
    const cond = (t: string) => job?.status?.conditions?.find((c) => c.type === t && c.status === 'True');
    const jobFields = () => ({ jobName: name, ...(job?.status?.startTime ? { startTime: job.status.startTime } : {}) });
    if (status.phase === 'Evaluating' || (job && cond('Complete'))) {
      // The trainer finished (its Job may since have been deleted by its TTL): evaluate its output.
      const base = { ...status, ...(job ? jobFields() : {}) };
      if (!model) {
        next = withPhase(base, 'Failed', 'ModelNotFound', `the training Job ${name} finished, but Model "${rj.spec.modelRef.name}" no longer exists: there is no Model to record a version in (the output stays at ${outputPrefix(rj)})`, generation, now);
      } else {
        const r = await evaluate(rj, model, base, generation, now, after);
        next = r.next;
        retry = r.retry ?? false;
      }
      if (TERMINAL.has(next.phase!)) next = { ...next, completionTime: job?.status?.completionTime ?? kubeTime(now) };
    } else if (job && cond('Failed')) {
      const failed = cond('Failed')!;
      // The data set step (dataset.predictionLog) failed: its exit code and line say why, and which reason.
      const step = rj.spec.dataset.predictionLog
        ? datasetStepFailure(await client.list<KubeObject & TrainerPod>(PodResource, req.namespace, `fluxora.io/retrain-job=${rj.metadata.name}`), failed.message)
        : undefined;
      // PodFailurePolicy otherwise: the built-in trainer exited with a code that says its input is bad,
      // so the run ended without retries; its log says what is wrong.
      const badInput = failed.reason === 'PodFailurePolicy';
      const msg = step
        ? stepFailureMessage(step, { namespace: req.namespace, job: name })
        : badInput
          ? `the trainer refused its input and was not retried (${failed.message ?? `exit code ${PERMANENT_EXIT_CODES.join(' or ')}`}); \`kubectl logs -n ${req.namespace} job/${name}\` says why`
          : `training Job failed (${failed.reason ?? 'Failed'}): ${failed.message ?? ''}`.trim();
      const reason = step?.reason ?? (badInput ? 'InvalidInput' : (failed.reason ?? 'JobFailed'));
      next = withPhase(status, 'Failed', reason, msg, generation, now, { ...jobFields(), completionTime: kubeTime(now) });
    } else if (job && (job.status?.active ?? 0) > 0) {
      next = withPhase(status, 'Running', 'Training', `training Job ${name} is running`, generation, now, jobFields());
    } else if (job) {
      next = withPhase(status, 'Pending', 'JobPending', `waiting for training Job ${name} to start`, generation, now, jobFields());
    } else if (!model) {
      next = withPhase(status, 'Pending', 'ModelNotFound', `Model "${rj.spec.modelRef.name}" does not exist; the run starts when it does`, generation, now);
    } else {
      // Nothing to build the data set from (or into): fail before any Job, since the spec cannot change.
      const problem = datasetProblem(rj, model);
      if (problem) {
        next = withPhase(status, 'Failed', problem.reason, problem.message, generation, now, { completionTime: kubeTime(now) });
      } else {
        const created = await createJob(rj, model, name);
        if ('refused' in created) {
          next = withPhase(status, 'Failed', 'ChildRejected', `the API server refused the training Job ${name}: ${created.refused}`, generation, now, { completionTime: kubeTime(now) });
        } else {
          job = created;
          next = withPhase(status, 'Pending', 'JobPending', `waiting for training Job ${name} to start`, generation, now, jobFields());
        }
      }
    }
    const phase = next.phase;
    if (phase && TERMINAL.has(phase)) {
      const ready = next.conditions?.find((c) => c.type === 'Ready');
      after.push(() => {
        // Every failed or rejected run says so in `kubectl describe` and `kubectl get events`, whatever the cause.
        if (phase !== 'Succeeded' && ready) events.record(rj, 'Warning', ready.reason, ready.message);
        const started = Date.parse(next.startTime ?? rj.metadata.creationTimestamp ?? '');
        o.metrics?.retrainFinished(rj.metadata.namespace ?? '', phase, Number.isFinite(started) ? (now.getTime() - started) / 1000 : undefined);
        logger.info({ kind: 'RetrainJob', namespace: req.namespace, name: req.name, phase, version: next.promotedVersion }, 'retrain finished');
      });
    }
    if (!isDeepStrictEqual(next, status)) {
      retrains.remember(await patchStatus<RetrainJob>(client, RetrainJobType, req.namespace, req.name, next, rj.metadata.resourceVersion));
      for (const f of after) f();
    }
    // The store did not answer: the status says so, and the reconcile fails
    // like any other (error metric, back-off), so FluxoraReconcileErrors tells
    // an operator whose RetrainJobs cannot reach their output store.
    if (retry) throw new Error(getCondition(next.conditions, 'Ready')?.message ?? 'evaluation failed; retrying');
    return undefined;
  }

  const controller = new Controller<RetrainJob>({
    name: 'retrainjob',
    primary: retrains,
    owns: [jobs, accounts],
    watches: [
      {
        informer: models,
        map: (m: KubeObject) =>
          retrains
            .list(m.metadata.namespace)
            .filter(
              (r) =>
                r.spec.modelRef.name === m.metadata.name &&
                (!TERMINAL.has(r.status?.phase ?? 'Pending') ||
                  (r.status?.phase === 'Succeeded' && followsModel(getCondition(r.status.conditions, 'Promoted')?.reason, m as Model, r.status.promotedVersion))),
            )
            .map((r) => ({ namespace: r.metadata.namespace ?? '', name: r.metadata.name })),
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
