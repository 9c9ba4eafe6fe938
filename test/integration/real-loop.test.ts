// The whole loop in real pods on the real Node, nothing run by hand:
// - the operator runs in the cluster from the project's image, installed by
//   `kubectl apply -k manifests/install`;
// - a Model's pods run `fluxora serve` and answer V2 inference through the
//   Service (ClusterIP, kube-proxy);
// - the DriftMonitor's CronJob pods run `fluxora drift-check` against the
//   serving pods' samples and create one RetrainJob after two drifted checks;
// - the trainer Job's pod runs `fluxora train` against MinIO, which pods reach
//   by a Service name (CoreDNS);
// - the gate accepts, the Deployment rolls to v2 while a client keeps sending
//   requests through the Service (none may fail), and v2 answers;
// - a worse model is Rejected and v1 keeps serving;
// - a missing artifact ends as ServingFailed with the container's own message;
// - the restricted security context holds on the running processes (/proc).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource, DeploymentResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import type { KubeObject } from '../../src/runtime/kube-client.js';
import { writeObject } from '../../src/storage/index.js';
import { dataset, NEW_CONCEPT, OLD_CONCEPT, traffic } from '../fixtures/models/churn-world.js';
import { FEATURES, inferBody } from '../fixtures/models/serve-harness.js';
import { runFluxora } from '../support/captured-process.js';
import { operatorNamespace, retrainJobFinished, waitFor } from '../support/cluster.js';
import { argoHealth, kstatus } from '../support/gitops.js';
import { createBucket, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';
import {
  containerPids,
  installOperator,
  kubectl,
  minioForPods,
  OPERATOR_NS,
  podsWhere,
  processSecurity,
  removeOperator,
  requireRealNode,
  steadyLoad,
  stepTimer,
  type PodLike,
} from '../support/real-pods.js';

const BUCKET = 'fluxora-real';

interface InferAnswer {
  model_version: string;
  outputs: { data: number[] }[];
}

const SECOND = 1000;
const ALL_CAPS = 0n;
const RESTRICTED_UID = 65532;

describe('real pods: the whole loop with the operator in the cluster', () => {
  beforeAll(() => requireRealNode());
  // The operator is installed in the cluster below, not started as a process.
  const { client, ns } = operatorNamespace('real-loop', { nodes: 'real' }, { operator: false });
  let dir: string;
  let m: MinioEndpoint;
  const steps = stepTimer();
  const mark = steps.mark;
  const uri = (key: string) => `s3://${BUCKET}/${ns}/${key}`;
  const s3 = () => ({ s3: s3Options(m) });

  const model = (name: string) => client.get<Model>(ModelType, ns, name);
  const serviceIp = async (name: string) =>
    (await client.get<KubeObject & { spec: { clusterIP: string } }>({ group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true }, ns, name)).spec.clusterIP;

  /** One inference through the Model's Service, from the host (kube-proxy routes the ClusterIP). */
  async function infer(name: string, rows: number[][]): Promise<InferAnswer> {
    const res = await fetch(`http://${await serviceIp(name)}:8080/v2/models/${name}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: inferBody(rows),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return JSON.parse(text) as InferAnswer;
  }

  /** cpuLimit 2: each pod runs two worker processes (fluxora serve reads the cgroup's CPU quota). */
  async function applyModel(name: string, artifactKey: string, replicas = 2, cpuLimit?: string): Promise<void> {
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name, namespace: ns },
      spec: {
        artifact: { uri: uri(artifactKey), credentialsSecretRef: { name: 'storage' } },
        features: FEATURES,
        serving: {
          replicas,
          sampling: { rate: 1, bufferSize: 5000 },
          ...(cpuLimit ? { resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: cpuLimit, memory: '1Gi' } } } : {}),
        },
        promotion: { policy: 'Automatic' },
      },
    } as unknown as Model);
  }

  const ready = (mo: Model) => getCondition(mo.status?.conditions, 'Ready')?.status === 'True';

  /**
   * Waits until the Service routes. A Model is Ready when its pods are; the
   * EndpointSlice controller and kube-proxy then take up to a couple of
   * seconds to route the ClusterIP, and until then it refuses connections.
   */
  const routed = (name: string) =>
    waitFor(`Service ${name} routes to a serving pod`, async () => (await infer(name, [[0, 0, 0]])).model_version, 30_000, 250);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxora-real-loop-'));
    m = await startMinio();
    await createBucket(m, BUCKET);
    // Pods reach MinIO on the host by name: CoreDNS answers, kube-proxy routes.
    await minioForPods(client, ns, m);
    await writeObject(uri('data/history.csv'), dataset(3000, 1, 0, OLD_CONCEPT), s3());
    await writeObject(uri('data/reference.csv'), dataset(1000, 2, 0, OLD_CONCEPT), s3());
    await writeObject(uri('data/recent.csv'), dataset(3000, 3, 1.5, NEW_CONCEPT), s3());
    await writeObject(uri('data/recent-same-concept.csv'), dataset(3000, 4, 1.5, OLD_CONCEPT), s3());

    // v1: the built-in trainer on the historical data, run as a user would on a laptop.
    const v1 = await runFluxora(['train'], {
      FLUXORA_DATASET_URI: uri('data/history.csv'),
      FLUXORA_OUTPUT_URI: uri('models/churn/v1/'),
      FLUXORA_TRAINER_CONFIG: JSON.stringify({ algorithm: 'logistic', target: 'churned', seed: 1 }),
      FLUXORA_FEATURES: JSON.stringify(FEATURES),
      AWS_ACCESS_KEY_ID: m.accessKeyId,
      AWS_SECRET_ACCESS_KEY: m.secretAccessKey,
      AWS_ENDPOINT_URL: m.endpoint,
      AWS_REGION: 'us-east-1',
    });
    expect(v1.code, v1.stderr).toBe(0);

    // The operator, as a user installs it: the image, its RBAC, its namespace.
    await installOperator();
    mark('operator installed from manifests/install, rolled out');
  }, 300_000);

  afterAll(async () => {
    await removeOperator();
    if (dir) await rm(dir, { recursive: true, force: true });
    console.log(steps.report('real-pod loop'));
  });

  it('serves v1 from real pods through the Service', async () => {
    await applyModel('churn', 'models/churn/v1/model.onnx', 2, '2');
    const mo = await waitFor('Model churn Ready', async () => {
      const mo = await model('churn');
      return ready(mo) ? mo : undefined;
    }, 120_000);
    expect(mo.status).toMatchObject({ servingVersion: 'v1', replicas: 2, readyReplicas: 2 });
    const pods = await podsWhere(client, ns, 'fluxora.io/model=churn', (p) => p.length === 2, 'two serving pods');
    for (const p of pods) expect(p.spec.nodeName).not.toMatch(/^kwok-/);
    mark('Model applied -> 2 real pods Ready');
    expect(await routed('churn')).toBe('v1');
    mark('Service routes (EndpointSlice, kube-proxy)');
    const answer = await infer('churn', [[0, 0, 0]]);
    expect(answer.model_version).toBe('v1');
    expect(answer.outputs[0]!.data).toHaveLength(1);
  });

  it('runs every process under the restricted security context (checked in /proc)', async () => {
    const serving = await podsWhere(client, ns, 'fluxora.io/model=churn', (p) => p.length === 2, 'serving pods');
    const operator = await podsWhere(client, OPERATOR_NS, 'app.kubernetes.io/name=fluxora-operator', (p) => p.length === 1, 'operator pod');
    const targets: [PodLike, string][] = [...serving.map((p): [PodLike, string] => [p, 'server']), [operator[0]!, 'operator']];
    for (const [pod, container] of targets) {
      const pids = containerPids(pod, container);
      // A serving pod with a 2-CPU limit: the primary process and two workers.
      expect(pids.length, `${pod.metadata.name}`).toBe(container === 'server' ? 3 : 1);
      for (const pid of pids) {
        const sec = processSecurity(pid);
        const who = `${pod.metadata.name}/${container} pid ${pid} (${sec.cmdline.join(' ')})`;
        expect(sec.cmdline.slice(0, 2), who).toEqual(['/nodejs/bin/node', '/app/dist/cli/main.js']);
        expect(sec.uid, who).toEqual([RESTRICTED_UID, RESTRICTED_UID, RESTRICTED_UID, RESTRICTED_UID]);
        expect(sec.gid, who).toEqual([RESTRICTED_UID, RESTRICTED_UID, RESTRICTED_UID, RESTRICTED_UID]);
        expect(sec.capEff, who).toBe(ALL_CAPS);
        expect(sec.capPrm, who).toBe(ALL_CAPS);
        expect(sec.capBnd, who).toBe(ALL_CAPS);
        expect(sec.noNewPrivs, who).toBe(true);
        expect(sec.seccomp, who).toBe(2);
        expect(sec.rootReadOnly, who).toBe(true);
      }
    }
  });

  it('drift seen by the CronJob pods starts exactly one RetrainJob after two drifted checks', async () => {
    // Live traffic from the shifted world, through the Service: both pods capture samples.
    const rows = traffic(1200, 7, 1.5);
    for (let i = 0; i < rows.length; i += 20) await infer('churn', rows.slice(i, i + 20));
    mark('1200 shifted rows through the Service');

    await client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name: 'churn-drift', namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        schedule: '* * * * *',
        reference: { uri: uri('data/reference.csv'), credentialsSecretRef: { name: 'storage' } },
        current: { source: 'Serving', minSamples: 500 },
        retrain: {
          enabled: true,
          consecutiveChecks: 2,
          cooldown: '1h',
          template: {
            trainer: { builtin: { algorithm: 'logistic', target: 'churned', seed: 42 } },
            dataset: { uri: uri('data/recent.csv'), credentialsSecretRef: { name: 'storage' } },
            output: { uri: uri('models/churn/runs'), credentialsSecretRef: { name: 'storage' } },
            acceptance: { metric: 'auc', min: 0.7, mustBeatServing: true },
          },
        },
      },
    } as unknown as DriftMonitor);
    const cron = await waitFor('drift-check CronJob', () => client.getOrUndefined(CronJobResource, ns, 'churn-drift-drift-check'));
    expect(cron).toBeDefined();
    // The first check now, as `kubectl create job --from=cronjob/...` runs one; the second comes from the schedule.
    await kubectl(['-n', ns, 'create', 'job', 'churn-drift-now', '--from=cronjob/churn-drift-drift-check']);
    const first = await waitFor('first drifted check', async () => {
      const mon = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
      return (mon.status?.consecutiveDriftChecks ?? 0) >= 1 ? mon : undefined;
    }, 120_000);
    expect(first.status).toMatchObject({ driftDetected: true });
    // Two pods of two workers each: every row once, the routing probe and the first answer included.
    expect(first.status?.sampleCount).toBe(1202);
    expect(await client.list<RetrainJob>(RetrainJobType, ns)).toHaveLength(0);
    mark('first check (a Job from the CronJob, in a real pod) found drift; no retrain yet');

    const rjs = await waitFor('one RetrainJob after the scheduled check', async () => {
      const list = await client.list<RetrainJob>(RetrainJobType, ns);
      return list.length ? list : undefined;
    }, 150_000, 1000);
    expect(rjs).toHaveLength(1);
    // The operator creates the RetrainJob first and records it in the monitor's status in the next write.
    const monitor = await waitFor('the RetrainJob recorded in the monitor', async () => {
      const mon = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
      return mon.status?.lastRetrainJob ? mon : undefined;
    }, 30_000, 250);
    expect(monitor.status?.consecutiveDriftChecks).toBeGreaterThanOrEqual(2);
    expect(monitor.status?.lastRetrainJob).toBe(rjs[0]!.metadata.name);
    const health = argoHealth('driftmonitor', monitor);
    expect(health.status).toBe('Healthy');
    expect(health.message).toMatch(/^Drift detected/);
    expect(kstatus([monitor])[0]!.status).toBe('Current');
    mark('second check (scheduled) -> one RetrainJob');
  });

  it('the trainer pod writes v2, the gate accepts it, and the rollout to v2 drops no request', async () => {
    const [rj0] = await client.list<RetrainJob>(RetrainJobType, ns);
    const ip = await serviceIp('churn');
    const load = steadyLoad({ url: `http://${ip}:8080/v2/models/churn/infer`, body: inferBody(traffic(4, 11, 1.5)), ratePerSecond: 50 });
    let report;
    try {
      const rj = await retrainJobFinished(client, ns, rj0!.metadata.name, 240_000);
      expect(rj.status?.phase, JSON.stringify(rj.status)).toBe('Succeeded');
      expect(rj.status?.promotedVersion).toBe('v2');
      expect((rj.status?.metrics as Record<string, number>).auc).toBeGreaterThan(0.8);
      expect(argoHealth('retrainjob', rj).status).toBe('Healthy');
      expect(kstatus([rj])[0]!.status).toBe('Current');
      mark(`trainer pod ran; RetrainJob ${rj.status?.phase}`);
      await waitFor('Model serves v2 on every replica', async () => {
        const mo = await model('churn');
        const dep = await client.get<KubeObject & { status?: { updatedReplicas?: number; replicas?: number; availableReplicas?: number } }>(DeploymentResource, ns, 'churn');
        const s = dep.status ?? {};
        return mo.status?.servingVersion === 'v2' && ready(mo) && s.updatedReplicas === 2 && s.replicas === 2 && s.availableReplicas === 2;
      }, 180_000);
      mark('Deployment rolled to v2, old pods gone');
      // Old pods drain after they leave the endpoints: keep the client going past that.
      await new Promise((r) => setTimeout(r, 8 * SECOND));
    } finally {
      report = await load.stop();
    }
    console.log(
      `zero-downtime rollout v1 -> v2 through the Service at 50 req/s: sent ${report.sent}, ok ${report.ok}, failed ${report.failed}, ` +
        `p50 ${report.p50Ms.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(1)} ms, versions ${JSON.stringify(report.versions)}` +
        (report.failed ? `, errors ${JSON.stringify(report.errors)}` : ''),
    );
    expect(report.failed, JSON.stringify(report.errors)).toBe(0);
    expect(report.versions.v1).toBeGreaterThan(0);
    expect(report.versions.v2).toBeGreaterThan(0);
    const answer = await infer('churn', [[1, 2, 3]]);
    expect(answer.model_version).toBe('v2');
  });

  it('a worse model is Rejected and v1 keeps serving', async () => {
    await applyModel('churn-b', 'models/churn/v1/model.onnx', 1);
    await waitFor('Model churn-b Ready', async () => ready(await model('churn-b')), 120_000);
    expect(await routed('churn-b')).toBe('v1');
    await client.create(RetrainJobType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'RetrainJob',
      metadata: { name: 'churn-b-weak', namespace: ns },
      spec: {
        modelRef: { name: 'churn-b' },
        // Only the weakest feature: whatever it learns ranks churn worse than v1 does.
        trainer: { builtin: { algorithm: 'logistic', target: 'churned', features: ['visits'], seed: 42 } },
        dataset: { uri: uri('data/recent-same-concept.csv'), credentialsSecretRef: { name: 'storage' } },
        output: { uri: uri('models/churn-b/runs'), credentialsSecretRef: { name: 'storage' } },
        acceptance: { metric: 'auc', mustBeatServing: true },
      },
    } as unknown as RetrainJob);
    const rj = await retrainJobFinished(client, ns, 'churn-b-weak', 180_000);
    expect(rj.status?.phase).toBe('Rejected');
    expect(getCondition(rj.status?.conditions, 'Failed')).toMatchObject({ status: 'True', reason: 'NotBetterThanServing' });
    expect(argoHealth('retrainjob', rj).status).toBe('Degraded');
    expect(kstatus([rj])[0]!.status).toBe('Failed');
    const mo = await model('churn-b');
    expect(mo.status?.servingVersion).toBe('v1');
    expect(mo.status?.versions?.map((v) => v.name)).toEqual(['v1']);
    expect((await infer('churn-b', [[1, 2, 3]])).model_version).toBe('v1');
    mark('worse model Rejected; churn-b still answers from v1');
  });

  it("a missing artifact ends as ServingFailed with the container's own message", async () => {
    await applyModel('churn-missing', 'models/nowhere/model.onnx', 1);
    const mo = await waitFor('Model churn-missing ServingFailed', async () => {
      const mo = await model('churn-missing');
      return getCondition(mo.status?.conditions, 'Degraded')?.reason === 'ServingFailed' ? mo : undefined;
    }, 120_000);
    const pods = await podsWhere(client, ns, 'fluxora.io/model=churn-missing', (p) => p.length === 1, 'the failing pod');
    // What the kubelet recorded from the container's termination log.
    const terminated = pods[0]!.status?.containerStatuses?.[0]?.lastState?.terminated ?? pods[0]!.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated?.message).toMatch(/does not exist/);
    const condition = getCondition(mo.status?.conditions, 'Ready');
    expect(condition).toMatchObject({ status: 'False', reason: 'ServingFailed' });
    expect(condition?.message).toContain(terminated!.message!.trim());
    expect(condition?.message).toContain(uri('models/nowhere/model.onnx'));
    expect(getCondition(mo.status?.conditions, 'Stalled')?.status).toBe('True');
    expect(argoHealth('model', mo).status).toBe('Degraded');
    expect(kstatus([mo])[0]!.status).toBe('Failed');
    mark('missing artifact -> ServingFailed with the container message');
  });

  it('no container printed a warning (Node version, AWS SDK, onnxruntime)', async () => {
    const WARNING = /\(node:\d+\)|Warning|\[W:onnxruntime/;
    const logs = [
      ...(await podsWhere(client, ns, '', (p) => p.length > 0, 'pods')).map((p) => [ns, p.metadata.name] as const),
      ...(await podsWhere(client, OPERATOR_NS, 'app.kubernetes.io/name=fluxora-operator', (p) => p.length > 0, 'operator')).map((p) => [OPERATOR_NS, p.metadata.name] as const),
    ];
    for (const [namespace, pod] of logs) {
      const text = await kubectl(['-n', namespace, 'logs', pod, '--all-containers']);
      const warned = text.split('\n').filter((l) => WARNING.test(l));
      expect(warned, `${namespace}/${pod}`).toEqual([]);
    }
    // Serving, drift-check, trainer and operator pods were all read.
    const names = logs.map(([, pod]) => pod).join(' ');
    expect(names).toMatch(/churn-drift-retrain-/);
    // The CronJob keeps its last few Jobs: the one started by hand may be gone by now.
    expect(names).toMatch(/churn-drift-(now|drift-check)-/);
    expect(names).toMatch(/fluxora-operator-/);
    expect(names).toMatch(/churn-b-/);
  });
});
