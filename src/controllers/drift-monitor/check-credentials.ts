// Which Secrets a drift-check pod gets as environment, and under which
// prefix. One place for the CronJob's envFrom and the monitor's
// CredentialsNotFound check, so the two never disagree.
//
// The data sets' Secrets (reference, current) arrive as plain AWS_*
// variables. Every other location has its own prefix, so its keys never
// replace the data sets' (s3OptionsFromPrefixedEnv reads them back; a key a
// prefixed Secret leaves out falls back to the plain AWS_* variables):
//   FLUXORA_LABELS_          spec.performance.labels.credentialsSecretRef
//   FLUXORA_PREDICTION_LOG_  the Model's artifact Secret, then its
//                            predictionLog.credentialsSecretRef (the serving
//                            pods' log settings: predictionLogCredentials)
import type { DriftMonitor, Model } from '../../api/index.js';
import { PREDICTION_LOG_CREDENTIALS_PREFIX } from '../../serving/config.js';
import { LABELS_CREDENTIALS_PREFIX } from '../../training/logged-dataset.js';
import { predictionLogCredentials, type CredentialsSource } from '../model/children.js';

// The same prefixes as the RetrainJob's data set step (fluxora dataset-build).
export { LABELS_CREDENTIALS_PREFIX, PREDICTION_LOG_CREDENTIALS_PREFIX };

export interface CheckCredential {
  /** The field that names the Secret, for messages. */
  field: string;
  name: string;
  prefix?: string;
}

/** Why a check of this monitor reads the Model's prediction log, for messages; undefined when it does not. */
function logReaders(m: DriftMonitor): string | undefined {
  const why = [...(m.spec.current.source === 'PredictionLog' ? ['current.source PredictionLog'] : []), ...(m.spec.performance ? ['spec.performance'] : [])];
  return why.length ? why.join(' and ') : undefined;
}

/** Whether a check of this monitor reads the Model's prediction log. */
export const readsPredictionLog = (m: DriftMonitor): boolean => logReaders(m) !== undefined;

/**
 * When the check reads the prediction log, the Secrets that give it the
 * Model's log credentials as the serving pods have them (the log's own, over
 * the artifact's); the check's own AWS_* variables are the reference's.
 */
export function logCredentials(m: DriftMonitor, model: Model | undefined): CredentialsSource[] {
  if (!readsPredictionLog(m) || !model) return [];
  return predictionLogCredentials(model, { podHasArtifactCredentials: false });
}

/** The Secrets a check of `m` needs, in envFrom order; the log's only when the Model is known and has a log. */
export function checkCredentials(m: DriftMonitor, model: Model | undefined): CheckCredential[] {
  const out: CheckCredential[] = [];
  const add = (field: string, name: string | undefined, prefix?: string) => {
    if (name && !out.some((c) => c.name === name && c.prefix === prefix)) out.push({ field, name, ...(prefix ? { prefix } : {}) });
  };
  add('spec.reference.credentialsSecretRef', m.spec.reference.credentialsSecretRef?.name);
  add('spec.current.credentialsSecretRef', m.spec.current.credentialsSecretRef?.name);
  add('spec.performance.labels.credentialsSecretRef', m.spec.performance?.labels.credentialsSecretRef?.name, LABELS_CREDENTIALS_PREFIX);
  for (const c of logCredentials(m, model)) add(`${c.field} of Model "${m.spec.modelRef.name}", for ${logReaders(m)}`, c.secretName, PREDICTION_LOG_CREDENTIALS_PREFIX);
  return out;
}

/** The container's envFrom for those Secrets. */
export const credentialsEnvFrom = (creds: readonly CheckCredential[]) =>
  creds.map((c) => ({ ...(c.prefix ? { prefix: c.prefix } : {}), secretRef: { name: c.name } }));
