// The RetrainJob controller on the real control plane: it runs the trainer
// Job (kube-controller-manager + kwok complete it), reads the trainer's
// output, gates it, and promotes an accepted version so the Model's
// Deployment rolls to it. The trainer's output is written by the test at the
// run's prefix (the trainer contract), standing in for the trainer process.
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Model, RetrainJob } from '../../src/api/index.js';
import { ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { DeploymentResource, JobResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import type { KubeObject } from '../../src/runtime/kube-client.js';
import { sha256Hex } from '../../src/storage/index.js';
import { SecretResource } from '../../src/controllers/resource-types.js';
import { closedPort } from '../corpus/artifacts/harness.js';
import { createReadyModel, operatorNamespace, retrainJobFinished, scrape, waitFor } from '../support/cluster.js';

interface EventList {
  items: { type: string; reason: string; message: string; involvedObject: { kind?: string; name: string } }[];
}

interface Job extends KubeObject {
  spec: { backoffLimit: number; activeDeadlineSeconds: number; template: { spec: { containers: { args?: string[]; env: { name: string; value?: string }[] }[] } } };
}
interface Deployment extends KubeObject {
  spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
}

describe('RetrainJob controller', () => {
  const suite = operatorNamespace('retrain', {
    nodes: 'kwok',
    why: 'the test writes the trainer output itself (the trainer contract) to reach each gate outcome; the real trainer pod runs in real-loop.test.ts',
  });
  const { client, ns } = suite;
  let out: string;

  const retrainJob = (name: string, acceptance?: Record<string, unknown>, spec: Record<string, unknown> = {}): RetrainJob =>
    ({
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'RetrainJob',
      metadata: { name, namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        trainer: { builtin: { algorithm: 'logistic', target: 'churned', seed: 7 } },
        dataset: { uri: 's3://data/churn/train.csv' },
        output: { uri: `file://${out}` },
        ...spec,
        ...(acceptance ? { acceptance } : {}),
        backoffLimit: 1,
        activeDeadlineSeconds: 600,
      },
    }) as unknown as RetrainJob;

  async function trainerOutput(run: string, metrics: unknown, model = `onnx-bytes-of-${run}`) {
    await mkdir(join(out, run), { recursive: true });
    await writeFile(join(out, run, 'model.onnx'), model);
    await writeFile(join(out, run, 'metrics.json'), JSON.stringify(metrics));
  }

  const finished = (name: string) => retrainJobFinished(client, ns, name);

  /** The Warning Events of one RetrainJob, as `kubectl describe` lists them. */
  const warnings = async (name: string) =>
    waitFor(`a Warning Event on ${name}`, async () => {
      const events = await client.request<EventList>('GET', `/api/v1/namespaces/${ns}/events`);
      const mine = events.items.filter((e) => e.involvedObject.kind === 'RetrainJob' && e.involvedObject.name === name && e.type === 'Warning');
      return mine.length ? mine : undefined;
    }, 15_000);

  const served = async () => {
    const m = await client.get<Model>(ModelType, ns, 'churn');
    return m;
  };

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'fluxora-runs-'));
    await createReadyModel(
      client,
      {
        apiVersion: 'fluxora.io/v1alpha1',
        kind: 'Model',
        metadata: { name: 'churn', namespace: ns },
        spec: { artifact: { uri: 'file:///models/churn/v1.onnx' }, features: [{ name: 'tenure', type: 'numeric' }] },
      } as unknown as Model,
      { version: 'v1' },
    );
  });

  it('runs the trainer Job under the contract, accepts a better model and rolls the Model to it', async () => {
    await trainerOutput('rj-good', { auc: 0.91, logloss: 0.3, rows: 1000, serving: { auc: 0.72 } });
    await client.create(RetrainJobType, retrainJob('rj-good', { metric: 'auc', min: 0.8, mustBeatServing: true }));

    const job = await waitFor('trainer Job', () => client.getOrUndefined<Job>(JobResource, ns, 'rj-good'));
    const env = Object.fromEntries(job.spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      FLUXORA_DATASET_URI: 's3://data/churn/train.csv',
      FLUXORA_OUTPUT_URI: `file://${out}/rj-good/`,
      FLUXORA_SERVING_URI: 'file:///models/churn/v1.onnx',
    });
    expect(JSON.parse(env.FLUXORA_TRAINER_CONFIG!)).toMatchObject({ algorithm: 'logistic', target: 'churned', seed: 7 });
    expect(job.spec.template.spec.containers[0]!.args).toEqual(['train']);
    expect(job.spec).toMatchObject({ backoffLimit: 1, activeDeadlineSeconds: 600 });
    expect(job.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'RetrainJob', name: 'rj-good' });

    const rj = await finished('rj-good');
    expect(rj.status).toMatchObject({
      phase: 'Succeeded',
      promotedVersion: 'v2',
      jobName: 'rj-good',
      artifact: { uri: `file://${out}/rj-good/model.onnx`, sha256: sha256Hex('onnx-bytes-of-rj-good') },
      metrics: { auc: 0.91, logloss: 0.3, rows: 1000 },
    });
    expect(getCondition(rj.status?.conditions, 'Promoted')).toMatchObject({ status: 'True', reason: 'AutomaticPromotion' });
    expect(getCondition(rj.status?.conditions, 'Ready')?.status).toBe('True');

    const model = await waitFor('model serves v2', async () => {
      const m = await served();
      return m.status?.servingVersion === 'v2' && getCondition(m.status.conditions, 'Ready')?.status === 'True' ? m : undefined;
    });
    expect(model.status?.versions?.find((v) => v.name === 'v2')).toMatchObject({ source: 'RetrainJob/rj-good', metrics: { auc: 0.91 } });
    const dep = await client.get<Deployment>(DeploymentResource, ns, 'churn');
    expect(dep.spec.template.spec.containers[0]!.env.find((e) => e.name === 'FLUXORA_MODEL_URI')?.value).toBe(`file://${out}/rj-good/model.onnx`);
  });

  it('rejects a worse model and keeps the served version', async () => {
    await trainerOutput('rj-worse', { auc: 0.85 });
    await client.create(RetrainJobType, retrainJob('rj-worse', { metric: 'auc', mustBeatServing: true }));
    const rj = await finished('rj-worse');
    expect(rj.status?.phase).toBe('Rejected');
    expect(getCondition(rj.status?.conditions, 'Failed')).toMatchObject({ status: 'True', reason: 'NotBetterThanServing' });
    expect(getCondition(rj.status?.conditions, 'Failed')?.message).toContain("does not beat the serving version's 0.91");
    expect(rj.status?.promotedVersion).toBeUndefined();
    const m = await served();
    expect(m.status?.servingVersion).toBe('v2');
    expect(m.status?.versions?.map((v) => v.name)).toEqual(['v1', 'v2']);
  });

  it('fails clearly when the trainer wrote nothing, and the run stays a record', async () => {
    await client.create(RetrainJobType, retrainJob('rj-empty'));
    const rj = await finished('rj-empty');
    expect(rj.status?.phase).toBe('Failed');
    expect(getCondition(rj.status?.conditions, 'Stalled')).toMatchObject({ status: 'True', reason: 'OutputMissing' });
    expect(getCondition(rj.status?.conditions, 'Ready')?.message).toContain('metrics.json');
    // Every failure is a Warning Event, not only a Normal JobCreated (issue 13, item 5).
    expect((await warnings('rj-empty')).map((e) => e.reason)).toEqual(['OutputMissing']);
  });

  it('a missing output credentials Secret fails the run with CredentialsNotFound and a Warning Event', async () => {
    await client.create(RetrainJobType, retrainJob('rj-nocreds', undefined, { output: { uri: 's3://models/churn/', credentialsSecretRef: { name: 'no-such-secret' } } }));
    const rj = await finished('rj-nocreds');
    expect(rj.status?.phase).toBe('Failed');
    expect(getCondition(rj.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'CredentialsNotFound' });
    const w = await warnings('rj-nocreds');
    expect(w.map((e) => e.reason)).toEqual(['CredentialsNotFound']);
    expect(w[0]!.message).toContain('no-such-secret');
  });

  it('a non-numeric acceptance metric is broken trainer output: Failed, not Rejected', async () => {
    await trainerOutput('rj-words', { auc: 'high', logloss: 0.3 });
    await client.create(RetrainJobType, retrainJob('rj-words', { metric: 'auc', min: 0.7 }));
    const rj = await finished('rj-words');
    expect(rj.status?.phase).toBe('Failed');
    expect(getCondition(rj.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidMetrics' });
    expect(getCondition(rj.status?.conditions, 'Ready')?.message).toContain('"auc" is "high", not a number');
    expect((await warnings('rj-words')).map((e) => e.reason)).toEqual(['InvalidMetrics']);
  });

  it('an unreachable output store keeps the finished run Evaluating with the storage error, and a deleted Model ends it as Failed, never Pending', async () => {
    // A Model of its own, deleted below; the store is a port nothing listens on.
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'gone', namespace: ns },
      spec: { artifact: { uri: 'file:///models/gone/v1.onnx' }, features: [{ name: 'tenure', type: 'numeric' }] },
    } as unknown as Model);
    const port = await closedPort();
    await client.create(SecretResource, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'unreachable-store', namespace: ns },
      stringData: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` },
    } as KubeObject);
    await client.create(RetrainJobType, retrainJob('rj-unreachable', undefined, {
      modelRef: { name: 'gone' },
      output: { uri: 's3://models/gone/', credentialsSecretRef: { name: 'unreachable-store' } },
    }));
    await waitFor('Job complete', async () => {
      const j = await client.getOrUndefined<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(JobResource, ns, 'rj-unreachable');
      return j?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True');
    });
    const evaluating = await waitFor('Evaluating', async () => {
      const r = await client.get<RetrainJob>(RetrainJobType, ns, 'rj-unreachable');
      return r.status?.phase === 'Evaluating' ? r : undefined;
    }, 30_000);
    const ready = getCondition(evaluating.status?.conditions, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'OutputUnreachable' });
    expect(ready?.message).toContain(`127.0.0.1:${port}`);
    expect(getCondition(evaluating.status?.conditions, 'Reconciling')?.status).toBe('True');
    expect(getCondition(evaluating.status?.conditions, 'Stalled')).toBeUndefined();
    expect(evaluating.status?.completionTime).toBeUndefined();

    await client.delete(ModelType, ns, 'gone');
    const rj = await finished('rj-unreachable');
    expect(rj.status?.phase).toBe('Failed');
    expect(getCondition(rj.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'ModelNotFound' });
    expect(getCondition(rj.status?.conditions, 'Ready')?.message).toContain('finished');
    expect((await warnings('rj-unreachable')).map((e) => e.reason)).toEqual(['ModelNotFound']);
    // A finished run is a record: it keeps its phase.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await client.get<RetrainJob>(RetrainJobType, ns, 'rj-unreachable')).status?.phase).toBe('Failed');
  });

  it('a training Job the API server refuses (here a quota) fails the run with its message and a Warning Event', async () => {
    await client.create({ group: '', version: 'v1', kind: 'ResourceQuota', plural: 'resourcequotas', namespaced: true }, {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'no-jobs', namespace: ns },
      spec: { hard: { 'count/jobs.batch': '0' } },
    } as KubeObject);
    try {
      await waitFor('quota counted', async () => {
        const q = await client.get<KubeObject & { status?: { hard?: Record<string, string> } }>({ group: '', version: 'v1', kind: 'ResourceQuota', plural: 'resourcequotas', namespaced: true }, ns, 'no-jobs');
        return q.status?.hard?.['count/jobs.batch'] === '0';
      });
      await client.create(RetrainJobType, retrainJob('rj-refused'));
      const rj = await finished('rj-refused');
      expect(rj.status?.phase).toBe('Failed');
      const ready = getCondition(rj.status?.conditions, 'Ready');
      expect(ready).toMatchObject({ status: 'False', reason: 'ChildRejected' });
      expect(ready?.message).toContain('exceeded quota');
      expect(getCondition(rj.status?.conditions, 'Stalled')?.status).toBe('True');
      expect((await warnings('rj-refused')).map((e) => e.reason)).toEqual(['ChildRejected']);
      expect(await client.getOrUndefined(JobResource, ns, 'rj-refused')).toBeUndefined();
    } finally {
      await client.delete({ group: '', version: 'v1', kind: 'ResourceQuota', plural: 'resourcequotas', namespaced: true }, ns, 'no-jobs');
    }
  });

  it('rolls back through pinnedVersion, and deleting a RetrainJob deletes its Job', async () => {
    await client.request('PATCH', `/apis/fluxora.io/v1alpha1/namespaces/${ns}/models/churn`, {
      body: { spec: { pinnedVersion: 'v1' } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('back on v1', async () => (await served()).status?.servingVersion === 'v1');
    await client.delete(RetrainJobType, ns, 'rj-good');
    await waitFor('Job collected', async () => !(await client.getOrUndefined(JobResource, ns, 'rj-good')), 60_000);

    const metrics = await scrape(suite.op!.metricsPort);
    expect(metrics).toContain(`fluxora_retrain_jobs_total{namespace="${ns}",result="Succeeded"} 1`);
    expect(metrics).toContain(`fluxora_retrain_jobs_total{namespace="${ns}",result="Rejected"} 1`);
    expect(metrics).toContain(`fluxora_retrain_jobs_total{namespace="${ns}",result="Failed"} 5`);
    expect(metrics).toContain(`fluxora_promotions_total{namespace="${ns}",model="churn"} 1`);
    expect(metrics).toContain(`fluxora_model_serving_version_info{namespace="${ns}",model="churn",version="v1"} 1`);
  });

  it("under Shadow an accepted version becomes the Model's candidate, and the run's Promoted condition tells what the analysis decided", async () => {
    // kwok pods never answer the operator's reads, so this analysis ends at its deadline: Reject.
    await client.request('PATCH', `/apis/fluxora.io/v1alpha1/namespaces/${ns}/models/churn`, {
      body: { spec: { pinnedVersion: null, promotion: { strategy: 'Shadow', analysis: { interval: '2s', deadline: '15s', onDeadline: 'Reject' } } } },
      contentType: 'application/merge-patch+json',
    });
    await trainerOutput('rj-shadow', { auc: 0.93, rows: 1000, serving: { auc: 0.72 } });
    await client.create(RetrainJobType, retrainJob('rj-shadow', { metric: 'auc', min: 0.8, mustBeatServing: true }));
    const rj = await finished('rj-shadow');
    const version = rj.status!.promotedVersion!;
    expect(rj.status?.phase).toBe('Succeeded');
    expect(getCondition(rj.status?.conditions, 'Promoted')).toMatchObject({ status: 'Unknown', reason: 'CandidateUnderAnalysis' });
    expect(getCondition(rj.status?.conditions, 'Promoted')?.message).toContain(`recorded as ${version}, the Model's candidate: its Shadow analysis on live traffic decides`);

    // The candidate runs beside the champion, which keeps serving.
    const candidate = await waitFor('the candidate Deployment', () => client.getOrUndefined<Deployment>(DeploymentResource, ns, 'churn-candidate'));
    expect(candidate.spec.template.spec.containers[0]!.env.find((e) => e.name === 'FLUXORA_MODEL_URI')?.value).toBe(`file://${out}/rj-shadow/model.onnx`);
    expect((await served()).status?.servingVersion).not.toBe(version);

    const decided = await waitFor('the run says what the analysis decided', async () => {
      const r = await client.get<RetrainJob>(RetrainJobType, ns, 'rj-shadow');
      const c = getCondition(r.status?.conditions, 'Promoted');
      return c?.status !== 'Unknown' ? c : undefined;
    }, 60_000, 500);
    expect(decided).toMatchObject({ status: 'False', reason: 'CandidateRejected' });
    expect(decided?.message).toMatch(new RegExp(`^${version} is not served: deadline 15s reached`));
    expect((await served()).status?.promotion?.blockedVersions?.map((b) => b.version)).toContain(version);
    // The run's only Warning: the Event follows the status write it reports on, so warnings() waits for it.
    expect(await warnings('rj-shadow')).toEqual([expect.objectContaining({ type: 'Warning', reason: 'CandidateRejected', message: decided?.message })]);
  });
});
