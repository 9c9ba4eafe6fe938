// The Secrets a drift-check pod gets: the data sets' as plain AWS_*
// variables, the labels' and the prediction log's under their own prefixes;
// the same list in the CronJob's envFrom and the Role's secret names.
import { describe, expect, it } from 'vitest';
import { assertSpec, type DriftMonitor, type Model } from '../../api/index.js';
import { checkCredentials, LABELS_CREDENTIALS_PREFIX, PREDICTION_LOG_CREDENTIALS_PREFIX } from './check-credentials.js';
import { buildCronJob, buildRole } from './children.js';

const monitor = (spec: Record<string, unknown>): DriftMonitor =>
  ({
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

type CronJob = { spec: { jobTemplate: { spec: { template: { spec: { containers: { envFrom?: unknown[] }[] } } } } } };
const envFrom = (cj: unknown) => (cj as CronJob).spec.jobTemplate.spec.template.spec.containers[0]!.envFrom;
const secretNames = (role: unknown) => (role as { rules: { resources: string[]; resourceNames?: string[] }[] }).rules.find((r) => r.resources.includes('secrets'))!.resourceNames;

describe('drift-check credentials', () => {
  it('without performance: the data sets\' Secrets only, unprefixed, as before', () => {
    const m = monitor({});
    expect(checkCredentials(m, model({ predictionLog: { uri: 's3://logs/' } }, 'art'))).toEqual([{ field: 'spec.reference.credentialsSecretRef', name: 'data' }]);
    expect(envFrom(buildCronJob(m, 'img'))).toEqual([{ secretRef: { name: 'data' } }]);
  });

  it('labels under FLUXORA_LABELS_, the log\'s own Secret under FLUXORA_PREDICTION_LOG_', () => {
    const m = monitor(performance('labels'));
    const mdl = model({ predictionLog: { uri: 's3://logs/', credentialsSecretRef: { name: 'log' } } }, 'art');
    expect(checkCredentials(m, mdl)).toEqual([
      { field: 'spec.reference.credentialsSecretRef', name: 'data' },
      { field: 'spec.performance.labels.credentialsSecretRef', name: 'labels', prefix: LABELS_CREDENTIALS_PREFIX },
      { field: 'Model "churn" spec.serving.predictionLog.credentialsSecretRef', name: 'log', prefix: PREDICTION_LOG_CREDENTIALS_PREFIX },
    ]);
    expect(envFrom(buildCronJob(m, 'img', mdl))).toEqual([
      { secretRef: { name: 'data' } },
      { prefix: 'FLUXORA_LABELS_', secretRef: { name: 'labels' } },
      { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'log' } },
    ]);
    expect(secretNames(buildRole(m, mdl))).toEqual(['churn-samples-token', 'data', 'labels', 'log']);
  });

  it("falls back to the artifact's Secret for a log without its own, as the serving pods do", () => {
    const m = monitor(performance());
    expect(checkCredentials(m, model({ predictionLog: { uri: 's3://logs/' } }, 'art')).at(-1)).toEqual({
      field: 'Model "churn" spec.artifact.credentialsSecretRef',
      name: 'art',
      prefix: PREDICTION_LOG_CREDENTIALS_PREFIX,
    });
  });

  it('names no log Secret while the Model is unknown or has no log', () => {
    const m = monitor(performance('labels'));
    expect(checkCredentials(m, undefined).map((c) => c.name)).toEqual(['data', 'labels']);
    expect(checkCredentials(m, model({}, 'art')).map((c) => c.name)).toEqual(['data', 'labels']);
  });

  it('gives one Secret used for two locations to both, each under its own prefix', () => {
    const m = monitor(performance('data'));
    expect(envFrom(buildCronJob(m, 'img'))).toEqual([{ secretRef: { name: 'data' } }, { prefix: 'FLUXORA_LABELS_', secretRef: { name: 'data' } }]);
    expect(secretNames(buildRole(m))).toEqual(['churn-samples-token', 'data']);
  });
});
