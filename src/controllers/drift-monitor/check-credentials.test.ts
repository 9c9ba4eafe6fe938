// The Secrets a drift-check pod gets for spec.performance: the data sets' as
// plain AWS_* variables, the labels' under FLUXORA_LABELS_, and the
// prediction log's (the artifact's, then the log's own) under
// FLUXORA_PREDICTION_LOG_; the same list in the CronJob's envFrom and in the
// monitor's missing-Secret check.
import { describe, expect, it } from 'vitest';
import { assertSpec, type DriftMonitor, type Model } from '../../api/index.js';
import { s3OptionsFromPrefixedEnv } from '../../storage/index.js';
import { checkCredentials, LABELS_CREDENTIALS_PREFIX, logCredentials, PREDICTION_LOG_CREDENTIALS_PREFIX } from './check-credentials.js';
import { buildCronJob } from './children.js';

const monitor = (spec: Record<string, unknown>): DriftMonitor => ({
  apiVersion: 'fluxora.io/v1alpha1',
  kind: 'DriftMonitor',
  metadata: { name: 'churn-drift', namespace: 'ml', uid: 'u' },
  spec: assertSpec('DriftMonitor', { modelRef: { name: 'churn' }, schedule: '@hourly', reference: { uri: 's3://data/ref.csv', credentialsSecretRef: { name: 'data' } }, ...spec }),
});

const model = (serving: Record<string, unknown>, artifactSecret?: string): Model =>
  ({
    metadata: { name: 'churn' },
    spec: { artifact: { uri: 's3://models/churn.onnx', ...(artifactSecret ? { credentialsSecretRef: { name: artifactSecret } } : {}) }, features: [], serving },
  }) as unknown as Model;

const performance = (labelsSecret?: string) => ({
  performance: { labels: { uri: 's3://labels/churn/', ...(labelsSecret ? { credentialsSecretRef: { name: labelsSecret } } : {}) }, prediction: { output: 'p' }, task: 'BinaryClassification' },
});

interface EnvFrom {
  prefix?: string;
  secretRef: { name: string };
}
type CronJob = { spec: { jobTemplate: { spec: { template: { spec: { containers: { envFrom?: EnvFrom[] }[] } } } } } };
const envFrom = (cj: unknown) => (cj as CronJob).spec.jobTemplate.spec.template.spec.containers[0]!.envFrom;

/** The container's environment as the kubelet builds it from envFrom: prefix + key, a later source winning a key. */
function resolve(entries: EnvFrom[], secrets: Record<string, Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of entries) for (const [k, v] of Object.entries(secrets[e.secretRef.name] ?? {})) env[`${e.prefix ?? ''}${k}`] = v;
  return env;
}

describe('drift-check credentials for spec.performance', () => {
  const logged = model({ predictionLog: { uri: 's3://logs/', credentialsSecretRef: { name: 'log' } } }, 'art');

  it('without performance (nor source PredictionLog): the data sets\' Secrets only, unprefixed, as before', () => {
    const m = monitor({});
    expect(checkCredentials(m, logged)).toEqual([{ field: 'spec.reference.credentialsSecretRef', name: 'data' }]);
    expect(logCredentials(m, logged)).toEqual([]);
    expect(envFrom(buildCronJob(m, 'img', logged))).toEqual([{ secretRef: { name: 'data' } }]);
  });

  it('labels under FLUXORA_LABELS_, the log\'s Secrets (the artifact\'s, then its own) under FLUXORA_PREDICTION_LOG_', () => {
    const m = monitor(performance('labels'));
    expect(checkCredentials(m, logged)).toEqual([
      { field: 'spec.reference.credentialsSecretRef', name: 'data' },
      { field: 'spec.performance.labels.credentialsSecretRef', name: 'labels', prefix: LABELS_CREDENTIALS_PREFIX },
      { field: 'spec.artifact.credentialsSecretRef of Model "churn", for spec.performance', name: 'art', prefix: PREDICTION_LOG_CREDENTIALS_PREFIX },
      { field: 'spec.serving.predictionLog.credentialsSecretRef of Model "churn", for spec.performance', name: 'log', prefix: PREDICTION_LOG_CREDENTIALS_PREFIX },
    ]);
    expect(envFrom(buildCronJob(m, 'img', logged))).toEqual([
      { secretRef: { name: 'data' } },
      { prefix: 'FLUXORA_LABELS_', secretRef: { name: 'labels' } },
      { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'art' } },
      { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'log' } },
    ]);
  });

  it('the check reads the labels with their own keys, falling back to the data sets\' for what they leave out', () => {
    const env = resolve(envFrom(buildCronJob(monitor(performance('labels')), 'img', logged))!, {
      data: { AWS_ACCESS_KEY_ID: 'data-key', AWS_SECRET_ACCESS_KEY: 'data-secret', AWS_ENDPOINT_URL: 'http://data:9000' },
      labels: { AWS_ACCESS_KEY_ID: 'labels-key', AWS_SECRET_ACCESS_KEY: 'labels-secret' },
    });
    expect(env.AWS_ACCESS_KEY_ID).toBe('data-key');
    expect(s3OptionsFromPrefixedEnv(LABELS_CREDENTIALS_PREFIX, env)).toEqual({ accessKeyId: 'labels-key', secretAccessKey: 'labels-secret' });
  });

  it('names both readers of the log in a message when both read it', () => {
    const m = monitor({ ...performance(), current: { source: 'PredictionLog' } });
    expect(checkCredentials(m, logged).at(-1)?.field).toBe('spec.serving.predictionLog.credentialsSecretRef of Model "churn", for current.source PredictionLog and spec.performance');
  });

  it('names no log Secret while the Model is unknown or has no log', () => {
    const m = monitor(performance('labels'));
    expect(checkCredentials(m, undefined).map((c) => c.name)).toEqual(['data', 'labels']);
    expect(checkCredentials(m, model({}, 'art')).map((c) => c.name)).toEqual(['data', 'labels']);
  });

  it('gives one Secret used for two locations to both, each under its own prefix', () => {
    const m = monitor(performance('data'));
    expect(envFrom(buildCronJob(m, 'img'))).toEqual([{ secretRef: { name: 'data' } }, { prefix: 'FLUXORA_LABELS_', secretRef: { name: 'data' } }]);
  });
});
