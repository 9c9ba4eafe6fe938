import { describe, expect, it } from 'vitest';
import type { Model, RetrainJob } from '../../api/index.js';
import { buildTrainerJob } from './job.js';

const model = { apiVersion: 'fluxora.io/v1alpha1', kind: 'Model', metadata: { name: 'churn', namespace: 'ml' }, spec: { artifact: { uri: 'pvc://models/churn/v1.onnx' }, features: [{ name: 'a', type: 'numeric' }] } } as unknown as Model;
const rj = (dataset: string, output: string) =>
  ({
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'RetrainJob',
    metadata: { name: 'rj-1', namespace: 'ml', uid: 'u1' },
    spec: { modelRef: { name: 'churn' }, trainer: { builtin: { algorithm: 'linear', target: 'y', validationSplit: 0.2 } }, dataset: { uri: dataset }, output: { uri: output }, backoffLimit: 2, activeDeadlineSeconds: 60 },
  }) as unknown as RetrainJob;

type PodSpec = { volumes: { name: string; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }[]; containers: { volumeMounts: { mountPath: string; readOnly?: boolean }[]; env: { name: string; value: string }[] }[] };
const podSpec = (j: ReturnType<typeof buildTrainerJob>) => (j as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;

describe('buildTrainerJob', () => {
  it('mounts pvc:// claims: the output writable, the data set and served artifact read-only, each claim once', () => {
    const spec = podSpec(buildTrainerJob(rj('pvc://data/churn.csv', 'pvc://models/runs/'), model, 'pvc://models/churn/v1.onnx', 'fluxora:test'));
    expect(spec.volumes.filter((v) => v.persistentVolumeClaim).map((v) => v.persistentVolumeClaim)).toEqual([{ claimName: 'models' }, { claimName: 'data', readOnly: true }]);
    const c = spec.containers[0]!;
    expect(c.volumeMounts).toContainEqual({ name: 'data-0', mountPath: '/mnt/fluxora/pvc/models' });
    expect(c.volumeMounts).toContainEqual({ name: 'data-1', mountPath: '/mnt/fluxora/pvc/data', readOnly: true });
    expect(c.env).toContainEqual({ name: 'FLUXORA_PVC_ROOT', value: '/mnt/fluxora/pvc' });
  });

  it("fails at once only on the built-in trainer's permanent exit codes; evictions never count", () => {
    type Policy = { rules: { action: string; onExitCodes?: { containerName: string; operator: string; values: number[] } }[] };
    const policy = (j: ReturnType<typeof buildTrainerJob>) => (j as unknown as { spec: { podFailurePolicy: Policy } }).spec.podFailurePolicy;
    const builtin = policy(buildTrainerJob(rj('s3://d/x.csv', 's3://m/runs/'), model, undefined, 'fluxora:test'));
    expect(builtin.rules.map((r) => r.action)).toEqual(['Ignore', 'FailJob']);
    expect(builtin.rules[1]!.onExitCodes).toEqual({ containerName: 'trainer', operator: 'In', values: [2, 3] });
    const container = rj('s3://d/x.csv', 's3://m/runs/');
    container.spec.trainer = { container: { image: 'example/trainer:1' } };
    expect(policy(buildTrainerJob(container, model, undefined, 'fluxora:test')).rules.map((r) => r.action)).toEqual(['Ignore']);
  });

  it('mounts nothing for object-store URIs', () => {
    const spec = podSpec(buildTrainerJob(rj('s3://data/churn.csv', 's3://models/runs/'), model, 's3://models/v1.onnx', 'fluxora:test'));
    expect(spec.volumes.map((v) => v.name)).toEqual(['tmp']);
  });
});
