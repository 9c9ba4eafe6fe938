// Random kills land in the narrow windows between two writes of one
// reconcile only by luck; these replay such windows deterministically: the
// state a crash there leaves behind is built by hand while no operator runs,
// then the operator starts and must finish the job without duplicating it.
//   - DriftMonitor: the RetrainJob for a verdict was created, the status write
//     recording it (lastRetrainJob, lastRetrainTime) was not;
//   - RetrainJob: the accepted version was recorded in the Model's status,
//     the RetrainJob's own status write (Succeeded) was not.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { MONITOR_LABEL } from '../../src/controllers/drift-monitor/drift-monitor-controller.js';
import { retrainJobName } from '../../src/controllers/drift-monitor/retrain-trigger.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { JobResource, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/controllers/resource-types.js';
import { kubeTime } from '../../src/runtime/conditions.js';
import { resourcePath, type KubeObject } from '../../src/runtime/kube-client.js';
import { sha256Hex } from '../../src/storage/index.js';
import { operatorNamespace, waitFor } from '../support/cluster.js';
import { waitForConvergence } from '../support/faults-convergence.js';
import { launchOperator, type OperatorRun } from '../support/faults-operator.js';
import { recordSection } from '../support/faults-report.js';
import { driftMonitor, model, retrainJob, writeTrainerOutput, writeVerdict } from '../support/faults-workload.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('crash windows between two writes of one reconcile', () => {
  const { client, ns } = operatorNamespace('faults-window', { nodes: 'kwok', why: 'the fault suite runs on its own control plane with kwok Nodes only (one control plane per machine owns the real Node); it checks what the operator writes under faults, not what pods run' }, { operator: false });
  let out: string;
  const ops: OperatorRun[] = [];
  const start = async () => {
    const op = launchOperator([`--namespace=${ns}`]);
    ops.push(op);
    expect(await op.started, op.stderr()).toBe(true);
    return op;
  };

  beforeAll(async () => {
    out = await mkdtemp(join(inject('faultsRunDir'), 'window-'));
  });
  afterAll(async () => {
    await Promise.all(ops.map((o) => o.kill()));
  });

  it('finishes what a crash interrupted, once', async () => {
    const op = await start();
    await client.create(ModelType, model(ns, 'churn'));
    await client.create(ModelType, model(ns, 'fraud'));
    const monitor = await client.create<DriftMonitor>(DriftMonitorType, driftMonitor(ns, 'churn-drift', 'churn', out));
    await waitForConvergence(client, ns, Date.now());
    await op.kill();

    // DriftMonitor window: a qualifying verdict, and the RetrainJob the
    // operator created for it just before it died.
    await writeVerdict(client, ns, 'churn-drift', true, 1, kubeTime(new Date(Date.now() - 2000)));
    const verdictAt = kubeTime(new Date(Date.now() - 1000));
    await writeVerdict(client, ns, 'churn-drift', true, 2, verdictAt);
    const runName = retrainJobName('churn-drift', monitor.metadata.uid!, verdictAt);
    await writeTrainerOutput(join(out, 'drift'), runName);
    const template = monitor.spec.retrain.template!;
    await client.create(RetrainJobType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'RetrainJob',
      metadata: {
        name: runName,
        namespace: ns,
        labels: { [MONITOR_LABEL]: 'churn-drift', 'fluxora.io/model': 'churn', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
        annotations: { 'fluxora.io/drift-check-time': verdictAt },
        ownerReferences: [{ apiVersion: 'fluxora.io/v1alpha1', kind: 'DriftMonitor', name: 'churn-drift', uid: monitor.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: { ...template, modelRef: { name: 'churn' } },
    } as unknown as RetrainJob);

    // RetrainJob window: its Job completed, the version was recorded in the
    // Model's status, and then the operator died before writing Succeeded.
    await writeTrainerOutput(join(out, 'user'), 'rj-fraud');
    const rj = await client.create<RetrainJob>(RetrainJobType, retrainJob(ns, 'rj-fraud', 'fraud', out));
    const fraud = await client.get<Model>(ModelType, ns, 'fraud');
    const recorded = {
      name: 'v2',
      uri: `file://${join(out, 'user', 'rj-fraud')}/model.onnx`,
      sha256: sha256Hex('onnx-bytes-of-rj-fraud'),
      source: 'RetrainJob/rj-fraud',
      metrics: { auc: 0.9, rows: 100 },
      createdAt: kubeTime(new Date()),
    };
    await client.request('PATCH', resourcePath(ModelType, ns, 'fraud', 'status'), {
      body: { metadata: { resourceVersion: fraud.metadata.resourceVersion }, status: { versions: [...(fraud.status?.versions ?? []), recorded] } },
      contentType: 'application/merge-patch+json',
    });
    expect(rj.status).toBeUndefined();

    const since = Date.now();
    await start();
    const conv = await waitForConvergence(client, ns, since, {
      monitors: new Map([['churn-drift', { last: { lastCheckTime: verdictAt, consecutiveDriftChecks: 2 }, retrainCandidates: [runName] }]]),
      mustSucceed: 'all',
    }, 90_000);
    await sleep(2000);
    const monitorAfter = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
    // The run the crash left behind is the monitor's record, not a reason for another.
    expect(monitorAfter.status?.lastRetrainJob).toBe(runName);
    expect(monitorAfter.status?.lastRetrainTime).toBeDefined();
    const runs = (await client.request<{ items: RetrainJob[] }>('GET', resourcePath(RetrainJobType, ns))).items.map((r) => r.metadata.name).sort();
    expect(runs).toEqual([runName, 'rj-fraud'].sort());

    // The version was recorded once, under its first name, and is the one served.
    const fraudAfter = await client.get<Model>(ModelType, ns, 'fraud');
    expect(fraudAfter.status?.versions?.filter((v) => v.source === 'RetrainJob/rj-fraud').map((v) => v.name)).toEqual(['v2']);
    expect(fraudAfter.status?.servingVersion).toBe('v2');
    const rjAfter = await client.get<RetrainJob>(RetrainJobType, ns, 'rj-fraud');
    expect(rjAfter.status).toMatchObject({ phase: 'Succeeded', promotedVersion: 'v2' });
    await waitFor('one trainer Job each', async () => {
      const jobs = await client.request<{ items: KubeObject[] }>('GET', resourcePath(JobResource, ns));
      return jobs.items.length === 2;
    });

    recordSection({
      name: 'crash-windows',
      killsSurvived: 1,
      objectsChecked: conv.result.objectsChecked,
      duplicatesFound: conv.result.duplicates,
      convergenceMs: conv.convergenceMs,
      details: { windows: ['DriftMonitor: RetrainJob created, status not written', 'RetrainJob: version recorded, status not written'] },
    });
  });
});
