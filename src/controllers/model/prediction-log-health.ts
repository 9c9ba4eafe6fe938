// The PredictionLogLosing condition of a Model with spec.serving.predictionLog:
// whether its serving pods keep losing prediction-log records, from what each
// ready pod reports on its admin port (GET /v2/models/<name>/prediction-log,
// `losing` = a record dropped or failed within the last 5 minutes). Pure
// logic; the Model controller asks the pods (pod-admin.ts) and writes the
// result.
//
// The condition is separate from Ready and Degraded on purpose: a pod that
// loses log records still answers every inference, so serving is not
// degraded, and GitOps health (which reads Ready/Stalled) stays Healthy.
//
//   True     some ready pod is losing records: WritesFailing (the store
//            refuses or does not answer the writes) or RecordsDropped (the
//            buffer overflowed while writes succeed)
//   False    NoLoss: every pod that answered lost nothing lately
//   Unknown  NoReadyPods, or NotReported (no ready pod answered)
//
// Messages carry only what changes with a loss (counts, the last error and
// loss time), never the written count, so a steady state rewrites nothing.
import { setCondition, removeCondition, type Condition } from '../../runtime/conditions.js';
import type { PredictionLogStatus } from '../../serving/prediction-log.js';
import { LOSS_WINDOW_MS } from '../../serving/admin-paths.js';

export const PREDICTION_LOG_LOSING = 'PredictionLogLosing';

/** What the condition needs of a pod's report. */
export type PodLogStatus = Pick<PredictionLogStatus, 'dropped' | 'failed' | 'lastWriteTime' | 'lastLossTime' | 'lastError' | 'losing'>;

/** One ready pod: its log's state, the log being off in it (an older pod of a rollout), or no usable answer. */
export type PodLogReport =
  | { pod: string; state: 'reported'; status: PodLogStatus }
  | { pod: string; state: 'disabled' }
  | { pod: string; state: 'silent'; error: string };

export interface LogVerdict {
  status: 'True' | 'False' | 'Unknown';
  reason: 'WritesFailing' | 'RecordsDropped' | 'NoLoss' | 'NoReadyPods' | 'NotReported';
  message: string;
}

/** Most pods named in a message; the rest are counted. */
const MAX_PODS_NAMED = 5;
const MAX_ERROR_CHARS = 300;
const WINDOW_MINUTES = LOSS_WINDOW_MS / 60_000;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const optionalString = (v: unknown): v is string | undefined => v === undefined || typeof v === 'string';

/**
 * A pod's answer, checked: the fields the condition reads must have their
 * types, or the answer counts as none (a pod running another program on the
 * port must not make up a loss).
 */
export function parsePodLogStatus(json: unknown): { enabled: false } | { enabled: true; status: PodLogStatus } {
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  if (o.enabled === false) return { enabled: false };
  const { dropped, failed, lastWriteTime, lastLossTime, lastError, losing } = o;
  if (o.enabled !== true || !isCount(dropped) || !isCount(failed) || typeof losing !== 'boolean' || !optionalString(lastWriteTime) || !optionalString(lastLossTime) || !optionalString(lastError)) {
    throw new Error('not a prediction-log status (expected enabled, dropped, failed and losing)');
  }
  return {
    enabled: true,
    status: {
      dropped,
      failed,
      losing,
      ...(lastWriteTime !== undefined ? { lastWriteTime } : {}),
      ...(lastLossTime !== undefined ? { lastLossTime } : {}),
      ...(lastError !== undefined ? { lastError } : {}),
    },
  };
}

const clip = (s: string, n = MAX_ERROR_CHARS) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * A pod whose writes failed and now succeed: no write error is pending and
 * the last successful write came after the last loss. (Drops come between
 * successful writes, so this says nothing about a pod that only dropped.)
 */
const recovered = (s: PodLogStatus) =>
  s.failed > 0 && s.lastError === undefined && s.lastWriteTime !== undefined && s.lastLossTime !== undefined && s.lastWriteTime > s.lastLossTime;

function describeLosingPod(pod: string, s: PodLogStatus): string {
  const parts = [`${s.dropped} dropped, ${s.failed} failed since the server started`];
  if (s.lastLossTime) parts.push(`last loss ${s.lastLossTime}`);
  if (s.lastError) parts.push(`last error: ${clip(s.lastError)}`);
  else if (recovered(s)) parts.push(`writes succeed again since ${s.lastWriteTime}`);
  return `pod ${pod} (${parts.join('; ')})`;
}

function named<T>(items: readonly T[], show: (t: T) => string): string {
  const shown = items.slice(0, MAX_PODS_NAMED).map(show).join(', ');
  return items.length > MAX_PODS_NAMED ? `${shown} and ${items.length - MAX_PODS_NAMED} more` : shown;
}

/** "1 ready pod did not answer (pod x: cannot connect (ECONNREFUSED))", or "" when all did. */
function silentNote(silent: readonly Extract<PodLogReport, { state: 'silent' }>[]): string {
  if (silent.length === 0) return '';
  const n = silent.length;
  return ` ${n} ready pod${n === 1 ? '' : 's'} did not answer on the admin port and ${n === 1 ? 'is' : 'are'} not counted (${named(silent, (p) => `${p.pod}: ${clip(p.error, 120)}`)}).`;
}

function disabledNote(disabled: readonly PodLogReport[]): string {
  if (disabled.length === 0) return '';
  const n = disabled.length;
  return ` ${n} ready pod${n === 1 ? ' runs' : 's run'} without the prediction log (a rollout not finished yet).`;
}

export interface VerdictContext {
  /** spec.serving.predictionLog.uri, named in the advice. */
  uri: string;
  /** spec.serving.predictionLog.maxBufferedRecords (its default when unset). */
  maxBufferedRecords: number;
}

/** The condition for the pods' reports (the ready pods of the Model, one report each). */
export function predictionLogVerdict(reports: readonly PodLogReport[], ctx: VerdictContext): LogVerdict {
  const sorted = [...reports].sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
  const reported = sorted.filter((r): r is Extract<PodLogReport, { state: 'reported' }> => r.state === 'reported');
  const silent = sorted.filter((r): r is Extract<PodLogReport, { state: 'silent' }> => r.state === 'silent');
  const disabled = sorted.filter((r) => r.state === 'disabled');
  const notes = `${silentNote(silent)}${disabledNote(disabled)}`;

  if (sorted.length === 0) {
    return { status: 'Unknown', reason: 'NoReadyPods', message: 'no ready serving pod to ask for its prediction log' };
  }
  const losing = reported.filter((r) => r.status.losing);
  if (losing.length > 0) {
    // WritesFailing while a losing pod's writes fail now, or when its losses were failed writes only (now
    // recovering); RecordsDropped when writes succeed and the buffer overflowed.
    const failing = losing.some((r) => r.status.lastError !== undefined) || !losing.some((r) => r.status.dropped > 0);
    const of = `${losing.length} of ${sorted.length} ready pod${sorted.length === 1 ? '' : 's'}`;
    const head = `${of} lost prediction-log records in the last ${WINDOW_MINUTES} minutes: ${named(losing, (r) => describeLosingPod(r.pod, r.status))}.`;
    let advice: string;
    if (!failing) {
      advice =
        ` The buffer of maxBufferedRecords (${ctx.maxBufferedRecords}) requests per serving process was full: the store takes records slower than they arrive.` +
        ` Raise spec.serving.predictionLog.maxBufferedRecords (and the pods' memory), lower sampleRate, or look at the store's latency.` +
        ` The condition clears ${WINDOW_MINUTES} minutes after the last drop.`;
    } else if (losing.every((r) => recovered(r.status))) {
      advice = ` Writes to ${ctx.uri} failed and succeed again; the condition clears ${WINDOW_MINUTES} minutes after the last loss.`;
    } else {
      advice =
        ` Writes to ${ctx.uri} fail: check that the bucket exists and is reachable from the pods, and that the credentials` +
        ` (predictionLog.credentialsSecretRef, else the artifact's) allow s3:PutObject there; pods read their credentials at start, so restart them after changing the Secret.`;
    }
    return { status: 'True', reason: failing ? 'WritesFailing' : 'RecordsDropped', message: `${head}${advice}${notes}` };
  }
  if (reported.length > 0) {
    const n = sorted.length;
    const of = reported.length < n ? `${reported.length} of ${n} ready pods` : n === 1 ? 'the ready pod' : `any of the ${n} ready pods`;
    return { status: 'False', reason: 'NoLoss', message: `no prediction-log record lost in the last ${WINDOW_MINUTES} minutes on ${of}.${notes}` };
  }
  const why = silent.length > 0
    ? ' The operator reads port 8081 of each ready pod: check that no NetworkPolicy keeps it out.'
    : '';
  return { status: 'Unknown', reason: 'NotReported', message: `no ready pod reported its prediction log.${why}${notes}` };
}

/**
 * The Model's conditions with the verdict applied. Without a verdict (the
 * Model has no prediction log) the condition goes away. A Model whose pods
 * were never asked successfully gets no NoReadyPods condition: "Unknown" is
 * news only after something was known.
 */
export function withPredictionLogCondition(conditions: readonly Condition[] | undefined, verdict: LogVerdict | undefined, generation: number, now: Date): Condition[] {
  if (!verdict) return removeCondition(conditions, PREDICTION_LOG_LOSING);
  const present = conditions?.some((c) => c.type === PREDICTION_LOG_LOSING) ?? false;
  if (verdict.reason === 'NoReadyPods' && !present) return [...(conditions ?? [])];
  return setCondition(conditions, { type: PREDICTION_LOG_LOSING, ...verdict, observedGeneration: generation }, now);
}
