// One drift check, as the DriftMonitor's CronJob runs it: read the monitor
// and its Model, load the reference data set, gather the current window
// (serving pods' samples, the prediction log, or a data set), run the engine
// on the features and on the monitored outputs, judge the logged predictions
// against labels (spec.performance), and write the verdict to the monitor's
// status through the status subresource.
import type { DriftMonitor, DriftMonitorStatus, Model } from '../api/index.js';
import { DriftMonitorType, ModelType } from '../controllers/fluxora-types.js';
import { SecretResource } from '../controllers/resource-types.js';
import { samplesSecretName, SAMPLES_TOKEN_KEY } from '../controllers/model/children.js';
import { EventRecorder } from '../runtime/events.js';
import { isConflict, resourcePath, type KubeClient } from '../runtime/kube-client.js';
import { predictionLogS3Options } from '../serving/prediction-log-credentials.js';
import type { S3Options } from '../storage/index.js';
import type { Logger } from 'pino';
import { gatherServingSamples, rowsToColumns } from './check-samples.js';
import { failedCheckStatus, insufficientSamplesStatus, verdictStatus } from './check-status.js';
import { computeDrift } from './compute.js';
import { CheckError, checkedColumns, dataSetError, loadDataSet, loadReference } from './check-data.js';
import { readLogCurrent } from './check-log.js';
import { evaluatePerformance } from './performance-check.js';
import { judgementOf, performanceVerdictStatus, withPerformance, type PerformancePart } from './performance-status.js';
import type { Table } from './types.js';
import { referenceStatus, resolveReference } from '../controllers/drift-monitor/reference.js';
import { streakBase } from './streak.js';

export interface CheckOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  logger: Logger;
  addressMap?: ReadonlyMap<string, string>;
  now?: () => Date;
  /** S3 settings for the prediction log; default: the FLUXORA_PREDICTION_LOG_* variables the CronJob pod gets. */
  predictionLogS3?: S3Options;
}

export type CheckOutcome =
  | { result: 'drift' | 'no_drift'; status: DriftMonitorStatus }
  | { result: 'insufficient_samples'; status: DriftMonitorStatus }
  | { result: 'failed'; reason: string; message: string };

export { CheckError, dataSetError, loadDataSet } from './check-data.js';

/** The whole new status as a merge patch: a field it no longer has (status.outputs after spec.outputs went) is removed with null. */
function mergePatchOf(prev: DriftMonitorStatus, next: DriftMonitorStatus): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  for (const k of Object.keys(prev)) if (next[k as keyof DriftMonitorStatus] === undefined) patch[k] = null;
  return patch;
}

/** Writes status with optimistic concurrency, re-reading on conflict (the operator may write too). */
async function writeStatus(client: KubeClient, ns: string, name: string, build: (prev: DriftMonitorStatus) => DriftMonitorStatus) {
  for (let attempt = 0; ; attempt++) {
    const m = await client.get<DriftMonitor>(DriftMonitorType, ns, name);
    try {
      await client.request('PATCH', resourcePath(DriftMonitorType, ns, name, 'status'), {
        body: { metadata: { resourceVersion: m.metadata.resourceVersion }, status: mergePatchOf(m.status ?? {}, build(m.status ?? {})) },
        contentType: 'application/merge-patch+json',
      });
      return m;
    } catch (e) {
      if (!isConflict(e) || attempt >= 5) throw e;
    }
  }
}

export async function runDriftCheck(o: CheckOptions): Promise<CheckOutcome> {
  const { client, namespace, name, logger } = o;
  const now = (o.now ?? (() => new Date()))();
  const events = new EventRecorder(client, 'fluxora-drift-check', logger);
  let monitor: DriftMonitor | undefined;
  try {
    monitor = await client.get<DriftMonitor>(DriftMonitorType, namespace, name);
    const m = monitor;
    const generation = m.metadata.generation ?? 0;
    const model = await client.getOrUndefined<Model>(ModelType, namespace, m.spec.modelRef.name);
    if (!model) throw new CheckError('ModelNotFound', `Model "${m.spec.modelRef.name}" does not exist`);
    const columns = checkedColumns(m, model);
    const { features, outputs } = columns;
    // reference.fromServingVersion: the data set of the version serving now (a missing one is a failed check).
    const ref = resolveReference(m, model);
    if (!ref.ok) throw new CheckError(ref.reason, ref.message);
    const reference = (await loadReference(ref.uri, columns, ref)).columns;
    // Verdicts count toward the streak of the version that serves now (streak.ts).
    const servingVersion = model.status?.servingVersion;

    let current: Table;
    let sampleCount: number;
    // Where too few rows were found, and what the log reader skipped (for messages).
    let found: string | undefined;
    let skipped = '';
    if (m.spec.current.uri) {
      const uri = m.spec.current.uri;
      const loaded = await loadDataSet(uri, [...features, ...outputs]).catch((e: unknown) => {
        throw dataSetError('CurrentUnreadable', 'current', uri, e);
      });
      current = loaded.columns;
      sampleCount = loaded.rows;
    } else if (m.spec.current.source === 'PredictionLog') {
      const s3 = o.predictionLogS3 ?? predictionLogS3Options();
      const log = await readLogCurrent({ monitor: m, model, columns, now, ...(s3 ? { s3 } : {}) });
      current = log.columns;
      sampleCount = log.rows;
      found = `rows in the prediction log ${log.prefix} within the last ${log.window} (current.window)`;
      skipped = log.skipped;
      if (log.skippedCount > 0) {
        logger.warn({ skipped: log.skippedCount, summary: log.skipped }, 'prediction log records skipped');
        events.record(m, 'Warning', 'PredictionLogRecordsSkipped', log.skipped);
      }
    } else {
      const secret = await client.get<{ apiVersion: string; kind: string; metadata: { name: string }; data?: Record<string, string> }>(SecretResource, namespace, samplesSecretName(model));
      const token = Buffer.from(secret.data?.[SAMPLES_TOKEN_KEY] ?? '', 'base64').toString('utf8');
      const gathered = await gatherServingSamples({ client, namespace, model: model.metadata.name, token, maxSamples: m.spec.current.maxSamples, addressMap: o.addressMap });
      if (gathered.errors.length) logger.warn({ errors: gathered.errors }, 'some serving pods did not answer');
      if (gathered.pods > 0 && gathered.errors.length === gathered.pods) {
        throw new CheckError('SamplesUnavailable', `no serving pod answered: ${gathered.errors.join('; ')}`);
      }
      sampleCount = gathered.rows.length;
      current = rowsToColumns(gathered.rows, features);
    }

    // Realized performance (spec.performance): its own part, judged beside the drift verdict (performance-status.ts).
    const logS3 = o.predictionLogS3 ?? predictionLogS3Options();
    const perf: PerformancePart = {
      spec: m.spec.performance,
      evaluation: m.spec.performance ? await evaluatePerformance({ spec: m.spec.performance, model, now, logger, ...(logS3 ? { logS3 } : {}) }) : undefined,
      model: model.metadata.name,
      generation,
      now,
    };
    const judged = judgementOf(perf);
    const recordPerformance = () => {
      if (judged?.degraded) events.record(m, 'Warning', 'PerformanceDegraded', judged.condition.message);
      else if (perf.evaluation?.kind === 'failed') events.record(m, 'Warning', perf.evaluation.reason, perf.evaluation.message);
    };

    if (!m.spec.current.uri && sampleCount < m.spec.current.minSamples) {
      const min = m.spec.current.minSamples;
      const why = { ...(found ? { found } : {}), ...(skipped ? { note: skipped } : {}) };
      // Too few samples for a drift verdict; a performance verdict is still the check's verdict.
      const build = (prev: DriftMonitorStatus) => {
        if (!judged?.verdict) return withPerformance(insufficientSamplesStatus(prev, sampleCount, min, generation, now, why), prev, perf, false);
        const base = streakBase(prev, servingVersion);
        return performanceVerdictStatus(insufficientSamplesStatus(base, sampleCount, min, generation, now, why), base, perf);
      };
      let status: DriftMonitorStatus = {};
      await writeStatus(client, namespace, name, (prev) => (status = build(prev)));
      recordPerformance();
      logger.info({ sampleCount, minSamples: min, performanceVerdict: judged?.verdict ?? false }, 'too few samples: no drift verdict');
      return { result: 'insufficient_samples', status };
    }

    const report = computeDrift({ reference, current, features, datasetDriftShare: m.spec.datasetDriftShare });
    // Outputs are judged one by one (any drifted output is drift); the share does not apply to them.
    const outputReport = outputs.length ? computeDrift({ reference, current, features: outputs }) : undefined;
    const extras = { ...(outputReport ? { outputs: outputReport } : {}), ...(skipped ? { note: skipped } : {}) };
    let status: DriftMonitorStatus = {};
    await writeStatus(client, namespace, name, (prev) => {
      const base = { ...streakBase(prev, servingVersion), reference: referenceStatus(ref) };
      return (status = withPerformance(verdictStatus(base, report, sampleCount, generation, now, extras), base, perf, true));
    });
    const drifted = status.driftDetected === true;
    events.record(m, drifted ? 'Warning' : 'Normal', drifted ? 'DriftDetected' : 'NoDrift', status.conditions?.find((c) => c.type === 'DriftDetected')?.message ?? '');
    recordPerformance();
    logger.info(
      { driftShare: report.driftShare, datasetDrift: report.datasetDrift, predictionDrift: status.predictionDrift, driftDetected: drifted, sampleCount, performanceDegraded: judged?.degraded },
      'drift check finished',
    );
    return { result: drifted ? 'drift' : 'no_drift', status };
  } catch (e) {
    const reason = e instanceof CheckError ? e.reason : 'CheckFailed';
    const message = (e as Error).message;
    logger.error({ reason, err: e }, 'drift check failed');
    if (monitor) {
      const generation = monitor.metadata.generation ?? 0;
      await writeStatus(client, namespace, name, (prev) => failedCheckStatus(prev, reason, message, generation, now)).catch((err: unknown) =>
        logger.error({ err }, 'could not record the failure in status'),
      );
      events.record(monitor, 'Warning', reason, message);
    }
    return { result: 'failed', reason, message };
  } finally {
    await events.flush();
  }
}
