// The whole loop, on the real control plane with real MinIO: a Model serves
// v1 (a real `fluxora serve` process with the serving pod's arguments and
// environment), traffic from a shifted world reaches it, the DriftMonitor's
// check (run as a process with its CronJob's arguments and ServiceAccount)
// finds drift and creates one RetrainJob, the trainer (`fluxora train`, run
// with the Job pod's environment) writes v2 to MinIO, the gate compares it
// with v1 on the same holdout, and the Model and its Deployment move to v2,
// whose predictions a restarted serving process returns. The second loop
// trains a worse model: it is Rejected and v1 stays served.
//
// kwok only simulates pods, and it completes a Job's pod at once. So while
// the trainer runs, kwok is paused (SIGSTOP): the pod stays Pending, as a
// real pod would stay Running while training, and the Job succeeds only
// after the trainer has written its output, as in a cluster.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource, DeploymentResource, JobResource, PodResource, SecretResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import { type KubeClient, type KubeObject } from '../../src/runtime/kube-client.js';
import { loadOnnxModel } from '../../src/serving/onnx-model.js';
import { readObject, writeObject } from '../../src/storage/index.js';
import { normal, seededRandom } from '../../src/training/random.js';
import { localCommand, type LocalCommand } from '../../hack/run-local.js';
import { FEATURES, http, inferBody, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';
import { adminClient, createNamespace, NamespaceResource, retrainJobFinished, root, startOperator, waitFor, type OperatorProcess } from '../support/cluster.js';
import { argoHealth, kstatus } from '../support/gitops.js';
import { kwokControl, type TestPod } from '../support/kwok.js';
import { createBucket, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';

const BUCKET = 'fluxora-loop';
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Labelled rows: features ~ N(shift, 1), churned ~ Bernoulli(sigmoid(concept · x)). */
function dataset(rows: number, seed: number, shift: number, concept: readonly number[]): string {
  const rnd = seededRandom(seed);
  const g = normal(rnd);
  const lines = ['tenure,spend,visits,churned'];
  for (let i = 0; i < rows; i++) {
    const x = [g() + shift, g() + shift, g() + shift];
    const z = concept[3]! + x.reduce((s, v, j) => s + v * concept[j]!, 0);
    lines.push(`${x.map((v) => v.toFixed(5)).join(',')},${rnd() < sigmoid(z) ? 1 : 0}`);
  }
  return lines.join('\n') + '\n';
}

/** Feature rows only (live traffic has no labels). */
function traffic(rows: number, seed: number, shift: number): number[][] {
  const g = normal(seededRandom(seed));
  return Array.from({ length: rows }, () => [g() + shift, g() + shift, g() + shift]);
}

// The world the v1 model was trained on, and the one that arrives later:
// inputs move by +1.5 and the relationship to churn changes.
const OLD_CONCEPT = [1.5, -1, 0.5, 0];
const NEW_CONCEPT = [-1, 1.5, 0.5, -0.5];

interface Timer {
  mark(step: string): void;
  steps: [string, number][];
}
function timer(): Timer {
  let last = Date.now();
  const steps: [string, number][] = [];
  return {
    steps,
    mark(step) {
      const now = Date.now();
      steps.push([step, now - last]);
      last = now;
    },
  };
}


describe('the retrain loop: drift -> RetrainJob -> trainer -> gate -> promotion', () => {
  let client: KubeClient;
  let ns: string;
  let dir: string;
  let m: MinioEndpoint;
  let op: OperatorProcess | undefined;
  const servers: ServeProcess[] = [];
  const kwok = kwokControl(inject('kubeconfig'));
  const s3 = () => ({ s3: s3Options(m) });
  const uri = (key: string) => `s3://${BUCKET}/${ns}/${key}`;

  async function run(cmd: LocalCommand, extraEnv: Record<string, string> = {}): Promise<{ code: number; out: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...cmd.args], {
      cwd: root,
      env: { ...process.env, ...cmd.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    return { code, out };
  }

  /** A serving process standing in for one pod of the Model's current Deployment. */
  async function serveLikeThePod(model: string): Promise<ServeProcess> {
    const cmd = await localCommand(client, ns, `deployment/${model}`, dir);
    expect(cmd.args).toEqual(['serve']);
    const s = await spawnServe([], { ...cmd.env, FLUXORA_HOST: '127.0.0.1', FLUXORA_PORT: '0', FLUXORA_ADMIN_PORT: '0' });
    servers.push(s);
    return s;
  }

  async function predict(s: ServeProcess, model: string, rows: number[][]): Promise<{ version: string; values: number[] }> {
    const r = await http(s.port, { path: `/v2/models/${model}/infer`, body: inferBody(rows), headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(200);
    const body = r.json() as { model_version: string; outputs: { data: number[] }[] };
    return { version: body.model_version, values: body.outputs[0]!.data };
  }

  /** What onnxruntime computes for these rows with the artifact at `artifactUri`, read from MinIO directly. */
  async function expectedFrom(artifactUri: string, rows: number[][]): Promise<number[]> {
    const model = await loadOnnxModel(await readObject(artifactUri, s3()));
    try {
      const input = model.signature.inputs[0]!;
      const out = await model.run(new Map([[input.name, { datatype: 'FP32', shape: [rows.length, 3], data: Float32Array.from(rows.flat()) }]]));
      return Array.from(out.get(model.signature.outputs[0]!.name)!.data as Float32Array);
    } finally {
      await model.release();
    }
  }

  beforeAll(async () => {
    client = adminClient();
    ns = await createNamespace(client, 'loop');
    dir = await mkdtemp(join(tmpdir(), 'fluxora-loop-'));
    m = await startMinio();
    await createBucket(m, BUCKET);
    // The data the user keeps in object storage: what v1 was trained on, the
    // reference sample for drift, and labelled data from the new world.
    await writeObject(uri('data/history.csv'), dataset(3000, 1, 0, OLD_CONCEPT), s3());
    await writeObject(uri('data/reference.csv'), dataset(1000, 2, 0, OLD_CONCEPT), s3());
    await writeObject(uri('data/recent.csv'), dataset(3000, 3, 1.5, NEW_CONCEPT), s3());
    await writeObject(uri('data/recent-same-concept.csv'), dataset(3000, 4, 1.5, OLD_CONCEPT), s3());
    await client.create(SecretResource, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'storage', namespace: ns },
      stringData: { AWS_ACCESS_KEY_ID: m.accessKeyId, AWS_SECRET_ACCESS_KEY: m.secretAccessKey, AWS_ENDPOINT_URL: m.endpoint, AWS_REGION: 'us-east-1' },
    } as KubeObject);

    // v1: the built-in trainer on the historical data, run as the user would on a laptop.
    const v1 = await run({
      args: ['train'],
      env: {
        FLUXORA_DATASET_URI: uri('data/history.csv'),
        FLUXORA_OUTPUT_URI: uri('models/churn/v1/'),
        FLUXORA_TRAINER_CONFIG: JSON.stringify({ algorithm: 'logistic', target: 'churned', seed: 1 }),
        FLUXORA_FEATURES: JSON.stringify(FEATURES),
        AWS_ACCESS_KEY_ID: m.accessKeyId,
        AWS_SECRET_ACCESS_KEY: m.secretAccessKey,
        AWS_ENDPOINT_URL: m.endpoint,
        AWS_REGION: 'us-east-1',
      },
    });
    expect(v1.code, v1.out).toBe(0);
    op = await startOperator([`--namespace=${ns}`]);
  }, 300_000);

  afterAll(async () => {
    if (kwok.paused) kwok.pause(false);
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.exited));
    await op?.stop();
    await client.delete(NamespaceResource, undefined, ns);
    client.close();
  });

  /**
   * One turn of the loop for Model `name`; the DriftMonitor's retrain template
   * decides what the trainer learns from. Returns the finished RetrainJob.
   */
  async function loop(name: string, template: Record<string, unknown>, t: Timer): Promise<{ rj: RetrainJob; v1Server: ServeProcess }> {
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name, namespace: ns },
      spec: {
        artifact: { uri: uri('models/churn/v1/model.onnx'), credentialsSecretRef: { name: 'storage' } },
        features: FEATURES,
        serving: { replicas: 1, sampling: { rate: 1, bufferSize: 5000 } },
        promotion: { policy: 'Automatic' },
      },
    } as unknown as Model);
    await waitFor('Model v1 Ready', async () => getCondition((await client.get<Model>(ModelType, ns, name)).status?.conditions, 'Ready')?.status === 'True');
    t.mark('Model applied -> Ready (Deployment rolled out on kwok)');

    const v1Server = await serveLikeThePod(name);
    expect((await predict(v1Server, name, [[0, 0, 0]])).version).toBe('v1');
    t.mark('serving process with the pod env loaded v1 from MinIO');

    const rows = traffic(600, 7, 1.5);
    for (let i = 0; i < rows.length; i += 50) await predict(v1Server, name, rows.slice(i, i + 50));
    t.mark('600 requests from the shifted world');

    await client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name: `${name}-drift`, namespace: ns },
      spec: {
        modelRef: { name },
        schedule: '*/30 * * * *',
        reference: { uri: uri('data/reference.csv'), credentialsSecretRef: { name: 'storage' } },
        current: { source: 'Serving', minSamples: 500 },
        retrain: { enabled: true, consecutiveChecks: 1, cooldown: '1h', template },
      },
    } as unknown as DriftMonitor);
    await waitFor('drift-check CronJob', () => client.getOrUndefined(CronJobResource, ns, `${name}-drift-drift-check`));

    // The serving pod's admin address (a kwok pod IP) stands for our local process.
    const slices = await client.request<{ items: { ports?: { name?: string; port?: number }[]; endpoints?: { addresses: string[] }[] }[] }>(
      'GET',
      `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
      { query: { labelSelector: `kubernetes.io/service-name=${name}` } },
    );
    const pods = slices.items.flatMap((s) => (s.endpoints ?? []).map((e) => `${e.addresses[0]}:${s.ports?.find((p) => p.name === 'admin')?.port}`));
    expect(pods).toHaveLength(1);
    const addressMap = `${pods[0]}=127.0.0.1:${v1Server.adminPort}`;

    kwok.pause(true);
    try {
      return await checkTrainAndFinish(name, addressMap, t, v1Server);
    } finally {
      if (kwok.paused) kwok.pause(false);
    }
  }

  async function checkTrainAndFinish(name: string, addressMap: string, t: Timer, v1Server: ServeProcess): Promise<{ rj: RetrainJob; v1Server: ServeProcess }> {
    const check = await run(await localCommand(client, ns, `cronjob/${name}-drift-drift-check`, dir), { FLUXORA_SAMPLES_ADDRESS_MAP: addressMap });
    expect(check.code, check.out).toBe(0);
    const monitor = await client.get<DriftMonitor>(DriftMonitorType, ns, `${name}-drift`);
    expect(monitor.status).toMatchObject({ driftDetected: true, sampleCount: 601 }); // the traffic and the first probe
    // GitOps tools on this real object: drift is news, not ill health.
    const health = argoHealth('driftmonitor', monitor);
    expect(health.status).toBe('Healthy');
    expect(health.message).toMatch(/^Drift detected/);
    expect(kstatus([monitor])[0]!.status).toBe('Current');
    t.mark('drift-check (CronJob args, its ServiceAccount) found drift');

    const retrains = await waitFor('one RetrainJob', async () => {
      const mine = (await client.list<RetrainJob>(RetrainJobType, ns, `fluxora.io/model=${name}`)).filter((r) => r.spec.modelRef.name === name);
      return mine.length ? mine : undefined;
    });
    expect(retrains).toHaveLength(1);
    const rjName = retrains[0]!.metadata.name;
    const pod = await waitFor('trainer pod (Pending while kwok is paused)', async () => {
      return (await client.list<TestPod>(PodResource, ns, `fluxora.io/retrain-job=${rjName}`))[0];
    });
    expect(await client.getOrUndefined(JobResource, ns, rjName)).toBeDefined();
    const running = await waitFor('RetrainJob Running', async () => {
      const r = await client.get<RetrainJob>(RetrainJobType, ns, rjName);
      return r.status?.phase === 'Running' ? r : undefined;
    });
    expect(argoHealth('retrainjob', running).status).toBe('Progressing');
    expect(kstatus([running])[0]!.status).toBe('InProgress');
    t.mark('RetrainJob -> trainer Job -> pod created');

    const trainer = await run(await localCommand(client, ns, `pod/${pod.metadata.name}`, dir));
    expect(trainer.code, trainer.out).toBe(0);
    t.mark('trainer (the pod args/env) wrote model.onnx + metrics.json to MinIO');

    kwok.pause(false);
    const rj = await retrainJobFinished(client, ns, rjName);
    t.mark(`Job completed -> RetrainJob ${rj.status?.phase}`);
    // Flux and Argo CD judge the finished run: a Succeeded run is healthy, a Rejected one needs a human.
    const judged = rj.status?.phase === 'Succeeded' ? { argo: 'Healthy', flux: 'Current' } : { argo: 'Degraded', flux: 'Failed' };
    expect(argoHealth('retrainjob', rj).status).toBe(judged.argo);
    expect(kstatus([rj])[0]!.status).toBe(judged.flux);
    return { rj, v1Server };
  }

  it('drift starts one retrain; the better model is accepted, promoted, rolled out and served', async () => {
    const t = timer();
    const { rj, v1Server } = await loop(
      'churn',
      {
        trainer: { builtin: { algorithm: 'logistic', target: 'churned', seed: 42 } },
        dataset: { uri: uri('data/recent.csv'), credentialsSecretRef: { name: 'storage' } },
        output: { uri: uri('models/churn/runs'), credentialsSecretRef: { name: 'storage' } },
        acceptance: { metric: 'auc', min: 0.7, mustBeatServing: true },
      },
      t,
    );
    expect(rj.status?.phase, JSON.stringify(rj.status)).toBe('Succeeded');
    expect(rj.status?.promotedVersion).toBe('v2');
    const metrics = rj.status?.metrics as Record<string, number>;
    expect(metrics.auc).toBeGreaterThan(0.8);

    const model = await waitFor('Model serves v2 and is Ready', async () => {
      const mo = await client.get<Model>(ModelType, ns, 'churn');
      return mo.status?.servingVersion === 'v2' && getCondition(mo.status.conditions, 'Ready')?.status === 'True' ? mo : undefined;
    });
    const v2 = model.status!.versions!.find((v) => v.name === 'v2')!;
    expect(v2.uri).toBe(`${uri('models/churn/runs')}/${rj.metadata.name}/model.onnx`);
    const dep = await client.get<KubeObject & { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } }>(
      DeploymentResource,
      ns,
      'churn',
    );
    expect(dep.spec.template.spec.containers[0]!.env.find((e) => e.name === 'FLUXORA_MODEL_URI')?.value).toBe(v2.uri);
    t.mark('Model status + Deployment moved to v2 (rollout Ready)');

    // The rolled-out pod's environment now serves v2 (with its sha256 checked on load).
    const v2Server = await serveLikeThePod('churn');
    const probe = traffic(5, 99, 1.5);
    const got = await predict(v2Server, 'churn', probe);
    expect(got.version).toBe('v2');
    const expected = await expectedFrom(v2.uri, probe);
    got.values.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    const before = await predict(v1Server, 'churn', probe);
    expect(before.version).toBe('v1');
    expect(before.values).not.toEqual(got.values);
    t.mark('restarted serving process answers from v2');
    console.log(`retrain loop (accepted), step timings:\n${t.steps.map(([s, ms]) => `  ${(ms / 1000).toFixed(2).padStart(6)} s  ${s}`).join('\n')}`);
    console.log(`  gate: ${getCondition(rj.status?.conditions, 'Ready')?.message ?? ''}`);
  });

  it('a trainer that produces a worse model ends Rejected, and v1 stays served', async () => {
    const t = timer();
    const { rj } = await loop(
      'churn-b',
      {
        // Only the weakest feature: whatever it learns ranks churn worse than v1 does.
        trainer: { builtin: { algorithm: 'logistic', target: 'churned', features: ['visits'], seed: 42 } },
        dataset: { uri: uri('data/recent-same-concept.csv'), credentialsSecretRef: { name: 'storage' } },
        output: { uri: uri('models/churn-b/runs'), credentialsSecretRef: { name: 'storage' } },
        acceptance: { metric: 'auc', mustBeatServing: true },
      },
      t,
    );
    expect(rj.status?.phase).toBe('Rejected');
    expect(getCondition(rj.status?.conditions, 'Failed')).toMatchObject({ status: 'True', reason: 'NotBetterThanServing' });
    expect(rj.status?.promotedVersion).toBeUndefined();
    const model = await client.get<Model>(ModelType, ns, 'churn-b');
    expect(model.status?.servingVersion).toBe('v1');
    expect(model.status?.versions?.map((v) => v.name)).toEqual(['v1']);
    console.log(`retrain loop (rejected), step timings:\n${t.steps.map(([s, ms]) => `  ${(ms / 1000).toFixed(2).padStart(6)} s  ${s}`).join('\n')}`);
    console.log(`  gate: ${getCondition(rj.status?.conditions, 'Failed')?.message ?? ''}`);
  });
});
