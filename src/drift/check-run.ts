// One drift check, as the DriftMonitor's CronJob runs it: read the monitor
// and its Model, load the reference data set, gather the current window
// (serving pods' samples or a data set), run the engine, and write the
// verdict to the monitor's status through the status subresource.
import type { DriftMonitor, DriftMonitorStatus, Model } from '../api/index.js';
import { DriftMonitorType, ModelType } from '../controllers/fluxora-types.js';
import { SecretResource } from '../controllers/resource-types.js';
import { samplesSecretName, SAMPLES_TOKEN_KEY } from '../controllers/model/children.js';
import { EventRecorder } from '../runtime/events.js';
import { isConflict, resourcePath, type KubeClient } from '../runtime/kube-client.js';
import { readObject } from '../storage/index.js';
import { decodeTableText, formatFromName, MAX_TABLE_BYTES, parseTable } from '../table/index.js';
import type { Logger } from 'pino';
import { gatherServingSamples, rowsToColumns } from './check-samples.js';
import { failedCheckStatus, insufficientSamplesStatus, verdictStatus } from './check-status.js';
import { computeDrift } from './compute.js';
import { evaluatePerformance } from './performance-check.js';
import { judgementOf, performanceVerdictStatus, withPerformance, type PerformancePart } from './performance-status.js';
import type { FeatureSpec, Table } from './types.js';

export interface CheckOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  logger: Logger;
  addressMap?: ReadonlyMap<string, string>;
  now?: () => Date;
}

export type CheckOutcome =
  | { result: 'drift' | 'no_drift'; status: DriftMonitorStatus }
  | { result: 'insufficient_samples'; status: DriftMonitorStatus }
  | { result: 'failed'; reason: string; message: string };

export class CheckError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = 'CheckError';
  }
}

/**
 * A data set that could not be read or parsed. Storage and table errors lead
 * with the URI already ("s3://b/ref.csv does not exist", "s3://b/ref.csv:3:
 * ..."): it is named once, after the data set's role; other errors get it.
 */
export function dataSetError(reason: string, role: 'reference' | 'current', uri: string, e: unknown): CheckError {
  const message = e instanceof Error ? e.message : String(e);
  return new CheckError(reason, message.includes(uri) ? `${role}: ${message}` : `${role} ${uri}: ${message}`);
}

export async function loadDataSet(uri: string, features: readonly FeatureSpec[]) {
  const text = decodeTableText(await readObject(uri, { maxBytes: MAX_TABLE_BYTES }), uri);
  const format = formatFromName(uri.replace(/\?.*$/, '')) ?? 'csv';
  return parseTable(text, uri, format, { columns: features.map((f) => f.name), types: new Map(features.map((f) => [f.name, f.type])) });
}

/**
 * Writes status with optimistic concurrency, re-reading on conflict (the operator may write too).
 * A top-level field `build` leaves out is removed (null in the merge patch).
 */
async function writeStatus(client: KubeClient, ns: string, name: string, build: (prev: DriftMonitorStatus) => DriftMonitorStatus) {
  for (let attempt = 0; ; attempt++) {
    const m = await client.get<DriftMonitor>(DriftMonitorType, ns, name);
    const prev = m.status ?? {};
    const next = build(prev);
    const removed = Object.fromEntries(Object.keys(prev).filter((k) => !(k in next)).map((k) => [k, null]));
    try {
      await client.request('PATCH', resourcePath(DriftMonitorType, ns, name, 'status'), {
        body: { metadata: { resourceVersion: m.metadata.resourceVersion }, status: { ...removed, ...next } },
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
    const overrides = new Map((m.spec.features ?? []).map((f) => [f.name, f]));
    const features: FeatureSpec[] = model.spec.features.map((f) => ({
      name: f.name,
      type: f.type,
      method: overrides.get(f.name)?.method ?? 'auto',
      ...(overrides.get(f.name)?.threshold !== undefined ? { threshold: overrides.get(f.name)!.threshold } : {}),
    }));
    const reference = (
      await loadDataSet(m.spec.reference.uri, features).catch((e: unknown) => {
        throw dataSetError('ReferenceUnreadable', 'reference', m.spec.reference.uri, e);
      })
    ).columns;

    let current: Table;
    let sampleCount: number;
    if (m.spec.current.uri) {
      const uri = m.spec.current.uri;
      const loaded = await loadDataSet(uri, features).catch((e: unknown) => {
        throw dataSetError('CurrentUnreadable', 'current', uri, e);
      });
      current = loaded.columns;
      sampleCount = loaded.rows;
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
    const perf: PerformancePart = {
      spec: m.spec.performance,
      evaluation: m.spec.performance ? await evaluatePerformance({ spec: m.spec.performance, model, now, logger }) : undefined,
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
      // Too few samples for a drift verdict; a performance verdict is still the check's verdict.
      const build = (prev: DriftMonitorStatus) =>
        judged?.verdict
          ? performanceVerdictStatus(insufficientSamplesStatus(prev, sampleCount, min, generation, now), prev, perf)
          : withPerformance(insufficientSamplesStatus(prev, sampleCount, min, generation, now), prev, perf, false);
      let status: DriftMonitorStatus = {};
      await writeStatus(client, namespace, name, (prev) => (status = build(prev)));
      recordPerformance();
      logger.info({ sampleCount, minSamples: min, performanceVerdict: judged?.verdict ?? false }, 'too few samples: no drift verdict');
      return { result: 'insufficient_samples', status };
    }

    const report = computeDrift({ reference, current, features, datasetDriftShare: m.spec.datasetDriftShare });
    let status: DriftMonitorStatus = {};
    await writeStatus(client, namespace, name, (prev) => (status = withPerformance(verdictStatus(prev, report, sampleCount, generation, now), prev, perf, true)));
    events.record(m, report.datasetDrift ? 'Warning' : 'Normal', report.datasetDrift ? 'DriftDetected' : 'NoDrift', status.conditions?.find((c) => c.type === 'DriftDetected')?.message ?? '');
    recordPerformance();
    logger.info({ driftShare: report.driftShare, driftDetected: report.datasetDrift, sampleCount, performanceDegraded: judged?.degraded }, 'drift check finished');
    return { result: report.datasetDrift ? 'drift' : 'no_drift', status };
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
