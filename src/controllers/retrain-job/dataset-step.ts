// The data set step of a RetrainJob trained on the prediction log, as the
// controller sees it: why the step failed (from the init container's exit
// code and termination message, src/cli/dataset-build-command.ts), and what
// it built (dataset.json, recorded in status). Pure logic, no I/O.
import { RunDatasetSchema, type RunDataset } from '../../api/index.js';
import { EXIT_DATASET_TOO_SMALL, EXIT_USAGE } from '../../training/exit-codes.js';
import { DATASET_CONTAINER } from './job.js';

interface Terminated {
  exitCode?: number;
  reason?: string;
  message?: string;
  finishedAt?: string;
}

/** A trainer pod as far as this module reads it. */
export interface TrainerPod {
  metadata: { name: string; creationTimestamp?: string };
  status?: {
    phase?: string;
    initContainerStatuses?: { name: string; state?: { terminated?: Terminated }; lastState?: { terminated?: Terminated } }[];
  };
}

export interface StepFailure {
  reason: 'DatasetTooSmall' | 'DatasetUnreadable' | 'DatasetInvalid' | 'DatasetTooLarge';
  exitCode: number;
  /** The step's own line (its termination message), when the pod still has it. */
  detail?: string;
}

/** The reason a dataset-build exit code stands for. */
export function datasetFailureReason(exitCode: number): StepFailure['reason'] {
  if (exitCode === EXIT_DATASET_TOO_SMALL) return 'DatasetTooSmall';
  if (exitCode === EXIT_USAGE) return 'DatasetInvalid';
  // 3: denied, no such bucket, a bad URI; 1 (after backoffLimit retries): unreachable.
  return 'DatasetUnreadable';
}

/**
 * Whether the Job failed in its data set step. The newest failed pod decides
 * (an earlier pod's passing store outage followed by a trainer failure is a
 * trainer failure); without pods (already collected) the Job's own failure
 * message still names the container and exit code when the podFailurePolicy
 * ended it ("Container dataset for pod ns/p failed with exit code 4 ...").
 */
export function datasetStepFailure(pods: readonly TrainerPod[], jobFailureMessage: string | undefined): StepFailure | undefined {
  const failed = pods.filter((p) => p.status?.phase === 'Failed').sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
  const newest = failed.at(-1);
  if (newest) {
    const status = newest.status?.initContainerStatuses?.find((c) => c.name === DATASET_CONTAINER);
    const t = status?.state?.terminated ?? status?.lastState?.terminated;
    if (t?.exitCode === undefined || t.exitCode === 0) return undefined;
    // The kernel stopped it: the window did not fit in the container's memory.
    if (t.reason === 'OOMKilled') return { reason: 'DatasetTooLarge', exitCode: t.exitCode };
    // Stopped by a signal (the Job's deadline, a deletion): the Job's own reason says why, not the step.
    if (t.exitCode >= 128) return undefined;
    const detail = t.message?.trim();
    return { reason: datasetFailureReason(t.exitCode), exitCode: t.exitCode, ...(detail ? { detail } : {}) };
  }
  const m = new RegExp(`Container ${DATASET_CONTAINER} for pod \\S+ failed with exit code (\\d+)`).exec(jobFailureMessage ?? '');
  if (!m) return undefined;
  const exitCode = Number(m[1]);
  return { reason: datasetFailureReason(exitCode), exitCode };
}

/** The condition message of a failed data set step. */
export function stepFailureMessage(f: StepFailure, ctx: { namespace: string; job: string }): string {
  const what = {
    DatasetTooSmall: 'the prediction log holds too few labelled rows to train on',
    DatasetInvalid: 'the data set step refused its settings',
    DatasetUnreadable: 'the data set step could not read the prediction log or the labels',
    DatasetTooLarge: 'the data set step ran out of memory holding the window (OOMKilled): shorten dataset.predictionLog.window',
  }[f.reason];
  const logs = `\`kubectl logs -n ${ctx.namespace} job/${ctx.job} -c ${DATASET_CONTAINER}\``;
  return f.detail ? `${what}: ${f.detail} (${logs})` : `${what} (exit code ${f.exitCode}); ${logs} says why`;
}

/** dataset.json as status.dataset: the recorded fields, checked; an Error with the first problem otherwise. */
export function parseDatasetRecord(text: string): RunDataset {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`dataset.json is not valid JSON: ${(e as Error).message}`);
  }
  const r = RunDatasetSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`dataset.json: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return r.data;
}
