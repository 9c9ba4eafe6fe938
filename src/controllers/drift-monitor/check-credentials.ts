// Which Secrets a drift-check pod gets as environment, and under which
// prefix. One place for the CronJob's envFrom, the Role that lets the pod
// read them and the monitor's CredentialsNotFound check, so the three never
// disagree.
//
// The data sets' Secrets (reference, current) arrive as plain AWS_*
// variables, as before. Every other location has its own prefix, so its keys
// never replace the data sets' (s3OptionsFromPrefixedEnv reads them back; a
// location without its own Secret falls back to the plain AWS_* variables):
//   FLUXORA_LABELS_          spec.performance.labels.credentialsSecretRef
//   FLUXORA_PREDICTION_LOG_  the Model's spec.serving.predictionLog.credentialsSecretRef,
//                            else its spec.artifact.credentialsSecretRef (the Secret the
//                            serving pods write the log with when the log has none)
import type { DriftMonitor, Model } from '../../api/index.js';
import { PREDICTION_LOG_CREDENTIALS_PREFIX } from '../../serving/config.js';

export { PREDICTION_LOG_CREDENTIALS_PREFIX };
export const LABELS_CREDENTIALS_PREFIX = 'FLUXORA_LABELS_';

export interface CheckCredential {
  /** The field that names the Secret, for messages. */
  field: string;
  name: string;
  prefix?: string;
}

/** Whether a check of this monitor reads the Model's prediction log. */
export const readsPredictionLog = (m: DriftMonitor): boolean => m.spec.performance !== undefined;

/** The Secrets a check of `m` needs, in envFrom order; the log's only when the Model is known and has a log. */
export function checkCredentials(m: DriftMonitor, model: Pick<Model, 'metadata' | 'spec'> | undefined): CheckCredential[] {
  const out: CheckCredential[] = [];
  const add = (field: string, ref: { name: string } | undefined, prefix?: string) => {
    if (ref && !out.some((c) => c.name === ref.name && c.prefix === prefix)) out.push({ field, name: ref.name, ...(prefix ? { prefix } : {}) });
  };
  add('spec.reference.credentialsSecretRef', m.spec.reference.credentialsSecretRef);
  add('spec.current.credentialsSecretRef', m.spec.current.credentialsSecretRef);
  add('spec.performance.labels.credentialsSecretRef', m.spec.performance?.labels.credentialsSecretRef, LABELS_CREDENTIALS_PREFIX);
  const log = model?.spec.serving?.predictionLog;
  if (model && log && readsPredictionLog(m)) {
    const own = log.credentialsSecretRef;
    const field = own ? 'spec.serving.predictionLog.credentialsSecretRef' : 'spec.artifact.credentialsSecretRef';
    add(`Model "${model.metadata.name}" ${field}`, own ?? model.spec.artifact.credentialsSecretRef, PREDICTION_LOG_CREDENTIALS_PREFIX);
  }
  return out;
}

/** The container's envFrom for those Secrets. */
export const credentialsEnvFrom = (creds: readonly CheckCredential[]) =>
  creds.map((c) => ({ ...(c.prefix ? { prefix: c.prefix } : {}), secretRef: { name: c.name } }));
