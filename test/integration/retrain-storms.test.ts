// No retrain storms (issue 14, item 5), on the real control plane and a real
// MinIO: a DriftMonitor that follows the serving version's training data, the
// streak that restarts when another version serves, and the retrain budget.
//
// The checks run in this process, as the drift-check CronJob pod runs them
// (runDriftCheck, with a token of the check's own ServiceAccount), at times
// the test chooses: a monitor's RetrainJob is named after its verdict's time
// (retrainJobName), so the trainer's output can be written at the run's
// prefix before the operator creates it (the trainer contract; kwok completes
// the training Job at once). The operator runs as its own process and
// computes the digest of the training file, records the version and promotes
// it as it would in a cluster.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { retrainJobName } from '../../src/controllers/drift-monitor/retrain-trigger.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource, SecretResource } from '../../src/controllers/resource-types.js';
import { runDriftCheck } from '../../src/drift/check-run.js';
import { getCondition, kubeTime } from '../../src/runtime/conditions.js';
import { KubeClient, resourcePath, type KubeObject } from '../../src/runtime/kube-client.js';
import { sha256Hex, writeObject, type S3Options } from '../../src/storage/index.js';
import { createReadyModel, modelReady, operatorNamespace, retrainJobFinished, scrape, waitFor } from '../support/cluster.js';
import { createBucket, minio } from '../support/minio.js';

/** Seeded normal-ish rows (sum of uniforms); `shift` moves tenure and the share of plan "pro". */
function rows(n: number, shift: number, seed: number): string {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lines = ['tenure,plan'];
  for (let i = 0; i < n; i++) {
    const x = (rnd() + rnd() + rnd() - 1.5) * 10 + 30 + shift;
    lines.push(`${x.toFixed(4)},${rnd() < (shift > 0 ? 0.7 : 0.3) ? 'pro' : 'basic'}`);
  }
  return lines.join('\n') + '\n';
}

interface CronJob extends KubeObject {
  spec: { suspend: boolean; jobTemplate: { spec: { template: { metadata: { annotations?: Record<string, string> } } } } };
}
interface EventList {
  items: { type: string; reason: string; message: string; involvedObject: { kind?: string; name: string } }[];
}

describe('no retrain storms', () => {
  const suite = operatorNamespace('storms', {
    nodes: 'kwok',
    why: 'the checks run in-process at chosen times and the test writes the trainer output itself, so each verdict and each run outcome is exact; real pods run the loop in real-loop.test.ts',
  });
  const { client, ns } = suite;
  const bucket = `storms-${Date.now().toString(36)}`;
  const oldWorld = rows(800, 0, 1);
  const newWorld = rows(800, 6, 4);
  let s3: S3Options;
  let out: string;
  const clients: KubeClient[] = [];
  const savedEnv = { ...process.env };
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    const m = minio();
    s3 = { endpoint: m.endpoint, accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey };
    await createBucket(m, bucket);
    await writeObject(`s3://${bucket}/old-world.csv`, oldWorld, { s3 });
    await writeObject(`s3://${bucket}/new-world-train.csv`, newWorld, { s3 });
    await writeObject(`s3://${bucket}/live.csv`, rows(800, 6, 2), { s3 });
    // The check pod's AWS_* variables come from reference.credentialsSecretRef; this process is that pod.
    Object.assign(process.env, { AWS_ENDPOINT_URL: m.endpoint, AWS_ACCESS_KEY_ID: m.accessKeyId, AWS_SECRET_ACCESS_KEY: m.secretAccessKey, AWS_REGION: 'us-east-1' });
    await client.create(SecretResource, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's3', namespace: ns },
      stringData: { AWS_ENDPOINT_URL: m.endpoint, AWS_ACCESS_KEY_ID: m.accessKeyId, AWS_SECRET_ACCESS_KEY: m.secretAccessKey, AWS_REGION: 'us-east-1' },
    } as KubeObject);
    out = await mkdtemp(join(tmpdir(), 'fluxora-storms-'));
  }, 900_000);

  afterAll(() => {
    for (const c of clients) c.close();
    process.env = savedEnv;
  });

  /** A Model whose spec artifact declares it was trained on the old world. */
  const createModel = (name: string) =>
    createReadyModel(client, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name, namespace: ns },
      spec: {
        artifact: { uri: `file:///models/${name}/v1.onnx`, trainingData: { uri: `s3://${bucket}/old-world.csv`, sha256: sha256Hex(oldWorld) } },
        features: [{ name: 'tenure', type: 'numeric' }, { name: 'plan', type: 'categorical' }],
      },
    } as unknown as Model, { version: 'v1' });

  const createMonitor = (name: string, model: string, reference: Record<string, unknown>, retrain: Record<string, unknown> = {}) =>
    client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name, namespace: ns },
      spec: {
        modelRef: { name: model },
        schedule: '0 0 1 1 *',
        reference: { ...reference, credentialsSecretRef: { name: 's3' } },
        current: { uri: `s3://${bucket}/live.csv`, credentialsSecretRef: { name: 's3' } },
        retrain: {
          enabled: true,
          consecutiveChecks: 1,
          cooldown: '1s',
          template: {
            trainer: { builtin: { algorithm: 'logistic', target: 'churned' } },
            dataset: { uri: `s3://${bucket}/new-world-train.csv`, credentialsSecretRef: { name: 's3' } },
            output: { uri: `file://${out}/${name}/` },
          },
          ...retrain,
        },
      },
    } as unknown as DriftMonitor);

  /** A client with the check pod's identity: its ServiceAccount's token. */
  async function checkClient(monitor: string): Promise<KubeClient> {
    const sa = `${monitor}-drift-check`;
    await waitFor(`ServiceAccount ${sa}`, () => client.getOrUndefined({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true }, ns, sa));
    const token = await client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    });
    const admin = client.kubeConfig;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [admin.getCurrentCluster()!],
      users: [{ name: 'drift-check', token: token.status.token }],
      contexts: [{ name: 'c', cluster: admin.getCurrentCluster()!.name, user: 'drift-check' }],
      currentContext: 'c',
    });
    const c = new KubeClient(kc);
    clients.push(c);
    return c;
  }

  let lastCheck = 0;
  /**
   * One check of `monitor` now, as its CronJob pod runs it. Before it, the
   * output of the RetrainJob this verdict would start is written (auc as
   * given), so the run the operator may create finds it. Returns that name.
   */
  async function check(asCheck: KubeClient, monitor: string, trainerAuc = 0.9): Promise<{ verdict: DriftMonitor; retrain: string }> {
    // Verdicts are named by their second: one per second at most.
    while (Math.floor(Date.now() / 1000) <= lastCheck) await new Promise((r) => setTimeout(r, 100));
    const now = new Date();
    lastCheck = Math.floor(now.getTime() / 1000);
    const m = await client.get<DriftMonitor>(DriftMonitorType, ns, monitor);
    const retrain = retrainJobName(monitor, m.metadata.uid!, kubeTime(now));
    await mkdir(join(out, monitor, retrain), { recursive: true });
    await writeFile(join(out, monitor, retrain, 'model.onnx'), `onnx-of-${retrain}`);
    await writeFile(join(out, monitor, retrain, 'metrics.json'), JSON.stringify({ auc: trainerAuc, logloss: 0.4 }));
    const r = await runDriftCheck({ client: asCheck, namespace: ns, name: monitor, logger, now: () => now });
    if (r.result === 'failed') throw new Error(`check failed: ${r.reason}: ${r.message}`);
    return { verdict: await client.get<DriftMonitor>(DriftMonitorType, ns, monitor), retrain };
  }

  const runsOf = async (monitor: string) =>
    (await client.request<{ items: RetrainJob[] }>('GET', resourcePath(RetrainJobType, ns), { query: { labelSelector: `fluxora.io/drift-monitor=${monitor}` } })).items
      .map((r) => r.metadata.name)
      .sort();
  const quiet = (ms = 3000) => new Promise((r) => setTimeout(r, ms));
  const servingOf = async (model: string) => (await client.get<Model>(ModelType, ns, model)).status?.servingVersion;
  const monitorOf = (name: string) => client.get<DriftMonitor>(DriftMonitorType, ns, name);
  const events = async (name: string) =>
    (await client.request<EventList>('GET', `/api/v1/namespaces/${ns}/events`)).items.filter((e) => e.involvedObject.kind === 'DriftMonitor' && e.involvedObject.name === name);

  it('a world that shifted: following the serving version, one retrain and drift stops; a fixed reference retrains every cooldown', async () => {
    await createModel('follows');
    await createModel('fixed');
    await createMonitor('follows', 'follows', { fromServingVersion: true });
    await createMonitor('fixed', 'fixed', { uri: `s3://${bucket}/old-world.csv` });
    const cronOf = (name: string) => client.get<CronJob>(CronJobResource, ns, `${name}-drift-check`);
    const annotationsOf = async (name: string) => (await cronOf(name)).spec.jobTemplate.spec.template.metadata.annotations;
    // The CronJob names the serving version's reference: v1's declared training data.
    await waitFor('the CronJob follows v1', async () => (await annotationsOf('follows'))?.['fluxora.io/reference-version'] === 'v1');
    expect(await annotationsOf('follows')).toEqual({ 'fluxora.io/reference': `s3://${bucket}/old-world.csv`, 'fluxora.io/reference-version': 'v1' });
    await waitFor('the fixed monitor\'s CronJob', async () => client.getOrUndefined(CronJobResource, ns, 'fixed-drift-check'));
    expect(await annotationsOf('fixed')).toBeUndefined();
    const asFollows = await checkClient('follows');
    const asFixed = await checkClient('fixed');

    const promoted: Record<string, string[]> = { follows: [], fixed: [] };
    for (let round = 1; round <= 3; round++) {
      for (const [monitor, asCheck] of [['follows', asFollows], ['fixed', asFixed]] as const) {
        const before = await servingOf(monitor);
        const { verdict, retrain } = await check(asCheck, monitor);
        if (!verdict.status?.driftDetected) continue;
        // Drift: the operator starts the run, which is accepted and served.
        const rj = await retrainJobFinished(client, ns, retrain);
        expect(rj.status?.phase, `${monitor} round ${round}`).toBe('Succeeded');
        const model = await modelReady(client, ns, monitor, { version: rj.status!.promotedVersion! });
        expect(model.status?.servingVersion).not.toBe(before);
        promoted[monitor]!.push(rj.status!.promotedVersion!);
      }
    }
    // Following the serving version: one retrain. Its version records the file it was trained on, with
    // the digest the operator computed, and the next checks compare with it: the new world is no drift.
    expect(await runsOf('follows')).toHaveLength(1);
    expect(promoted.follows).toEqual(['v2']);
    const follows = await client.get<Model>(ModelType, ns, 'follows');
    expect(follows.status?.versions?.find((v) => v.name === 'v1')?.dataset).toEqual({ uri: `s3://${bucket}/old-world.csv`, sha256: sha256Hex(oldWorld) });
    expect(follows.status?.versions?.find((v) => v.name === 'v2')?.dataset).toEqual({ uri: `s3://${bucket}/new-world-train.csv`, sha256: sha256Hex(newWorld) });
    const m = await monitorOf('follows');
    expect(m.status).toMatchObject({
      driftDetected: false,
      consecutiveDriftChecks: 0,
      streakVersion: 'v2',
      reference: { uri: `s3://${bucket}/new-world-train.csv`, sha256: sha256Hex(newWorld), version: 'v2' },
    });
    expect(await annotationsOf('follows')).toEqual({ 'fluxora.io/reference': `s3://${bucket}/new-world-train.csv`, 'fluxora.io/reference-version': 'v2' });
    // A fixed reference keeps reading the new world as drift: a retrain every cooldown, one per check.
    expect(await runsOf('fixed')).toHaveLength(3);
    expect(promoted.fixed).toEqual(['v2', 'v3', 'v4']);
    // Each verdict starts a streak of its own version (the last one of v3, whose retrain is v4), and still drifts.
    expect((await monitorOf('fixed')).status).toMatchObject({ driftDetected: true, consecutiveDriftChecks: 1, streakVersion: 'v3', reference: { uri: `s3://${bucket}/old-world.csv` } });
  });

  it('a serving version without a data set: NoReferenceForVersion, the CronJob suspended, until the Model declares one', async () => {
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'undeclared', namespace: ns },
      spec: { artifact: { uri: 'file:///models/undeclared/v1.onnx' }, features: [{ name: 'tenure', type: 'numeric' }, { name: 'plan', type: 'categorical' }] },
    } as unknown as Model);
    await createMonitor('undeclared', 'undeclared', { fromServingVersion: true }, { enabled: false });
    // (Before the Model's first status, the same reason says it serves no version yet.)
    const m = await waitFor('NoReferenceForVersion for v1', async () => {
      const x = await monitorOf('undeclared');
      const ready = getCondition(x.status?.conditions, 'Ready');
      return ready?.reason === 'NoReferenceForVersion' && ready.message.includes('serves v1') ? x : undefined;
    });
    expect(getCondition(m.status?.conditions, 'Ready')?.message).toContain('Model "undeclared" serves v1, which records no training data set');
    expect(getCondition(m.status?.conditions, 'Stalled')).toBeUndefined();
    expect((await client.get<CronJob>(CronJobResource, ns, 'undeclared-drift-check')).spec.suspend).toBe(true);
    // The check itself refuses too (a pod that started before the operator suspended the CronJob).
    const r = await runDriftCheck({ client: await checkClient('undeclared'), namespace: ns, name: 'undeclared', logger });
    expect(r).toMatchObject({ result: 'failed', reason: 'NoReferenceForVersion' });
    // Declaring the artifact's training data records it on v1: the monitor follows, and the check runs.
    await client.request('PATCH', resourcePath(ModelType, ns, 'undeclared'), {
      body: { spec: { artifact: { trainingData: { uri: `s3://${bucket}/old-world.csv` } } } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('Ready with v1 data', async () => getCondition((await monitorOf('undeclared')).status?.conditions, 'Ready')?.status === 'True');
    expect((await client.get<CronJob>(CronJobResource, ns, 'undeclared-drift-check')).spec.suspend).toBe(false);
    const { verdict } = await check(await checkClient('undeclared'), 'undeclared');
    expect(verdict.status).toMatchObject({ driftDetected: true, streakVersion: 'v1', reference: { uri: `s3://${bucket}/old-world.csv`, version: 'v1' } });
  });

  it('a streak belongs to the serving version: a verdict while another version serves starts a new one (fixed reference)', async () => {
    await createModel('streaky');
    await createMonitor('streaky', 'streaky', { uri: `s3://${bucket}/old-world.csv` }, { consecutiveChecks: 2 });
    const asCheck = await checkClient('streaky');
    expect((await check(asCheck, 'streaky')).verdict.status).toMatchObject({ driftDetected: true, consecutiveDriftChecks: 1, streakVersion: 'v1' });
    // A new artifact: v2 serves. The old streak does not carry over, so this drifted verdict is the first of v2's.
    await client.request('PATCH', resourcePath(ModelType, ns, 'streaky'), {
      body: { spec: { artifact: { uri: 'file:///models/streaky/v2.onnx' } } },
      contentType: 'application/merge-patch+json',
    });
    await modelReady(client, ns, 'streaky', { version: 'v2' });
    expect((await check(asCheck, 'streaky')).verdict.status).toMatchObject({ driftDetected: true, consecutiveDriftChecks: 1, streakVersion: 'v2' });
    await quiet();
    expect(await runsOf('streaky')).toEqual([]);
    // The second of v2's does start one.
    const { verdict, retrain } = await check(asCheck, 'streaky');
    expect(verdict.status).toMatchObject({ consecutiveDriftChecks: 2, streakVersion: 'v2' });
    await waitFor('one retrain', async () => (await runsOf('streaky')).length === 1);
    expect(await runsOf('streaky')).toEqual([retrain]);
  });

  it('the budget: after N Rejected runs no more start (Stalled), until re-armed by the annotation or by a spec change', async () => {
    await createModel('gated');
    await createMonitor('gated', 'gated', { uri: `s3://${bucket}/old-world.csv` }, {
      maxConsecutiveRejections: 2,
      template: {
        trainer: { builtin: { algorithm: 'logistic', target: 'churned' } },
        dataset: { uri: `s3://${bucket}/new-world-train.csv`, credentialsSecretRef: { name: 's3' } },
        output: { uri: `file://${out}/gated/` },
        acceptance: { metric: 'auc', min: 0.95 },
      },
    });
    const asCheck = await checkClient('gated');
    /** A drifted check whose run the gate rejects. */
    const rejectedRound = async () => {
      const { retrain } = await check(asCheck, 'gated', 0.6);
      expect((await retrainJobFinished(client, ns, retrain)).status?.phase).toBe('Rejected');
      return retrain;
    };
    const stalled = () =>
      waitFor('Stalled RetrainBudgetExhausted', async () => {
        const m = await monitorOf('gated');
        return getCondition(m.status?.conditions, 'Stalled')?.reason === 'RetrainBudgetExhausted' ? m : undefined;
      }, 30_000);

    const first = [await rejectedRound(), await rejectedRound()];
    let m = await stalled();
    expect(getCondition(m.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'RetrainBudgetExhausted' });
    const message = getCondition(m.status?.conditions, 'Stalled')!.message;
    expect(message).toContain(`the last 2 RetrainJobs this monitor started for Model "gated" all ended Rejected (${[...first].reverse().join(', ')};`);
    expect(message).toContain('kubectl annotate driftmonitor gated fluxora.io/retrain-rearm=');
    expect(m.status?.retrainBudget).toMatchObject({ consecutiveRejections: 2, exhausted: true });
    await waitFor('Warning RetrainBudgetExhausted', async () => (await events('gated')).some((e) => e.type === 'Warning' && e.reason === 'RetrainBudgetExhausted'));
    expect(await scrape(suite.op!.metricsPort)).toContain(`fluxora_drift_retrain_budget_exhausted{namespace="${ns}",monitor="gated"} 1`);

    // Drift goes on; no run starts.
    const standing = await check(asCheck, 'gated', 0.6);
    expect(standing.verdict.status?.driftDetected).toBe(true);
    await quiet();
    expect(await runsOf('gated')).toEqual([...first].sort());

    // Re-armed by the annotation: the standing verdict starts its run at once; old rejections no longer count.
    await client.request('PATCH', resourcePath(DriftMonitorType, ns, 'gated'), {
      body: { metadata: { annotations: { 'fluxora.io/retrain-rearm': 'after-looking-at-the-gate' } } },
      contentType: 'application/merge-patch+json',
    });
    expect((await retrainJobFinished(client, ns, standing.retrain)).status?.phase).toBe('Rejected');
    m = await waitFor('one rejection counted since the re-arm', async () => {
      const x = await monitorOf('gated');
      return x.status?.retrainBudget?.consecutiveRejections === 1 ? x : undefined;
    });
    expect(m.status?.retrainBudget).toMatchObject({ armedBy: 'annotation fluxora.io/retrain-rearm="after-looking-at-the-gate"', consecutiveRejections: 1, exhausted: false });
    expect(getCondition(m.status?.conditions, 'Stalled')).toBeUndefined();
    await waitFor('Normal RetrainRearmed', async () => (await events('gated')).some((e) => e.type === 'Normal' && e.reason === 'RetrainRearmed'));
    await rejectedRound();
    m = await stalled();
    expect(m.status?.retrainBudget).toMatchObject({ consecutiveRejections: 2, exhausted: true });
    const noRun = await check(asCheck, 'gated', 0.6);
    await quiet();
    expect(await client.getOrUndefined(RetrainJobType, ns, noRun.retrain)).toBeUndefined();

    // Re-armed by a spec change (here the gate: what a person would fix): the standing verdict's run starts, and passes.
    await writeFile(join(out, 'gated', noRun.retrain, 'metrics.json'), JSON.stringify({ auc: 0.97, logloss: 0.2 }));
    await client.request('PATCH', resourcePath(DriftMonitorType, ns, 'gated'), {
      body: { spec: { retrain: { template: { acceptance: { metric: 'auc', min: 0.96 } } } } },
      contentType: 'application/merge-patch+json',
    });
    expect((await retrainJobFinished(client, ns, noRun.retrain)).status?.phase).toBe('Succeeded');
    m = await waitFor('Ready again', async () => {
      const x = await monitorOf('gated');
      return getCondition(x.status?.conditions, 'Ready')?.status === 'True' ? x : undefined;
    });
    expect(m.status?.retrainBudget).toMatchObject({ armedBy: `a spec change (generation ${m.metadata.generation})`, consecutiveRejections: 0, exhausted: false });
    expect(getCondition(m.status?.conditions, 'Ready')?.status).toBe('True');
    expect(await scrape(suite.op!.metricsPort)).toContain(`fluxora_drift_retrain_budget_exhausted{namespace="${ns}",monitor="gated"} 0`);
  });
});
