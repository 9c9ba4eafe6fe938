// The serving Deployment's prediction log settings: what spec.serving.predictionLog becomes in the
// `fluxora serve` container (variables, the pod name, the log's own credentials under a prefix).
import { describe, expect, it } from 'vitest';
import { assertSpec, type Model, type ModelSpecInput } from '../../api/index.js';
import { parseServeConfig, type ServeConfig } from '../../serving/config.js';
import { buildDeployment } from './children.js';

function model(spec: Partial<ModelSpecInput>): Model {
  const m: Model = {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'Model',
    metadata: { name: 'churn', namespace: 'ml', uid: 'u-1' },
    spec: assertSpec('Model', { artifact: { uri: 's3://models/churn.onnx', credentialsSecretRef: { name: 'artifact-s3' } }, features: [{ name: 'x', type: 'numeric' }], ...spec }),
  };
  return m;
}

interface Container {
  env: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: unknown[];
}

function container(m: Model): Container {
  const d = buildDeployment(m, { name: 'v1', uri: 's3://models/churn.onnx', source: 'Spec', createdAt: '2026-01-01T00:00:00Z' }, { servingImage: 'fluxora:test' }) as unknown as {
    spec: { template: { spec: { containers: Container[] } } };
  };
  return d.spec.template.spec.containers[0]!;
}

const plainEnv = (c: Container) => Object.fromEntries(c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

describe('buildDeployment and the prediction log', () => {
  it('sets nothing for the log when the Model asks for none (the pod template stays as it was)', () => {
    const c = container(model({}));
    expect(c.env.filter((e) => /PREDICTION_LOG|POD_NAME/.test(e.name))).toEqual([]);
    expect(c.envFrom).toEqual([{ secretRef: { name: 'artifact-s3' } }]);
  });

  it('passes every setting, the pod name and the log credentials under their prefix; serve reads them back', () => {
    const c = container(
      model({
        serving: { predictionLog: { uri: 's3://logs/predictions', sampleRate: 0.5, flushIntervalSeconds: 3, maxBatchRecords: 200, maxBufferedRecords: 400, credentialsSecretRef: { name: 'logs-s3' } } },
      }),
    );
    expect(c.envFrom).toEqual([{ secretRef: { name: 'artifact-s3' } }, { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'logs-s3' } }]);
    expect(c.env.find((e) => e.name === 'FLUXORA_POD_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    const config = parseServeConfig([], { ...plainEnv(c), FLUXORA_POD_NAME: 'churn-5d8c-x2x' }) as ServeConfig;
    expect(config.predictionLog).toEqual({ uri: 's3://logs/predictions', sampleRate: 0.5, flushIntervalSeconds: 3, maxBatchRecords: 200, maxBufferedRecords: 400 });
    expect(config.podName).toBe('churn-5d8c-x2x');
  });

  it('uses the defaults of the schema when only the uri is given', () => {
    const config = parseServeConfig([], plainEnv(container(model({ serving: { predictionLog: { uri: 's3://logs/p' } } })))) as ServeConfig;
    expect(config.predictionLog).toEqual({ uri: 's3://logs/p', sampleRate: 1, flushIntervalSeconds: 10, maxBatchRecords: 1000, maxBufferedRecords: 10000 });
  });
});

describe('the digest the serving pods verify', () => {
  const SHA = 'a'.repeat(64);
  const podEnv = (m: Model, v: Parameters<typeof buildDeployment>[1]) =>
    Object.fromEntries(((buildDeployment(m, v, { servingImage: 'fluxora:test' }) as unknown as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers[0]!.env).map((e) => [e.name, e.value]));
  const v1 = { name: 'v1', uri: 's3://models/churn.onnx', source: 'Spec', createdAt: '2026-01-01T00:00:00Z' };

  it("is the spec's or the trainer's, never one learnt from the pods (that would restart them for nothing)", () => {
    expect(podEnv(model({}), { ...v1, sha256: SHA }).FLUXORA_MODEL_SHA256).toBeUndefined();
    expect(podEnv(model({}), v1)).toEqual(podEnv(model({}), { ...v1, sha256: SHA }));
    expect(podEnv(model({ artifact: { uri: 's3://models/churn.onnx', sha256: SHA } }), { ...v1, sha256: SHA }).FLUXORA_MODEL_SHA256).toBe(SHA);
    expect(podEnv(model({}), { ...v1, name: 'v2', source: 'RetrainJob/r', uri: 's3://runs/r/model.onnx', sha256: SHA }).FLUXORA_MODEL_SHA256).toBe(SHA);
  });
});
