// What a DriftMonitor owns: a CronJob running `fluxora drift-check`, and the
// ServiceAccount + Role + RoleBinding that give those pods exactly what one
// check needs (read this monitor and its Model, read the samples token and the
// data credentials, find the serving pods, write this monitor's status). The
// pods get the data sets' credentials, and when they read the prediction log
// (source PredictionLog, spec.performance) the Model's log credentials and the
// labels' credentials, as environment (check-credentials.ts).
import type { DriftMonitor, Model } from '../../api/index.js';
import type { KubeObject, OwnerReference } from '../../runtime/kube-client.js';
import { childName } from '../names.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../resource-types.js';
import { samplesSecretName } from '../model/children.js';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from '../pod-security.js';
import { checkCredentials, credentialsEnvFrom } from './check-credentials.js';
import { resolveReference } from './reference.js';

export { logCredentials } from './check-credentials.js';

/** On a check's Job and pod with reference.fromServingVersion: the reference data set it compares with, and its version. */
export const REFERENCE_ANNOTATION = 'fluxora.io/reference';
export const REFERENCE_VERSION_ANNOTATION = 'fluxora.io/reference-version';

/** The CronJob and its RBAC: 52 characters at most, so the CronJob's Jobs (11 more) fit in 63. */
export const driftCheckName = (m: DriftMonitor) => childName(m.metadata.name, 'drift-check', 52);

function ownerRef(m: DriftMonitor): OwnerReference {
  return { apiVersion: m.apiVersion, kind: m.kind, name: m.metadata.name, uid: m.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

function labels(m: DriftMonitor): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'fluxora-drift-check',
    'app.kubernetes.io/instance': m.metadata.name,
    'app.kubernetes.io/component': 'drift-check',
    'fluxora.io/drift-monitor': m.metadata.name,
    [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
  };
}

function meta(m: DriftMonitor, name = driftCheckName(m)) {
  return { name, namespace: m.metadata.namespace, labels: labels(m), ownerReferences: [ownerRef(m)] };
}

export function buildServiceAccount(m: DriftMonitor): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(m), automountServiceAccountToken: false } as KubeObject;
}

/** Secrets a check reads: the Model's samples token and the data sets' credentials. */
function secretNames(m: DriftMonitor): string[] {
  const names = new Set([samplesSecretName({ metadata: { name: m.spec.modelRef.name } })]);
  if (m.spec.reference.credentialsSecretRef) names.add(m.spec.reference.credentialsSecretRef.name);
  if (m.spec.current.credentialsSecretRef) names.add(m.spec.current.credentialsSecretRef.name);
  return [...names].sort();
}

export function buildRole(m: DriftMonitor): KubeObject {
  const name = m.metadata.name;
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(m),
    rules: [
      { apiGroups: ['fluxora.io'], resources: ['driftmonitors'], resourceNames: [name], verbs: ['get'] },
      { apiGroups: ['fluxora.io'], resources: ['driftmonitors/status'], resourceNames: [name], verbs: ['get', 'update', 'patch'] },
      { apiGroups: ['fluxora.io'], resources: ['models'], resourceNames: [m.spec.modelRef.name], verbs: ['get'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: secretNames(m), verbs: ['get'] },
      // list cannot be narrowed by name; slices only reveal pod addresses.
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ],
  } as KubeObject;
}

export function buildRoleBinding(m: DriftMonitor): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(m),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: driftCheckName(m) },
    subjects: [{ kind: 'ServiceAccount', name: driftCheckName(m), namespace: m.metadata.namespace }],
  } as KubeObject;
}

/**
 * The check's CronJob. `model` is the monitored Model when it exists: when
 * the check reads the prediction log its log credentials are part of the pod
 * spec, so a change of them (or the Model's appearing) changes the CronJob.
 */
export function buildCronJob(m: DriftMonitor, image: string, model?: Model): KubeObject {
  const envFrom = credentialsEnvFrom(checkCredentials(m, model));
  // reference.fromServingVersion: the CronJob follows the serving version. Its Jobs and pods say which
  // reference they compare with (the check resolves it again from the Model when it runs), and
  // while the serving version records none no check runs at all (the monitor says why).
  const ref = model && m.spec.reference.fromServingVersion ? resolveReference(m, model) : undefined;
  const annotations = ref?.ok ? { [REFERENCE_ANNOTATION]: ref.uri, ...(ref.version ? { [REFERENCE_VERSION_ANNOTATION]: ref.version } : {}) } : undefined;
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: meta(m),
    spec: {
      schedule: m.spec.schedule,
      suspend: m.spec.suspend || ref?.ok === false,
      // A slow check must not overlap the next one: both would write status.
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels: labels(m), ...(annotations ? { annotations } : {}) },
        spec: {
          // A failed check is reported in status; retrying it at once rarely helps.
          backoffLimit: 1,
          activeDeadlineSeconds: 600,
          ttlSecondsAfterFinished: 86_400,
          template: {
            metadata: { labels: labels(m), ...(annotations ? { annotations } : {}) },
            spec: {
              serviceAccountName: driftCheckName(m),
              automountServiceAccountToken: true,
              restartPolicy: 'Never',
              enableServiceLinks: false,
              securityContext: restrictedPodSecurityContext(),
              containers: [
                {
                  name: 'drift-check',
                  image,
                  args: ['drift-check', '--monitor', `${m.metadata.namespace}/${m.metadata.name}`],
                  ...(envFrom.length ? { envFrom } : {}),
                  resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
                  securityContext: restrictedContainerSecurityContext(),
                  volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
                },
              ],
              volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '1Gi' } }],
            },
          },
        },
      },
    },
  } as KubeObject;
}
