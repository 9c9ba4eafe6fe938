// The objects a Model owns, built as pure functions of the Model (and the
// version being served), so reconciling is "build desired, apply if different".
import type { Model } from '../../api/index.js';
import type { KubeObject, OwnerReference } from '../../runtime/kube-client.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../resource-types.js';
import type { VersionRecord } from './versions.js';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from '../pod-security.js';
import { DRAIN_PATH } from '../../serving/admin-paths.js';
import { PREDICTION_LOG_CREDENTIALS_PREFIX } from '../../serving/config.js';

export const HTTP_PORT = 8080;
export const ADMIN_PORT = 8081;
/** Open Inference Protocol V2 gRPC (fluxora serve's --grpc-port default). */
export const GRPC_PORT = 8085;
export const SAMPLES_TOKEN_KEY = 'token';
/** How long the preStop hook lets clients move off a terminating serving pod. */
export const PRESTOP_DRAIN_SECONDS = 5;
/** Where pvc:// artifacts are mounted; `fluxora serve` resolves pvc://claim/path under it. */
export const PVC_MOUNT_ROOT = '/mnt/fluxora/pvc';

export interface ChildContext {
  /** The operator's own image: serving pods run `fluxora serve` from it. */
  servingImage: string;
}

export const deploymentName = (m: Model) => m.metadata.name;
export const serviceName = (m: Model) => m.metadata.name;
export const hpaName = (m: Model) => m.metadata.name;
export const samplesSecretName = (m: { metadata: { name: string } }) => `${m.metadata.name}-samples-token`;

export function ownerRef(m: Model): OwnerReference {
  return {
    apiVersion: m.apiVersion,
    kind: m.kind,
    name: m.metadata.name,
    uid: m.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** On every child and serving pod: the Model it belongs to. */
export const MODEL_LABEL = 'fluxora.io/model';
/** The serving pod's container, and the variable that tells it which version it serves. */
export const SERVER_CONTAINER = 'server';
export const MODEL_VERSION_ENV = 'FLUXORA_MODEL_VERSION';

export function selectorLabels(m: Model): Record<string, string> {
  return { [MODEL_LABEL]: m.metadata.name, 'app.kubernetes.io/component': 'inference' };
}

export function childLabels(m: Model): Record<string, string> {
  return {
    ...selectorLabels(m),
    'app.kubernetes.io/name': 'fluxora-server',
    'app.kubernetes.io/instance': m.metadata.name,
    [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
  };
}

function childMeta(m: Model, name: string) {
  return { name, namespace: m.metadata.namespace, labels: childLabels(m), ownerReferences: [ownerRef(m)] };
}

/** Replicas the Deployment should declare; undefined hands the count to the HPA. */
export function desiredReplicas(m: Model): number | undefined {
  if (m.spec.serving?.autoscaling) return undefined;
  return m.spec.serving?.replicas ?? 1;
}

/** The claim a pvc:// URI names (pvc://claim/path), mounted at PVC_MOUNT_ROOT/claim. */
export function pvcClaim(uri: string): string | undefined {
  const match = /^pvc:\/\/([^/]+)\//.exec(uri);
  return match?.[1];
}

/** A Secret a pod gets through envFrom, and the field of the Model that names it (for messages). */
export interface CredentialsSource {
  field: string;
  secretName: string;
}

/**
 * The Secrets holding the prediction log's S3 settings, in envFrom order (a
 * later one wins a key both set): the log's own credentialsSecretRef, else
 * the artifact's. A pod whose own AWS_* variables are the artifact's (the
 * serving pod) needs only the log's own Secret, and falls back to its own
 * variables for what that leaves out; a pod whose AWS_* variables serve
 * something else (the drift check: its reference data set) gets the
 * artifact's Secret too, first, so it ends up with the same settings.
 */
export function predictionLogCredentials(m: Model, o: { podHasArtifactCredentials: boolean }): CredentialsSource[] {
  const log = m.spec.serving?.predictionLog;
  if (!log) return [];
  const artifact = m.spec.artifact.credentialsSecretRef?.name;
  return [
    ...(artifact && !o.podHasArtifactCredentials ? [{ field: 'spec.artifact.credentialsSecretRef', secretName: artifact }] : []),
    ...(log.credentialsSecretRef ? [{ field: 'spec.serving.predictionLog.credentialsSecretRef', secretName: log.credentialsSecretRef.name }] : []),
  ];
}

/**
 * predictionLogCredentials as envFrom entries: under PREDICTION_LOG_CREDENTIALS_PREFIX, so their AWS_* keys do
 * not replace the pod's own; `fluxora serve` and `fluxora drift-check` read them back with predictionLogS3Options.
 */
export function predictionLogEnvFrom(m: Model, o: { podHasArtifactCredentials: boolean }) {
  return predictionLogCredentials(m, o).map((c) => ({ prefix: PREDICTION_LOG_CREDENTIALS_PREFIX, secretRef: { name: c.secretName } }));
}

/**
 * The digest the pods must verify: a retrained version's (the operator
 * computed it) or the one spec.artifact gives. A spec version's digest the
 * operator learnt from the pods themselves is not handed back to them: they
 * loaded that very file, and changing the pod template would restart every
 * pod of the Model for nothing.
 */
export function expectedDigest(m: Model, version: VersionRecord): string | undefined {
  if (version.source !== 'Spec') return version.sha256;
  const a = m.spec.artifact;
  return a.uri === version.uri && a.sha256 && a.sha256.toLowerCase() === version.sha256?.toLowerCase() ? a.sha256 : undefined;
}

export function buildDeployment(m: Model, version: VersionRecord, ctx: ChildContext): KubeObject {
  const serving = m.spec.serving ?? {};
  const claim = pvcClaim(version.uri);
  const digest = expectedDigest(m, version);
  const credentials = m.spec.artifact.credentialsSecretRef?.name;
  const log = serving.predictionLog;
  const envFrom = [
    ...(credentials ? [{ secretRef: { name: credentials } }] : []),
    ...predictionLogEnvFrom(m, { podHasArtifactCredentials: true }),
  ];
  const env = [
    { name: 'FLUXORA_MODEL_NAME', value: m.metadata.name },
    { name: 'FLUXORA_MODEL_URI', value: version.uri },
    ...(digest ? [{ name: 'FLUXORA_MODEL_SHA256', value: digest }] : []),
    { name: MODEL_VERSION_ENV, value: version.name },
    { name: 'FLUXORA_FEATURES', value: JSON.stringify(m.spec.features ?? []) },
    { name: 'FLUXORA_PORT', value: String(HTTP_PORT) },
    { name: 'FLUXORA_ADMIN_PORT', value: String(ADMIN_PORT) },
    { name: 'FLUXORA_GRPC_PORT', value: String(GRPC_PORT) },
    { name: 'FLUXORA_MAX_BATCH_SIZE', value: String(serving.batching?.maxBatchSize ?? 32) },
    { name: 'FLUXORA_MAX_BATCH_DELAY_MS', value: String(serving.batching?.maxDelayMs ?? 2) },
    { name: 'FLUXORA_SAMPLING_RATE', value: String(serving.sampling?.rate ?? 1) },
    { name: 'FLUXORA_SAMPLE_BUFFER_SIZE', value: String(serving.sampling?.bufferSize ?? 10000) },
    {
      name: 'FLUXORA_SAMPLES_TOKEN',
      valueFrom: { secretKeyRef: { name: samplesSecretName(m), key: SAMPLES_TOKEN_KEY } },
    },
    { name: 'FLUXORA_PVC_ROOT', value: PVC_MOUNT_ROOT },
    // Only with a log, so Models without one keep the same pod template (no rollout on upgrade).
    ...(log
      ? [
          { name: 'FLUXORA_PREDICTION_LOG_URI', value: log.uri },
          { name: 'FLUXORA_PREDICTION_LOG_SAMPLE_RATE', value: String(log.sampleRate ?? 1) },
          { name: 'FLUXORA_PREDICTION_LOG_FLUSH_INTERVAL_SECONDS', value: String(log.flushIntervalSeconds ?? 10) },
          { name: 'FLUXORA_PREDICTION_LOG_MAX_BATCH_RECORDS', value: String(log.maxBatchRecords ?? 1000) },
          { name: 'FLUXORA_PREDICTION_LOG_MAX_BUFFERED_RECORDS', value: String(log.maxBufferedRecords ?? 10000) },
          // Names the pod's log objects, so two pods never write the same one.
          { name: 'FLUXORA_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ]
      : []),
  ];
  const volumes: Record<string, unknown>[] = [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }];
  const mounts: Record<string, unknown>[] = [{ name: 'tmp', mountPath: '/tmp' }];
  if (claim) {
    volumes.push({ name: 'artifact', persistentVolumeClaim: { claimName: claim, readOnly: true } });
    mounts.push({ name: 'artifact', mountPath: `${PVC_MOUNT_ROOT}/${claim}`, readOnly: true });
  }
  const replicas = desiredReplicas(m);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMeta(m, deploymentName(m)),
    spec: {
      ...(replicas !== undefined ? { replicas } : {}),
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(m) },
      // Never drop below the desired count during a rollout: new pods must be
      // Ready (model loaded) before old ones go.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: {
          labels: childLabels(m),
          annotations: { 'fluxora.io/version': version.name },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: restrictedPodSecurityContext({ fsGroup: true }),
          containers: [
            {
              name: SERVER_CONTAINER,
              image: serving.image ?? ctx.servingImage,
              args: ['serve'],
              env,
              ...(envFrom.length > 0 ? { envFrom } : {}),
              ports: [
                { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
                { name: 'admin', containerPort: ADMIN_PORT, protocol: 'TCP' },
                { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
              ],
              readinessProbe: {
                httpGet: { path: '/v2/health/ready', port: 'http' },
                periodSeconds: 5,
                failureThreshold: 3,
              },
              // Before SIGTERM: while the pod leaves the Service's endpoints, it
              // keeps serving and answers with Connection: close, so clients
              // move their keep-alive connections to other pods (the server's
              // /drain holds the hook 5 s). The image has no shell.
              lifecycle: { preStop: { httpGet: { path: `${DRAIN_PATH}?seconds=${PRESTOP_DRAIN_SECONDS}`, port: 'admin' } } },
              livenessProbe: {
                httpGet: { path: '/v2/health/live', port: 'http' },
                periodSeconds: 10,
                failureThreshold: 3,
              },
              ...(serving.resources ? { resources: serving.resources } : {}),
              securityContext: restrictedContainerSecurityContext(),
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  } as KubeObject;
}

export function buildService(m: Model): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(m, serviceName(m)),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(m),
      ports: [
        { name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP' },
        // The drift check reaches each pod's admin port through the EndpointSlices.
        { name: 'admin', port: ADMIN_PORT, targetPort: 'admin', protocol: 'TCP' },
        // appProtocol tells meshes and Gateway API implementations to speak HTTP/2 (gRPC) to it.
        { name: 'grpc', port: GRPC_PORT, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' },
      ],
    },
  } as KubeObject;
}

export function buildHpa(m: Model): KubeObject | undefined {
  const a = m.spec.serving?.autoscaling;
  if (!a) return undefined;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: childMeta(m, hpaName(m)),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName(m) },
      minReplicas: a.minReplicas ?? 1,
      maxReplicas: a.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: a.targetCPUUtilizationPercentage ?? 80 } },
        },
      ],
    },
  } as KubeObject;
}

export function buildSamplesSecret(m: Model, token: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMeta(m, samplesSecretName(m)),
    type: 'Opaque',
    data: { [SAMPLES_TOKEN_KEY]: Buffer.from(token).toString('base64') },
  } as KubeObject;
}

export function endpointFor(m: Model): string {
  return `http://${serviceName(m)}.${m.metadata.namespace}.svc:${HTTP_PORT}/v2/models/${m.metadata.name}`;
}

/** The candidate's Deployment and Service (Shadow and Canary): beside the champion's, never replacing it. */
export const candidateName = (m: { metadata: { name: string } }) => `${m.metadata.name}-candidate`;
/** On the candidate's pods only: the champion's pods keep their template (adding a label would restart them). */
export const TRACK_LABEL = 'fluxora.io/track';

const candidateSelector = (m: Model) => ({ [MODEL_LABEL]: m.metadata.name, [TRACK_LABEL]: 'candidate' });

/**
 * The candidate runs the same pod as the champion, with another version. In
 * a Canary its pods also carry the Service's selector labels, so the one
 * Service spreads requests over both Deployments by their pod counts (no mesh
 * needed); in a Shadow they do not, and only the candidate Service (which the
 * champion's pods mirror to) reaches them. The champion Deployment's selector
 * matches canary pods too; the controllers tell them apart by owner reference,
 * as they do for any ReplicaSet.
 */
export function buildCandidateDeployment(m: Model, version: VersionRecord, o: { canary: boolean; replicas: number }, ctx: ChildContext): KubeObject {
  const d = buildDeployment(m, version, ctx) as KubeObject & { spec: Record<string, unknown> & { template: { metadata: { labels: Record<string, string> } } } };
  const labels = { ...childLabels(m), [TRACK_LABEL]: 'candidate', ...(o.canary ? {} : { 'app.kubernetes.io/component': 'inference-shadow' }) };
  return {
    ...d,
    metadata: { ...childMeta(m, candidateName(m)), labels: { ...childLabels(m), [TRACK_LABEL]: 'candidate' } },
    spec: {
      ...d.spec,
      replicas: o.replicas,
      selector: { matchLabels: candidateSelector(m) },
      template: { ...d.spec.template, metadata: { ...d.spec.template.metadata, labels } },
    },
  } as KubeObject;
}

/** The candidate's pods alone: what the champion mirrors to, and how the operator finds them. */
export function buildCandidateService(m: Model): KubeObject {
  const s = buildService(m) as KubeObject & { spec: Record<string, unknown> };
  return { ...s, metadata: { ...childMeta(m, candidateName(m)), labels: { ...childLabels(m), [TRACK_LABEL]: 'candidate' } }, spec: { ...s.spec, selector: candidateSelector(m) } } as KubeObject;
}

/** Where the champion's pods send mirrored requests. */
export const candidateUrl = (m: Model) => `http://${candidateName(m)}.${m.metadata.namespace}.svc:${HTTP_PORT}`;
