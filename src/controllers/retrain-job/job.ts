// The batch Job (and its ServiceAccount) a RetrainJob runs, under the
// trainer contract: FLUXORA_DATASET_URI, FLUXORA_OUTPUT_URI (a fresh prefix
// for this run), FLUXORA_SERVING_URI; the trainer writes model.onnx and
// metrics.json under FLUXORA_OUTPUT_URI. With dataset.predictionLog an init
// container (`fluxora dataset-build`) first writes dataset.csv into that
// prefix, and FLUXORA_DATASET_URI names it: the trainer sees an ordinary file.
import { parseDuration, type Model, type RetrainJob } from '../../api/index.js';
import type { KubeObject } from '../../runtime/kube-client.js';
import { joinUri } from '../../storage/uri.js';
import { childName } from '../names.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../resource-types.js';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from '../pod-security.js';
import { predictionLogEnvFrom, PVC_MOUNT_ROOT, pvcClaim } from '../model/children.js';
import { DATASET_BUILD_PERMANENT_EXIT_CODES, PERMANENT_EXIT_CODES } from '../../training/exit-codes.js';
import { DATASET_FILE, LABELS_CREDENTIALS_PREFIX } from '../../training/logged-dataset.js';

/** The trainer Job's main container; its podFailurePolicy names it. */
const TRAINER_CONTAINER = 'trainer';
/** The init container that builds dataset.csv from the prediction log; the controller reads its exit code. */
export const DATASET_CONTAINER = 'dataset';
/** The resources of `fluxora train` and `fluxora dataset-build`: both hold a data set in memory. */
const BUILTIN_RESOURCES = { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '2Gi' } };

/** A Job's name is also a label value on its pods: 63 characters at most. */
export const trainerJobName = (rj: RetrainJob) => childName(rj.metadata.name, '', 63);

/** This run's own prefix: `<output.uri>/<retrainjob name>/`. */
export const outputPrefix = (rj: RetrainJob) => `${joinUri(rj.spec.output.uri, rj.metadata.name)}/`;

/** What the trainer reads: dataset.uri, or the dataset.csv the init container writes into the run's prefix. */
export const datasetUri = (rj: RetrainJob): string => rj.spec.dataset.uri ?? `${outputPrefix(rj)}${DATASET_FILE}`;

/**
 * The requests a predictionLog data set covers, [from, to). Fixed by the
 * RetrainJob's creation time (which never changes), so a Job created again
 * after a crash, or a retried pod, builds the same window:
 * to = creationTimestamp - labelDelay, from = to - window.
 */
export function trainingWindow(rj: RetrainJob): { from: Date; to: Date } | undefined {
  const spec = rj.spec.dataset.predictionLog;
  if (!spec) return undefined;
  const created = Date.parse(rj.metadata.creationTimestamp ?? '');
  if (!Number.isFinite(created)) throw new Error(`RetrainJob ${rj.metadata.name} has no creationTimestamp to fix its training window by`);
  const to = created - parseDuration(spec.labelDelay);
  return { from: new Date(to - parseDuration(spec.window)), to: new Date(to) };
}

/**
 * The label column of dataset.csv: the built-in trainer's target (what it
 * will look for), else the labels' own column name (a container trainer's
 * choice, documented in docs/training.md).
 */
export function datasetTarget(rj: RetrainJob): string | undefined {
  const spec = rj.spec.dataset.predictionLog;
  if (!spec) return undefined;
  return rj.spec.trainer.builtin?.target ?? spec.labels.labelColumn;
}

function meta(rj: RetrainJob) {
  return {
    name: trainerJobName(rj),
    namespace: rj.metadata.namespace,
    labels: {
      'app.kubernetes.io/name': 'fluxora-trainer',
      'app.kubernetes.io/component': 'trainer',
      'fluxora.io/retrain-job': rj.metadata.name,
      'fluxora.io/model': rj.spec.modelRef.name,
      [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    },
    ownerReferences: [{ apiVersion: rj.apiVersion, kind: rj.kind, name: rj.metadata.name, uid: rj.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
  };
}

export function buildTrainerServiceAccount(rj: RetrainJob): KubeObject {
  // Trainers talk to storage, never to the Kubernetes API: no token is mounted.
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(rj), automountServiceAccountToken: false } as KubeObject;
}

/** The secret names a container reads by envFrom, each once, in order. */
const distinct = (names: (string | undefined)[]): string[] => names.filter((n, i, all): n is string => !!n && all.indexOf(n) === i);

type EnvVar = { name: string; value: string };
type Mount = { name: string; mountPath: string; readOnly?: boolean };

/**
 * `fluxora dataset-build` with everything it needs in its environment (no API
 * access): the window, the log, the Model's features, the labels and the run's
 * prefix. Credentials: the output's Secret as AWS_* (it writes dataset.csv),
 * the log's (the Model's artifact Secret, then its predictionLog Secret over
 * it, as the serving pods see them) with the prefix FLUXORA_PREDICTION_LOG_, and
 * the labels' with FLUXORA_LABELS_.
 */
function datasetContainer(rj: RetrainJob, model: Model, image: string, mounts: Mount[]) {
  const spec = rj.spec.dataset.predictionLog!;
  const log = model.spec.serving?.predictionLog;
  if (!log) throw new Error(`Model ${model.metadata.name} has no spec.serving.predictionLog`);
  const window = trainingWindow(rj)!;
  const envFrom = [
    ...(rj.spec.output.credentialsSecretRef ? [{ secretRef: { name: rj.spec.output.credentialsSecretRef.name } }] : []),
    // Its own AWS_* variables are the output's: the log's settings come layered as a drift check gets them.
    ...predictionLogEnvFrom(model, { podHasArtifactCredentials: false }),
    ...(spec.labels.credentialsSecretRef ? [{ prefix: LABELS_CREDENTIALS_PREFIX, secretRef: { name: spec.labels.credentialsSecretRef.name } }] : []),
  ];
  const env: EnvVar[] = [
    { name: 'FLUXORA_PREDICTION_LOG_URI', value: log.uri },
    { name: 'FLUXORA_MODEL_NAME', value: model.metadata.name },
    { name: 'FLUXORA_FEATURES', value: JSON.stringify(model.spec.features) },
    { name: 'FLUXORA_DATASET_WINDOW_FROM', value: window.from.toISOString() },
    { name: 'FLUXORA_DATASET_WINDOW_TO', value: window.to.toISOString() },
    { name: 'FLUXORA_LABELS_URI', value: spec.labels.uri },
    { name: 'FLUXORA_LABELS_ID_COLUMN', value: spec.labels.idColumn },
    { name: 'FLUXORA_LABELS_LABEL_COLUMN', value: spec.labels.labelColumn },
    { name: 'FLUXORA_DATASET_TARGET', value: datasetTarget(rj)! },
    { name: 'FLUXORA_DATASET_MIN_ROWS', value: String(spec.minRows) },
    { name: 'FLUXORA_OUTPUT_URI', value: outputPrefix(rj) },
    { name: 'FLUXORA_PVC_ROOT', value: PVC_MOUNT_ROOT },
  ];
  return {
    name: DATASET_CONTAINER,
    image,
    args: ['dataset-build'],
    env,
    ...(envFrom.length ? { envFrom } : {}),
    resources: BUILTIN_RESOURCES,
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: mounts,
  };
}

/**
 * The trainer Job. `model` must have spec.serving.predictionLog when the data
 * set is the prediction log (the controller fails the run before that).
 */
export function buildTrainerJob(rj: RetrainJob, model: Model, servingUri: string | undefined, image: string): KubeObject {
  const { trainer } = rj.spec;
  const fromLog = rj.spec.dataset.predictionLog;
  const env: EnvVar[] = [
    { name: 'FLUXORA_DATASET_URI', value: datasetUri(rj) },
    { name: 'FLUXORA_OUTPUT_URI', value: outputPrefix(rj) },
    { name: 'FLUXORA_SERVING_URI', value: servingUri ?? '' },
    { name: 'FLUXORA_MODEL_NAME', value: model.metadata.name },
    { name: 'FLUXORA_FEATURES', value: JSON.stringify(model.spec.features) },
    ...(trainer.builtin ? [{ name: 'FLUXORA_TRAINER_CONFIG', value: JSON.stringify(trainer.builtin) }] : []),
    { name: 'FLUXORA_PVC_ROOT', value: PVC_MOUNT_ROOT },
    ...(trainer.container?.env ?? []),
  ];
  const secrets = distinct([rj.spec.dataset.credentialsSecretRef?.name, rj.spec.output.credentialsSecretRef?.name, model.spec.artifact.credentialsSecretRef?.name]);
  const container = trainer.container
    ? {
        image: trainer.container.image,
        ...(trainer.container.command ? { command: trainer.container.command } : {}),
        ...(trainer.container.args ? { args: trainer.container.args } : {}),
        ...(trainer.container.resources ? { resources: trainer.container.resources } : {}),
      }
    : { image, args: ['train'], resources: BUILTIN_RESOURCES };
  // pvc:// data, labels, output and served artifact: each claim mounted once, writable only for the output.
  const claims = new Map<string, boolean>();
  for (const [uri, writable] of [
    [rj.spec.output.uri, true],
    [rj.spec.dataset.uri ?? '', false],
    [fromLog?.labels.uri ?? '', false],
    [servingUri ?? '', false],
  ] as const) {
    const claim = pvcClaim(uri.endsWith('/') ? uri : `${uri}/`);
    if (claim) claims.set(claim, (claims.get(claim) ?? false) || writable);
  }
  const claimVolumes = [...claims].map(([claim, writable], i) => ({
    volume: { name: `data-${i}`, persistentVolumeClaim: { claimName: claim, ...(writable ? {} : { readOnly: true }) } },
    mount: { name: `data-${i}`, mountPath: `${PVC_MOUNT_ROOT}/${claim}`, ...(writable ? {} : { readOnly: true }) },
  }));
  const mounts: Mount[] = [{ name: 'tmp', mountPath: '/tmp' }, ...claimVolumes.map((c) => c.mount)];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(rj),
    spec: {
      backoffLimit: rj.spec.backoffLimit,
      podFailurePolicy: {
        rules: [
          // An evicted or preempted pod (a node drain) is not the trainer failing: retry it without counting.
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          // The data set step says when a retry would build the same nothing (too few rows, a log it may not read).
          ...(fromLog
            ? [{ action: 'FailJob', onExitCodes: { containerName: DATASET_CONTAINER, operator: 'In', values: [...DATASET_BUILD_PERMANENT_EXIT_CODES] } }]
            : []),
          // The built-in trainer says when its input is bad (src/training/exit-codes.ts): retries would
          // read the same input, so the run fails at once. A container trainer's exit codes are its own.
          ...(trainer.builtin
            ? [{ action: 'FailJob', onExitCodes: { containerName: TRAINER_CONTAINER, operator: 'In', values: [...PERMANENT_EXIT_CODES] } }]
            : []),
        ],
      },
      activeDeadlineSeconds: rj.spec.activeDeadlineSeconds,
      // Keep the finished Job a day for `kubectl logs`; the RetrainJob keeps the result.
      ttlSecondsAfterFinished: 86_400,
      template: {
        metadata: { labels: meta(rj).labels },
        spec: {
          serviceAccountName: trainerJobName(rj),
          automountServiceAccountToken: false,
          restartPolicy: 'Never',
          enableServiceLinks: false,
          securityContext: restrictedPodSecurityContext(),
          ...(fromLog ? { initContainers: [datasetContainer(rj, model, image, mounts)] } : {}),
          containers: [
            {
              name: TRAINER_CONTAINER,
              ...container,
              env,
              ...(secrets.length ? { envFrom: secrets.map((name) => ({ secretRef: { name } })) } : {}),
              securityContext: restrictedContainerSecurityContext(),
              volumeMounts: mounts,
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '4Gi' } }, ...claimVolumes.map((c) => c.volume)],
        },
      },
    },
  } as KubeObject;
}
