// Safe promotion on real pods on the real Node, the operator as a process of
// its own (so it can be killed with SIGKILL mid-analysis), MinIO holding the
// versions. Live traffic flows through the Model's Service the whole time:
//   Shadow: a candidate that agrees is promoted; the guard watches it;
//   Shadow: one that disagrees, one whose pods cannot load their model, one
//   that agrees but is slow, and one that fails at run time are each
//   rejected with the figure that failed;
//   the operator killed -9 during an analysis: one decision, no lost figures;
//   Canary: a candidate gets its share of the pods and is promoted;
//   the guard: outputs that move after promotion roll the version back;
//   a pin by digest, and spec.artifact set back to an old file.
// Nothing is simulated: the champion's pods mirror to the candidate's pods,
// both count their figures, the operator reads them from the admin ports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src/api/index.js';
import { ModelType } from '../../src/controllers/fluxora-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import { resourcePath, type KubeObject } from '../../src/runtime/kube-client.js';
import { writeObject } from '../../src/storage/index.js';
import { dataset, NEW_CONCEPT, OLD_CONCEPT, traffic } from '../fixtures/models/churn-world.js';
import { FEATURES, inferBody } from '../fixtures/models/serve-harness.js';
import { runFluxora } from '../support/captured-process.js';
import { operatorNamespace, waitFor } from '../support/cluster.js';
import { createBucket, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';
import { buildMlpModel } from '../../src/serving/onnx-builder.js';
import { failingLogisticModel } from '../fixtures/models/test-models.js';
import { kubectl, minioForPods, requireRealNode, steadyLoad, type LoadReport, stepTimer } from '../support/real-pods.js';

const BUCKET = 'fluxora-real-promo';
const SECOND = 1000;
const ServiceRes = { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true } as const;
const DeploymentRes = { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true } as const;
const EventRes = { group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true } as const;

type Promotion = NonNullable<NonNullable<Model['status']>['promotion']>;

describe('real pods: safe promotion on live traffic', () => {
  beforeAll(() => requireRealNode());
  const suite = operatorNamespace('real-promo', { nodes: 'real' });
  const { client, ns } = suite;
  let m: MinioEndpoint;
  const steps = stepTimer();
  const mark = steps.mark;
  const uri = (key: string) => `s3://${BUCKET}/${ns}/${key}`;
  const model = () => client.get<Model>(ModelType, ns, 'churn');
  const promotion = async (): Promise<Promotion> => (await model()).status?.promotion ?? {};
  const serviceUrl = async () => `http://${(await client.get<KubeObject & { spec: { clusterIP: string } }>(ServiceRes, ns, 'churn')).spec.clusterIP}:8080/v2/models/churn/infer`;
  // 20 rows per request: each answer adds 20 values to the output distributions the analysis compares.
  const usual = inferBody(traffic(20, 41, 0));
  const shifted = inferBody(traffic(20, 42, 3));
  let load: { stop(): Promise<LoadReport> } | undefined;
  const startLoad = async (body = usual) => {
    load = steadyLoad({ url: await serviceUrl(), body, ratePerSecond: 40 });
  };
  const stopLoad = async (): Promise<LoadReport> => {
    const r = await load!.stop();
    load = undefined;
    return r;
  };
  const events = async (reason: string) =>
    (await client.list<KubeObject & { reason?: string; message?: string; involvedObject?: { name?: string } }>(EventRes, ns)).filter((e) => e.reason === reason && e.involvedObject?.name === 'churn');
  /** The operator sends an Event after the status write it reports on: wait for the first that matches, then return all that do. */
  const eventsOnceSent = (reason: string, matches: (e: { message?: string }) => boolean = () => true) =>
    waitFor(`a ${reason} Event`, async () => {
      const found = (await events(reason)).filter(matches);
      return found.length > 0 ? found : undefined;
    }, 15_000, 250);

  async function train(name: string, seed: number, concept: readonly number[]): Promise<void> {
    await writeObject(uri(`data/${name}.csv`), dataset(3000, seed, 0, concept), { s3: s3Options(m) });
    const r = await runFluxora(['train'], {
      FLUXORA_DATASET_URI: uri(`data/${name}.csv`),
      FLUXORA_OUTPUT_URI: uri(`models/${name}/`),
      FLUXORA_TRAINER_CONFIG: JSON.stringify({ algorithm: 'logistic', target: 'churned', seed }),
      FLUXORA_FEATURES: JSON.stringify(FEATURES),
      AWS_ACCESS_KEY_ID: m.accessKeyId,
      AWS_SECRET_ACCESS_KEY: m.secretAccessKey,
      AWS_ENDPOINT_URL: m.endpoint,
      AWS_REGION: 'us-east-1',
    });
    expect(r.code, r.stderr).toBe(0);
  }

  const patchModel = (body: Record<string, unknown>) =>
    client.request('PATCH', resourcePath(ModelType, ns, 'churn'), { body, contentType: 'application/merge-patch+json' });

  async function setArtifact(name: string): Promise<void> {
    await patchModel({ spec: { artifact: { uri: uri(`models/${name}/model.onnx`) } } });
  }

  /** Waits for the candidate of `version` to reach one of `phases`; returns the promotion status. */
  const candidateIn = async (version: string, phases: string[], timeoutMs = 120_000) => {
    let last: Promotion | undefined;
    try {
      return await waitFor(`candidate ${version} in ${phases.join('/')}`, async () => {
        const p = (last = await promotion());
        return p.candidate?.version === version && phases.includes(p.candidate.phase) ? p : undefined;
      }, timeoutMs, 500);
    } catch (e) {
      // What the operator last said is what tells a stuck analysis from a slow one.
      throw new Error(`${(e as Error).message}; last status.promotion: ${JSON.stringify(last)}`);
    }
  };

  const servingVersion = async () => (await model()).status?.servingVersion;

  beforeAll(async () => {
    m = await startMinio();
    await createBucket(m, BUCKET);
    await minioForPods(client, ns, m);
    // v1 and the "good" candidates learn the same world from different samples; "bad" learns another.
    await Promise.all([train('first', 1, OLD_CONCEPT), train('good', 2, OLD_CONCEPT), train('bad', 3, NEW_CONCEPT), train('good2', 4, OLD_CONCEPT), train('good3', 5, OLD_CONCEPT)]);
    mark('five versions trained');
  }, 300_000);

  afterAll(async () => {
    if (load) await stopLoad();
    const warnings = (suite.op?.logs ?? []).filter((l) => l.level >= 40).slice(-20);
    if (warnings.length) console.log(`operator warnings (last ${warnings.length}):\n${warnings.map((l) => JSON.stringify(l)).join('\n')}`);
    console.log(steps.report('real-pod promotion'));
  });

  it('Shadow: a candidate that agrees is promoted on mirrored traffic; clients see no failure', { timeout: 400_000 }, async () => {
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: {
        artifact: { uri: uri('models/first/model.onnx'), credentialsSecretRef: { name: 'storage' } },
        features: FEATURES,
        serving: { replicas: 1 },
        promotion: {
          strategy: 'Shadow',
          analysis: { interval: '2s', minSamples: 100, minAgreement: 0.9, maxLatencyRatio: 3, maxOutputDrift: 0.3, deadline: '3m' },
          guard: { window: '20s' },
        },
      },
    } as unknown as Model);
    await waitFor('Model churn Ready', async () => getCondition((await model()).status?.conditions, 'Ready')?.status === 'True', 120_000);
    // Ready pods reach the Service's endpoints a moment later (kube-proxy's rules).
    const url = await serviceUrl();
    await waitFor('Service routes', async () => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: usual }).catch(() => undefined))?.ok, 60_000, 250);
    await startLoad();
    await new Promise((r) => setTimeout(r, 5 * SECOND));
    const before = await stopLoad();
    expect(before.failed, JSON.stringify(before.errors)).toBe(0);
    mark(`v1 Ready; 5 s of load without a candidate: ${before.ok} ok, p99 ${before.p99Ms.toFixed(1)} ms`);

    await startLoad();
    const asked = Date.now();
    await setArtifact('good');
    const shadowing = await candidateIn('v2', ['Shadowing']);
    expect(shadowing.candidate).toMatchObject({ champion: 'v1', strategy: 'Shadow' });
    expect(await servingVersion()).toBe('v1');
    const promoted = await candidateIn('v2', ['Promoted', 'Rejected']);
    const decidedIn = Date.now() - asked;
    const during = await stopLoad();
    expect(promoted.candidate?.phase, promoted.candidate?.message).toBe('Promoted');
    expect(promoted.promotedVersion).toBe('v2');
    const f = promoted.candidate!.figures!;
    expect(f.samples).toBeGreaterThanOrEqual(100);
    expect(f.agreement).toBeGreaterThanOrEqual(0.9);
    expect(f.candidateErrorRate).toBe(0);
    expect(f.outputDrift).toBeLessThanOrEqual(0.3);
    // The mirror never fails or changes a client's answer: every request answered 200 by v1 (or v2 once rolled).
    expect(during.failed, JSON.stringify(during.errors)).toBe(0);
    expect(Object.keys(during.versions).sort()).toEqual(expect.arrayContaining(['v1']));
    mark(`v2 promoted through Shadow in ${(decidedIn / SECOND).toFixed(1)} s: ${JSON.stringify(f)}; load during: ${during.ok} ok, 0 failed, p99 ${during.p99Ms.toFixed(1)} ms`);
    expect(promoted.guard).toMatchObject({ version: 'v2', previous: 'v1', verdict: 'Watching' });
    await waitFor('the champion rolled to v2 and the candidate pods gone', async () => {
      const d = await client.getOrUndefined(DeploymentRes, ns, 'churn-candidate');
      return (await servingVersion()) === 'v2' && getCondition((await model()).status?.conditions, 'Ready')?.status === 'True' && !d ? true : undefined;
    }, 120_000, 500);
    await startLoad();
    const passed = await waitFor('guard passed', async () => {
      const p = await promotion();
      return p.guard?.verdict !== 'Watching' ? p : undefined;
    }, 90_000, 1000);
    await stopLoad();
    expect(passed.guard?.verdict, passed.guard?.message).toBe('Passed');
    expect(await events('Promoted')).toHaveLength(1);
    mark('guard passed on v2');
  });

  it('Shadow: a candidate that disagrees is rejected with the figure; the champion keeps serving', { timeout: 400_000 }, async () => {
    await startLoad();
    const asked = Date.now();
    await setArtifact('bad');
    const p = await candidateIn('v3', ['Promoted', 'Rejected']);
    const decidedIn = Date.now() - asked;
    const report = await stopLoad();
    expect(p.candidate?.phase).toBe('Rejected');
    expect(p.candidate?.message).toMatch(/agreement [\d.]+% is below minAgreement 90.00%/);
    expect(p.promotedVersion).toBe('v2');
    expect(p.blockedVersions?.map((b) => [b.version, b.reason])).toContainEqual(['v3', 'Rejected']);
    expect(report.failed, JSON.stringify(report.errors)).toBe(0);
    expect(report.versions.v3 ?? 0).toBe(0);
    const cond = getCondition((await model()).status?.conditions, 'Promotion');
    expect(cond).toMatchObject({ status: 'False', reason: 'Rejected' });
    expect((await eventsOnceSent('Rejected'))[0]?.message).toMatch(/^v3 rejected, v2 keeps serving: shadow over \d+ samples: agreement/);
    await waitFor('candidate pods gone', async () => ((await client.getOrUndefined(DeploymentRes, ns, 'churn-candidate')) ? undefined : true), 60_000, 500);
    mark(`v3 rejected in ${(decidedIn / SECOND).toFixed(1)} s: ${p.candidate?.message}`);
  });

  it('Shadow: a candidate whose pods cannot load their model is rejected with their own message, without waiting for the deadline', { timeout: 400_000 }, async () => {
    await startLoad();
    const asked = Date.now();
    await patchModel({ spec: { artifact: { uri: uri('models/missing/model.onnx') } } });
    const p = await candidateIn('v4', ['Promoted', 'Rejected'], 180_000);
    const decidedIn = Date.now() - asked;
    const report = await stopLoad();
    expect(p.candidate?.phase).toBe('Rejected');
    expect(p.candidate?.message).toMatch(/^the candidate's pods cannot serve: .*NotFound/);
    expect(p.promotedVersion).toBe('v2');
    expect(report.failed, JSON.stringify(report.errors)).toBe(0);
    await waitFor('candidate pods gone', async () => ((await client.getOrUndefined(DeploymentRes, ns, 'churn-candidate')) ? undefined : true), 90_000, 500);
    mark(`v4 (missing file) rejected in ${(decidedIn / SECOND).toFixed(1)} s: ${p.candidate?.message}`);
  });

  it('the operator killed with SIGKILL mid-analysis: the decision is taken once and the figures carry on', { timeout: 400_000 }, async () => {
    await patchModel({ spec: { promotion: { analysis: { minSamples: 600 } } } });
    await startLoad();
    await setArtifact('good2');
    const running = await waitFor('analysis under way with figures', async () => {
      const p = await promotion();
      return p.candidate?.version === 'v5' && p.candidate.phase === 'Shadowing' && (p.candidate.figures?.samples ?? 0) > 50 ? p : undefined;
    }, 120_000, 250);
    const samplesBefore = running.candidate!.figures!.samples;
    suite.op!.proc.kill('SIGKILL');
    expect(await suite.op!.exited).toBeNull();
    mark(`operator killed -9 at ${samplesBefore} samples`);
    await new Promise((r) => setTimeout(r, 3 * SECOND));
    await suite.startOperator();
    const first = await waitFor('figures after the restart', async () => {
      const p = await promotion();
      return p.candidate?.lastAnalysisTime !== running.candidate!.lastAnalysisTime ? p : undefined;
    }, 60_000, 250);
    // Same analysis, counters kept by the pods: more samples, not fewer.
    expect(first.candidate?.analysis).toBe(running.candidate?.analysis);
    if (first.candidate?.figures) expect(first.candidate.figures.samples).toBeGreaterThanOrEqual(samplesBefore);
    const decided = await candidateIn('v5', ['Promoted', 'Rejected']);
    await stopLoad();
    if (decided.candidate?.phase !== 'Promoted') {
      const logs = await kubectl(['-n', ns, 'logs', '-l', 'fluxora.io/model=churn', '--tail=400', '--prefix']).catch((e: Error) => e.message);
      console.log(logs.split('\n').filter((l) => /mirror|warn|error/i.test(l)).slice(-30).join('\n'));
      console.log(JSON.stringify(suite.op?.logs.filter((l) => /promotion|candidate/i.test(JSON.stringify(l))).slice(-30)));
    }
    expect(decided.candidate?.phase, decided.candidate?.message).toBe('Promoted');
    expect(decided.promotedVersion).toBe('v5');
    // One Promoted event for v5, however many reconciles ran. The Event is sent after the status write that holds the
    // decision, so it may land a moment after the test sees the status; it is counted again once the rollout is over.
    const ofV5 = (e: { message?: string }) => e.message?.startsWith('v5 promoted') === true;
    await eventsOnceSent('Promoted', ofV5);
    await waitFor('champion on v5', async () => ((await servingVersion()) === 'v5' && getCondition((await model()).status?.conditions, 'Ready')?.status === 'True' ? true : undefined), 120_000, 500);
    expect(await eventsOnceSent('Promoted', ofV5)).toHaveLength(1);
    mark(`after the restart: one decision, ${decided.candidate?.figures?.samples} samples`);
  });

  it('Canary: the candidate gets its share of the pods and is promoted after the steps; the guard rolls back outputs that move', { timeout: 400_000 }, async () => {
    await patchModel({
      spec: { promotion: { strategy: 'Canary', canary: { steps: [{ weight: 50, duration: '10s' }] }, analysis: { minSamples: 100 }, guard: { window: '2m' } } },
    });
    // The guard of v5 (started under Shadow) is replaced by the new candidate.
    await startLoad();
    const asked = Date.now();
    await setArtifact('good3');
    const canary = await candidateIn('v6', ['Canary']);
    expect(canary.candidate).toMatchObject({ step: 0, champion: 'v5' });
    await waitFor('canary share in status', async () => ((await promotion()).candidate?.trafficPercent === 50 ? true : undefined), 60_000, 500);
    const promoted = await candidateIn('v6', ['Promoted', 'Rejected'], 180_000);
    const decidedIn = Date.now() - asked;
    const report = await stopLoad();
    expect(promoted.candidate?.phase, promoted.candidate?.message).toBe('Promoted');
    expect(report.failed, JSON.stringify(report.errors)).toBe(0);
    // Both versions answered clients during the canary.
    expect(report.versions.v6 ?? 0).toBeGreaterThan(0);
    expect(report.versions.v5 ?? 0).toBeGreaterThan(0);
    mark(`v6 promoted through Canary in ${(decidedIn / SECOND).toFixed(1)} s (${report.versions.v5} answers by v5, ${report.versions.v6} by v6)`);

    // After promotion the inputs move: v6's outputs no longer look like v5's did, and the guard rolls back.
    await waitFor('champion on v6', async () => ((await servingVersion()) === 'v6' && getCondition((await model()).status?.conditions, 'Ready')?.status === 'True' ? true : undefined), 120_000, 500);
    await startLoad(shifted);
    const rolled = await waitFor('guard verdict', async () => {
      const p = await promotion();
      return p.guard?.version === 'v6' && p.guard.verdict !== 'Watching' ? p : undefined;
    }, 120_000, 500);
    await stopLoad();
    expect(rolled.guard?.verdict, rolled.guard?.message).toBe('RolledBack');
    expect(rolled.guard?.message).toMatch(/^v6 regressed after promotion, rolled back to v5: guard over \d+ samples: output drift \(KS\)/);
    expect(rolled.promotedVersion).toBe('v5');
    expect(rolled.blockedVersions?.map((b) => [b.version, b.reason])).toContainEqual(['v6', 'RolledBack']);
    expect(getCondition((await model()).status?.conditions, 'Promotion')).toMatchObject({ status: 'False', reason: 'RolledBack' });
    expect(await eventsOnceSent('RolledBack')).toHaveLength(1);
    await waitFor('serving v5 again', async () => ((await servingVersion()) === 'v5' ? true : undefined), 60_000, 500);
    mark('guard rolled v6 back to v5 on moved outputs');
  });

  it('pins by digest select the same file; spec.artifact set back to an old file serves it at once', { timeout: 400_000 }, async () => {
    const versions = (await model()).status?.versions ?? [];
    const v2 = versions.find((v) => v.name === 'v2');
    // v2 came from spec.artifact without a digest: the pods reported the file's.
    expect(v2?.sha256).toMatch(/^[0-9a-f]{64}$/);
    await patchModel({ spec: { pinnedVersion: `sha256:${v2!.sha256}` } });
    await waitFor('serving the pinned digest', async () => ((await servingVersion()) === 'v2' ? true : undefined), 60_000, 500);
    await patchModel({ spec: { pinnedVersion: `sha256:${'0'.repeat(64)}` } });
    const refused = await waitFor('unknown digest reported', async () => {
      const c = getCondition((await model()).status?.conditions, 'Ready');
      return c?.reason === 'PinnedVersionNotFound' ? c : undefined;
    }, 30_000, 500);
    expect(refused.message).toContain("no version's artifact has that digest");
    expect(await servingVersion()).toBe('v2');
    await patchModel({ spec: { pinnedVersion: null } });
    // A git revert of spec.artifact to v1's file.
    await setArtifact('first');
    const reverted = await waitFor('serving v1 again', async () => ((await servingVersion()) === 'v1' ? promotion() : undefined), 60_000, 500);
    expect(reverted.promotedVersion).toBe('v1');
    expect(reverted.blockedVersions?.filter((b) => b.reason === 'Reverted').map((b) => b.version)).toEqual(expect.arrayContaining(['v2', 'v5']));
    expect((await eventsOnceSent('Reverted'))[0]?.message).toMatch(/^spec.artifact names v1's file again: serving v1 at once/);
    mark('digest pin, unknown digest, revert');
  });

  it('Shadow: a candidate that agrees but is slow is rejected with its p99 latency', { timeout: 400_000 }, async () => {
    // The true concept as a logistic model behind a 300 000-unit hidden layer that adds nothing but time:
    // unit 0 carries the linear score (tanh is linear at this scale), every other unit has zero weight.
    const HIDDEN = 300_000;
    const EPS = 1e-3;
    const w1 = [0, 1, 2].map((i) => Array.from({ length: HIDDEN }, (_, u) => (u === 0 ? OLD_CONCEPT[i]! * EPS : 0)));
    const slow = buildMlpModel({ w1, b1: new Array<number>(HIDDEN).fill(0), w2: Array.from({ length: HIDDEN }, (_, u) => [u === 0 ? 1 / EPS : 0]), b2: [OLD_CONCEPT[3]], activation: 'sigmoid', outputName: 'probability' });
    await writeObject(uri('models/slow/model.onnx'), slow, { s3: s3Options(m) });
    await patchModel({ spec: { promotion: { strategy: 'Shadow', canary: null, guard: null, analysis: { minSamples: 100, maxLatencyRatio: 3 } } } });
    await startLoad();
    await setArtifact('slow');
    const p = await waitFor('the slow candidate decided', async () => {
      const x = await promotion();
      return x.candidate?.version === 'v7' && (x.candidate.phase === 'Rejected' || x.candidate.phase === 'Promoted') ? x : undefined;
    }, 240_000, 500);
    const report = await stopLoad();
    expect(p.candidate?.phase, p.candidate?.message).toBe('Rejected');
    expect(p.candidate?.message).toMatch(/p99 latency [\d.]+ ms is [\d.]+x the champion's [\d.]+ ms \(maxLatencyRatio 3\)/);
    expect(p.candidate?.figures?.agreement).toBeGreaterThanOrEqual(0.9);
    expect(report.failed, JSON.stringify(report.errors)).toBe(0);
    expect(p.promotedVersion).toBe('v1');
    mark(`v7 (slow) rejected: ${p.candidate?.message}`);
  });

  it('Shadow: a candidate that loads but fails at run time is rejected with its error rate; clients never see its errors', { timeout: 400_000 }, async () => {
    // Ready like any other, but onnxruntime fails on inputs outside (-2, 1), so on this traffic every answer is a 500.
    await writeObject(uri('models/erring/model.onnx'), failingLogisticModel(OLD_CONCEPT.slice(0, 3), OLD_CONCEPT[3]), { s3: s3Options(m) });
    await startLoad();
    await setArtifact('erring');
    const p = await candidateIn('v8', ['Promoted', 'Rejected'], 240_000);
    const report = await stopLoad();
    expect(p.candidate?.phase, p.candidate?.message).toBe('Rejected');
    expect(p.candidate?.message).toMatch(/^shadow over \d+ samples: error rate 100\.00% is 100\.00% above the champion's 0\.00% \(maxErrorRateIncrease 1\.00%\)/);
    expect(p.candidate?.figures?.championErrorRate).toBe(0);
    expect(report.failed, JSON.stringify(report.errors)).toBe(0);
    expect(report.versions.v8 ?? 0).toBe(0);
    expect(p.promotedVersion).toBe('v1');
    mark(`v8 (fails at run time) rejected: ${p.candidate?.message}`);
  });
});
