import { describe, expect, it } from 'vitest';
import type { Model, RetrainJob } from '../../api/index.js';
import { buildTrainerJob, trainingWindow } from './job.js';

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

  describe('with the prediction log as the data set', () => {
    const logged = (o: { builtin?: boolean; labelsSecret?: boolean; logSecret?: boolean; artifactSecret?: boolean; labels?: string } = {}) => {
      const job = rj('s3://unused/x.csv', 's3://models/runs/');
      job.metadata.creationTimestamp = '2026-03-14T12:00:00Z';
      job.spec.dataset = {
        predictionLog: {
          window: '168h',
          labelDelay: '2h',
          minRows: 500,
          labels: { uri: o.labels ?? 's3://labels/churn/', idColumn: 'request_id', labelColumn: 'outcome', ...(o.labelsSecret ? { credentialsSecretRef: { name: 'labels-store' } } : {}) },
        },
      };
      if (o.builtin === false) job.spec.trainer = { container: { image: 'example/trainer:1' } };
      const m = structuredClone(model);
      m.spec.serving = { predictionLog: { uri: 's3://logs/predictions', ...(o.logSecret ? { credentialsSecretRef: { name: 'log-store' } } : {}) } } as Model['spec']['serving'];
      if (o.artifactSecret) m.spec.artifact.credentialsSecretRef = { name: 'artifact-store' };
      job.spec.output.credentialsSecretRef = { name: 'output-store' };
      return { job, m };
    };
    type Container = { name: string; image: string; args: string[]; env: { name: string; value: string }[]; envFrom?: unknown[]; securityContext: unknown; volumeMounts: unknown[] };
    const pod = (j: ReturnType<typeof buildTrainerJob>) =>
      (j as unknown as { spec: { template: { spec: { initContainers?: Container[]; containers: Container[] } } } }).spec.template.spec;
    const envOf = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value]));

    it('fixes the window by the creation time: to = created - labelDelay, from = to - window', () => {
      const { job } = logged();
      expect(trainingWindow(job)).toEqual({ from: new Date('2026-03-07T10:00:00Z'), to: new Date('2026-03-14T10:00:00Z') });
      expect(trainingWindow(rj('s3://d/x.csv', 's3://m/'))).toBeUndefined();
    });

    it('runs fluxora dataset-build first, with the window, the log, the features and the labels, and the trainer reads its dataset.csv', () => {
      const { job, m } = logged();
      const spec = pod(buildTrainerJob(job, m, 's3://models/v1.onnx', 'fluxora:test'));
      const [init] = spec.initContainers!;
      expect(init).toMatchObject({ name: 'dataset', image: 'fluxora:test', args: ['dataset-build'] });
      expect(envOf(init!)).toEqual({
        FLUXORA_PREDICTION_LOG_URI: 's3://logs/predictions',
        FLUXORA_MODEL_NAME: 'churn',
        FLUXORA_FEATURES: JSON.stringify(m.spec.features),
        FLUXORA_DATASET_WINDOW_FROM: '2026-03-07T10:00:00.000Z',
        FLUXORA_DATASET_WINDOW_TO: '2026-03-14T10:00:00.000Z',
        FLUXORA_LABELS_URI: 's3://labels/churn/',
        FLUXORA_LABELS_ID_COLUMN: 'request_id',
        FLUXORA_LABELS_LABEL_COLUMN: 'outcome',
        // The built-in trainer looks for its target: the label column is named after it.
        FLUXORA_DATASET_TARGET: 'y',
        FLUXORA_DATASET_MIN_ROWS: '500',
        FLUXORA_OUTPUT_URI: 's3://models/runs/rj-1/',
        FLUXORA_PVC_ROOT: '/mnt/fluxora/pvc',
      });
      expect(init!.securityContext).toEqual(spec.containers[0]!.securityContext);
      expect(envOf(spec.containers[0]!).FLUXORA_DATASET_URI).toBe('s3://models/runs/rj-1/dataset.csv');
      // The trainer gets no labels or log credentials: it reads one file from the output prefix.
      expect(spec.containers[0]!.envFrom).toEqual([{ secretRef: { name: 'output-store' } }]);
    });

    it("passes the log's credentials (the artifact's, the log's own over them) and the labels' with their own prefixes, the output's as AWS_*", () => {
      const own = logged({ logSecret: true, artifactSecret: true, labelsSecret: true });
      expect(pod(buildTrainerJob(own.job, own.m, undefined, 'fluxora:test')).initContainers![0]!.envFrom).toEqual([
        { secretRef: { name: 'output-store' } },
        // Layered as the serving pod sees them: a key the log's Secret leaves out (the endpoint) comes from the artifact's.
        { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'artifact-store' } },
        { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'log-store' } },
        { prefix: 'FLUXORA_LABELS_', secretRef: { name: 'labels-store' } },
      ]);
      const fallback = logged({ artifactSecret: true });
      expect(pod(buildTrainerJob(fallback.job, fallback.m, undefined, 'fluxora:test')).initContainers![0]!.envFrom).toEqual([
        { secretRef: { name: 'output-store' } },
        { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'artifact-store' } },
      ]);
    });

    it("a container trainer gets the labels' own column name", () => {
      const { job, m } = logged({ builtin: false });
      expect(envOf(pod(buildTrainerJob(job, m, undefined, 'fluxora:test')).initContainers![0]!).FLUXORA_DATASET_TARGET).toBe('outcome');
    });

    it('fails the Job at once on the permanent exit codes of the data set step, for any trainer', () => {
      type Policy = { rules: { action: string; onExitCodes?: { containerName: string; operator: string; values: number[] } }[] };
      const { job, m } = logged({ builtin: false });
      const policy = (buildTrainerJob(job, m, undefined, 'fluxora:test') as unknown as { spec: { podFailurePolicy: Policy } }).spec.podFailurePolicy;
      expect(policy.rules.map((r) => r.action)).toEqual(['Ignore', 'FailJob']);
      expect(policy.rules[1]!.onExitCodes).toEqual({ containerName: 'dataset', operator: 'In', values: [2, 3, 4] });
    });

    it('mounts pvc:// labels read-only for the step', () => {
      const { job, m } = logged({ labels: 'pvc://labels/churn/' });
      const spec = podSpec(buildTrainerJob(job, m, undefined, 'fluxora:test'));
      expect(spec.volumes.filter((v) => v.persistentVolumeClaim).map((v) => v.persistentVolumeClaim)).toEqual([{ claimName: 'labels', readOnly: true }]);
      const init = pod(buildTrainerJob(job, m, undefined, 'fluxora:test')).initContainers![0]!;
      expect(init.volumeMounts).toContainEqual({ name: 'data-0', mountPath: '/mnt/fluxora/pvc/labels', readOnly: true });
    });
  });
});
