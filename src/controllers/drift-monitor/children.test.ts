// The drift-check CronJob's credentials: with source PredictionLog its pod gets
// the Model's prediction log credentials under the prefix the serving pod uses,
// beside (never instead of) the reference data set's own AWS_* variables.
import { describe, expect, it } from 'vitest';
import { assertSpec, type DriftMonitor, type DriftMonitorSpecInput, type Model, type ModelSpecInput } from '../../api/index.js';
import { predictionLogS3Options } from '../../serving/prediction-log-credentials.js';
import { buildCronJob, logCredentials } from './children.js';

function model(spec: Partial<ModelSpecInput> = {}): Model {
  return {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'Model',
    metadata: { name: 'churn', namespace: 'ml', uid: 'u-1' },
    spec: assertSpec('Model', { artifact: { uri: 's3://models/churn.onnx', credentialsSecretRef: { name: 'artifact-s3' } }, features: [{ name: 'x', type: 'numeric' }], ...spec }),
  };
}

function monitor(spec: Partial<DriftMonitorSpecInput> = {}): DriftMonitor {
  return {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'DriftMonitor',
    metadata: { name: 'churn-drift', namespace: 'ml', uid: 'u-2' },
    spec: assertSpec('DriftMonitor', {
      modelRef: { name: 'churn' },
      schedule: '@hourly',
      reference: { uri: 's3://data/reference.csv', credentialsSecretRef: { name: 'data-s3' } },
      ...spec,
    }),
  };
}

interface EnvFrom {
  prefix?: string;
  secretRef: { name: string };
}

function envFrom(m: DriftMonitor, mo?: Model): EnvFrom[] | undefined {
  const cj = buildCronJob(m, 'fluxora:test', mo) as unknown as { spec: { jobTemplate: { spec: { template: { spec: { containers: { envFrom?: EnvFrom[] }[] } } } } } };
  return cj.spec.jobTemplate.spec.template.spec.containers[0]!.envFrom;
}

/** The container's environment as the kubelet builds it from envFrom: prefix + key, a later source winning a key. */
function resolve(entries: EnvFrom[], secrets: Record<string, Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of entries) for (const [k, v] of Object.entries(secrets[e.secretRef.name] ?? {})) env[`${e.prefix ?? ''}${k}`] = v;
  return env;
}

const logged = { serving: { predictionLog: { uri: 's3://logs/predictions', credentialsSecretRef: { name: 'logs-s3' } } } };

describe('drift-check CronJob credentials', () => {
  it('with source Serving or a data set: the data sets\' Secrets only, whatever the Model logs', () => {
    expect(envFrom(monitor(), model(logged))).toEqual([{ secretRef: { name: 'data-s3' } }]);
    expect(envFrom(monitor({ current: { uri: 's3://data/c.csv', credentialsSecretRef: { name: 'cur-s3' } } }), model(logged))).toEqual([
      { secretRef: { name: 'data-s3' } },
      { secretRef: { name: 'cur-s3' } },
    ]);
  });

  it('with source PredictionLog: the artifact\'s Secret, then the log\'s own, both under the serving pod\'s prefix', () => {
    const m = monitor({ current: { source: 'PredictionLog' } });
    expect(envFrom(m, model(logged))).toEqual([
      { secretRef: { name: 'data-s3' } },
      { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'artifact-s3' } },
      { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'logs-s3' } },
    ]);
    expect(logCredentials(m, model(logged)).map((c) => c.field)).toEqual(['spec.artifact.credentialsSecretRef', 'spec.serving.predictionLog.credentialsSecretRef']);
  });

  it('the check reads the log with the log\'s keys, falling back to the artifact\'s (as the serving pod does), never the reference\'s', () => {
    const entries = envFrom(monitor({ current: { source: 'PredictionLog' } }), model(logged))!;
    const env = resolve(entries, {
      'data-s3': { AWS_ACCESS_KEY_ID: 'data-key', AWS_SECRET_ACCESS_KEY: 'data-secret', AWS_ENDPOINT_URL: 'http://data:9000' },
      'artifact-s3': { AWS_ACCESS_KEY_ID: 'artifact-key', AWS_SECRET_ACCESS_KEY: 'artifact-secret', AWS_ENDPOINT_URL: 'http://store:9000' },
      'logs-s3': { AWS_ACCESS_KEY_ID: 'log-key', AWS_SECRET_ACCESS_KEY: 'log-secret' },
    });
    expect(env.AWS_ACCESS_KEY_ID).toBe('data-key');
    expect(predictionLogS3Options(env)).toMatchObject({ accessKeyId: 'log-key', secretAccessKey: 'log-secret', endpoint: 'http://store:9000' });
  });

  it('a Model logging with its artifact\'s credentials gives the check those; one without credentials or without a log gives nothing', () => {
    const m = monitor({ current: { source: 'PredictionLog' } });
    expect(envFrom(m, model({ serving: { predictionLog: { uri: 's3://logs/p' } } }))).toEqual([
      { secretRef: { name: 'data-s3' } },
      { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'artifact-s3' } },
    ]);
    expect(envFrom(m, model())).toEqual([{ secretRef: { name: 'data-s3' } }]);
    expect(envFrom(m, undefined)).toEqual([{ secretRef: { name: 'data-s3' } }]);
  });
});

describe('drift-check CronJob with reference.fromServingVersion', () => {
  interface Cron {
    spec: { suspend: boolean; jobTemplate: { metadata: { annotations?: Record<string, string> }; spec: { template: { metadata: { annotations?: Record<string, string> } } } } };
  }
  const cron = (m: DriftMonitor, mo?: Model) => buildCronJob(m, 'fluxora:test', mo) as unknown as Cron;
  const serving = (version: string, dataset?: { uri: string }): Model => ({
    ...model(),
    status: {
      servingVersion: version,
      versions: [
        { name: 'v1', uri: 's3://models/churn.onnx', source: 'Spec', createdAt: 't' },
        { name: 'v2', uri: 's3://out/rj/model.onnx', source: 'RetrainJob/rj', ...(dataset ? { dataset } : {}), createdAt: 't' },
      ],
    },
  });
  const following = () => monitor({ reference: { fromServingVersion: true, credentialsSecretRef: { name: 'data-s3' } } });

  it("names the serving version's data set on its Jobs and pods, and changes with the version", () => {
    const cj = cron(following(), serving('v2', { uri: 's3://out/rj/dataset.csv' }));
    const want = { 'fluxora.io/reference': 's3://out/rj/dataset.csv', 'fluxora.io/reference-version': 'v2' };
    expect(cj.spec.suspend).toBe(false);
    expect(cj.spec.jobTemplate.metadata.annotations).toEqual(want);
    expect(cj.spec.jobTemplate.spec.template.metadata.annotations).toEqual(want);
  });

  it('is suspended while the serving version records no data set (no check could run), and runs once one does', () => {
    expect(cron(following(), serving('v1')).spec.suspend).toBe(true);
    expect(cron(following(), serving('v2')).spec.suspend).toBe(true);
    expect(cron(following(), serving('v2', { uri: 's3://out/rj/dataset.csv' })).spec.suspend).toBe(false);
    // Without the Model the check says ModelNotFound itself, as with a fixed reference.
    expect(cron(following(), undefined).spec.suspend).toBe(false);
  });

  it('a fixed reference carries no annotations and never suspends for the Model', () => {
    const cj = cron(monitor(), serving('v1'));
    expect(cj.spec.suspend).toBe(false);
    expect(cj.spec.jobTemplate.metadata.annotations).toBeUndefined();
  });
});
