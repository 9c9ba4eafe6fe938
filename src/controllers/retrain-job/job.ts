// The batch Job (and its ServiceAccount) a RetrainJob runs, under the
// trainer contract: FLUXORA_DATASET_URI, FLUXORA_OUTPUT_URI (a fresh prefix
// for this run), FLUXORA_SERVING_URI; the trainer writes model.onnx and
// metrics.json under FLUXORA_OUTPUT_URI.
import type { Model, RetrainJob } from '../../api/index.js';
import type { KubeObject } from '../../runtime/kube-client.js';
import { joinUri } from '../../storage/uri.js';
import { childName } from '../names.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../resource-types.js';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from '../pod-security.js';
import { PVC_MOUNT_ROOT, pvcClaim } from '../model/children.js';
import { PERMANENT_EXIT_CODES } from '../../training/exit-codes.js';

/** The trainer Job's one container; its podFailurePolicy names it. */
const TRAINER_CONTAINER = 'trainer';

/** A Job's name is also a label value on its pods: 63 characters at most. */
export const trainerJobName = (rj: RetrainJob) => childName(rj.metadata.name, '', 63);

/** This run's own prefix: `<output.uri>/<retrainjob name>/`. */
export const outputPrefix = (rj: RetrainJob) => `${joinUri(rj.spec.output.uri, rj.metadata.name)}/`;

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

export function buildTrainerJob(rj: RetrainJob, model: Model, servingUri: string | undefined, image: string): KubeObject {
  const { trainer } = rj.spec;
  const env = [
    { name: 'FLUXORA_DATASET_URI', value: rj.spec.dataset.uri },
    { name: 'FLUXORA_OUTPUT_URI', value: outputPrefix(rj) },
    { name: 'FLUXORA_SERVING_URI', value: servingUri ?? '' },
    { name: 'FLUXORA_MODEL_NAME', value: model.metadata.name },
    { name: 'FLUXORA_FEATURES', value: JSON.stringify(model.spec.features) },
    ...(trainer.builtin ? [{ name: 'FLUXORA_TRAINER_CONFIG', value: JSON.stringify(trainer.builtin) }] : []),
    { name: 'FLUXORA_PVC_ROOT', value: PVC_MOUNT_ROOT },
    ...(trainer.container?.env ?? []),
  ];
  const secrets = [rj.spec.dataset.credentialsSecretRef?.name, rj.spec.output.credentialsSecretRef?.name, model.spec.artifact.credentialsSecretRef?.name].filter(
    (n, i, all): n is string => !!n && all.indexOf(n) === i,
  );
  const container = trainer.container
    ? {
        image: trainer.container.image,
        ...(trainer.container.command ? { command: trainer.container.command } : {}),
        ...(trainer.container.args ? { args: trainer.container.args } : {}),
        ...(trainer.container.resources ? { resources: trainer.container.resources } : {}),
      }
    : { image, args: ['train'], resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '2Gi' } } };
  // pvc:// data, output and served artifact: each claim mounted once, writable only for the output.
  const claims = new Map<string, boolean>();
  for (const [uri, writable] of [[rj.spec.output.uri, true], [rj.spec.dataset.uri, false], [servingUri ?? '', false]] as const) {
    const claim = pvcClaim(uri.endsWith('/') ? uri : `${uri}/`);
    if (claim) claims.set(claim, (claims.get(claim) ?? false) || writable);
  }
  const claimVolumes = [...claims].map(([claim, writable], i) => ({
    volume: { name: `data-${i}`, persistentVolumeClaim: { claimName: claim, ...(writable ? {} : { readOnly: true }) } },
    mount: { name: `data-${i}`, mountPath: `${PVC_MOUNT_ROOT}/${claim}`, ...(writable ? {} : { readOnly: true }) },
  }));
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
          containers: [
            {
              name: TRAINER_CONTAINER,
              ...container,
              env,
              ...(secrets.length ? { envFrom: secrets.map((name) => ({ secretRef: { name } })) } : {}),
              securityContext: restrictedContainerSecurityContext(),
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...claimVolumes.map((c) => c.mount)],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '4Gi' } }, ...claimVolumes.map((c) => c.volume)],
        },
      },
    },
  } as KubeObject;
}
