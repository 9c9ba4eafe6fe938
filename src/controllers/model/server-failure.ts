// Why a Model's server pods keep failing, from their container states. When
// `fluxora serve` cannot load the model it writes "<reason>: <message>"
// (NotFound, AccessDenied, ChecksumMismatch, InvalidModel, ...) to its
// termination log, and the kubelet copies that into the container's state;
// without it a bad artifact would show only as a rollout that never finishes
// (RolloutStuck after the Deployment's 10-minute progress deadline), with the
// reason in pod logs. The same holds for a pod that never gets to run the
// server: not schedulable (PodScheduled=False, Unschedulable), or its
// container stuck waiting in a state that does not pass by itself
// (ImagePullBackOff, CreateContainerConfigError, ...). Pure logic over the
// pods the Model controller lists.
import type { KubeObject } from '../../runtime/kube-client.js';
import { MODEL_VERSION_ENV, SERVER_CONTAINER } from './children.js';

interface Terminated {
  exitCode: number;
  reason?: string;
  message?: string;
}

/**
 * Container waiting reasons that mean the server cannot start until someone
 * acts, by the Model condition reason they are reported under. Others
 * (ContainerCreating, PodInitializing) are normal steps of a start.
 */
const BLOCKING_WAITING_REASONS: Record<string, string> = {
  ErrImagePull: 'ImagePullFailed',
  ImagePullBackOff: 'ImagePullFailed',
  ErrImageNeverPull: 'ImagePullFailed',
  InvalidImageName: 'ImagePullFailed',
  CreateContainerConfigError: 'ContainerConfigError',
  CreateContainerError: 'ContainerConfigError',
  RunContainerError: 'ContainerConfigError',
  // A crash loop whose last run the kubelet no longer reports: the waiting message is all there is.
  CrashLoopBackOff: 'ServingFailed',
};

/** Why a pod's server is not starting although it has not exited: unschedulable, or waiting in a blocking state. */
export interface Blocked {
  /** The Model condition reason: Unschedulable, ImagePullFailed, ContainerConfigError or ServingFailed. */
  reason: string;
  /** The kubelet's or the scheduler's reason and message. */
  message: string;
}

/** What the status needs of a serving pod. */
export interface ServerPod {
  name: string;
  /** Being deleted: its state is no longer news. */
  deleting: boolean;
  /** FLUXORA_MODEL_VERSION of its server container: which version the pod runs. */
  version?: string;
  /** The server container's latest failed run, while it is failing (waiting to restart, or terminated). */
  failed?: Terminated;
  /** The server never ran: the pod cannot be scheduled, or its container waits in a state that needs a person. */
  blocked?: Blocked;
}

interface PodLike extends KubeObject {
  spec?: { containers?: { name: string; env?: { name: string; value?: string }[] }[] };
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: {
      name: string;
      state?: { waiting?: { reason?: string; message?: string }; running?: object; terminated?: Terminated };
      lastState?: { terminated?: Terminated };
    }[];
  };
}

/** A serving pod reduced to its version and its server's failure, if failing. */
export function summarizeServerPod(obj: KubeObject): ServerPod {
  const pod = obj as PodLike;
  const version = pod.spec?.containers?.find((c) => c.name === SERVER_CONTAINER)?.env?.find((e) => e.name === MODEL_VERSION_ENV)?.value;
  const status = pod.status?.containerStatuses?.find((c) => c.name === SERVER_CONTAINER);
  // Failing now: terminated with an error, or waiting to be restarted after one (CrashLoopBackOff).
  let failed: Terminated | undefined;
  if (status?.state?.terminated && status.state.terminated.exitCode !== 0) failed = status.state.terminated;
  else if (status?.state?.waiting && status.lastState?.terminated && status.lastState.terminated.exitCode !== 0) failed = status.lastState.terminated;
  let blocked: Blocked | undefined;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const waiting = status?.state?.waiting;
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    blocked = { reason: 'Unschedulable', message: `Unschedulable: ${scheduled.message ?? 'no node fits the pod'}`.trim().slice(0, 1024) };
  } else if (!failed && waiting?.reason && BLOCKING_WAITING_REASONS[waiting.reason]) {
    blocked = { reason: BLOCKING_WAITING_REASONS[waiting.reason]!, message: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`.trim().slice(0, 1024) };
  }
  return {
    name: pod.metadata.name,
    deleting: pod.metadata.deletionTimestamp !== undefined,
    ...(version !== undefined ? { version } : {}),
    ...(failed ? { failed: { exitCode: failed.exitCode, reason: failed.reason, message: failed.message?.trim().slice(0, 1024) } } : {}),
    ...(blocked ? { blocked } : {}),
  };
}

/**
 * The failure to report for `version`, from the Model's pods: the first
 * failing pod (by name) that runs it, or undefined when none fails. Pods of
 * other versions are ignored: an old version crashing while the new one rolls
 * out is not the news.
 */
export function serverFailure(pods: readonly ServerPod[], version: string): { reason: string; message: string } | undefined {
  const running = pods.filter((p) => p.version === version && !p.deleting);
  const failing = running.filter((p) => p.failed || p.blocked).sort((a, b) => a.name.localeCompare(b.name));
  const first = failing[0];
  if (!first) return undefined;
  const count = failing.length > 1 ? ` (${failing.length} of ${running.length} pods failing)` : '';
  if (!first.failed) {
    // Never ran: the scheduler's or the kubelet's own words.
    const b = first.blocked!;
    return { reason: b.reason, message: `the server of ${version} cannot start${count}: pod ${first.name}: ${b.message}; see kubectl describe pod ${first.name}` };
  }
  const f = first.failed;
  // The server's own line ("NotFound: s3://... does not exist") when it wrote one, else the kubelet's reason.
  const why = f.message || `exit code ${f.exitCode}${f.reason ? ` (${f.reason})` : ''}; see kubectl logs --previous`;
  return { reason: 'ServingFailed', message: `the server of ${version} cannot start${count}: pod ${first.name}: ${why}` };
}
