// A drift check that fails or times out must never start a retrain, even when
// the monitor is one drifted verdict away from it. The checks are the real
// `fluxora drift-check` process, run with the check's own ServiceAccount
// token as its CronJob pod would:
//   1. a drifted verdict: 1 of the 2 consecutive checks the trigger needs;
//   2. a failing check (reference missing): exit 1, nothing the trigger reads changes;
//   3. a check that hangs on an unresponsive reference server and is killed
//      (what the Job's deadline does): nothing is written at all;
//   4. a second drifted verdict: exactly one RetrainJob (the trigger works,
//      so the quiet after 2 and 3 means something).
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DriftMonitor, RetrainJob } from '../../src/api/index.js';
import { CronJobResource } from '../../src/controllers/resource-types.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import { resourcePath, type KubeObject } from '../../src/runtime/kube-client.js';
import { operatorNamespace, root, waitFor } from '../support/cluster.js';
import { launchOperator, type OperatorRun } from '../support/faults-operator.js';
import { mulberry32, rngFor } from '../support/faults-prng.js';
import { recordSection } from '../support/faults-report.js';
import { patchSpec } from '../support/faults-workload.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `n` rows of one numeric feature around `mean` (a sum of seeded uniforms). */
function csv(n: number, mean: number, seed: number): string {
  const rnd = mulberry32(seed);
  const lines = ['tenure'];
  for (let i = 0; i < n; i++) lines.push(((rnd() + rnd() + rnd() - 1.5) * 10 + mean).toFixed(4));
  return `${lines.join('\n')}\n`;
}

interface CheckRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

describe('a failed or timed-out drift check never triggers a retrain', () => {
  const seed = Math.floor(rngFor('drift-check')() * 2 ** 31);
  const { client, ns } = operatorNamespace('faults-drift', { nodes: 'kwok', why: 'the fault suite runs on its own control plane with kwok Nodes only (one control plane per machine owns the real Node); it checks what the operator writes under faults, not what pods run' }, { operator: false });
  let op: OperatorRun;
  let dataDir: string;
  let hang: Server;
  let hangingRequests = 0;
  let kubeconfig: string;

  const monitorName = 'churn-drift';
  const getMonitor = () => client.get<DriftMonitor>(DriftMonitorType, ns, monitorName);
  const retrains = async () => (await client.request<{ items: RetrainJob[] }>('GET', resourcePath(RetrainJobType, ns))).items.map((r) => r.metadata.name);

  /** Runs the CronJob's container command as a local process with the check's identity; kills it after `killAfterMs`. */
  async function runCheck(killAfterMs?: number): Promise<CheckRun> {
    const cj = await client.get<KubeObject & { spec: { jobTemplate: { spec: { template: { spec: { containers: { args: string[] }[] } } } } } }>(CronJobResource, ns, `${monitorName}-drift-check`);
    const args = cj.spec.jobTemplate.spec.template.spec.containers[0]!.args;
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args, `--kubeconfig=${kubeconfig}`], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    clearTimeout(timer);
    return { code, signal, output };
  }

  beforeAll(async () => {
    dataDir = inject('faultsRunDir');
    await writeFile(join(dataDir, 'reference.csv'), csv(600, 30, seed));
    await writeFile(join(dataDir, 'current-shifted.csv'), csv(600, 36, seed + 1));
    // A reference server that accepts the request and never answers.
    hang = createServer(() => hangingRequests++);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    op = launchOperator([`--namespace=${ns}`]);
    expect(await op.started, op.stderr()).toBe(true);
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: { artifact: { uri: 'file:///models/churn/v1.onnx' }, features: [{ name: 'tenure', type: 'numeric' }] },
    } as KubeObject);
    await client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name: monitorName, namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        schedule: '0 0 1 1 *',
        reference: { uri: `file://${join(dataDir, 'reference.csv')}` },
        current: { uri: `file://${join(dataDir, 'current-shifted.csv')}` },
        retrain: {
          enabled: true,
          consecutiveChecks: 2,
          cooldown: '1h',
          template: { trainer: { builtin: { algorithm: 'logistic', target: 'churned' } }, dataset: { uri: 'file:///data/train.csv' }, output: { uri: `file://${dataDir}/runs/` } },
        },
      },
    } as KubeObject);
    await waitFor('the check ServiceAccount', () => client.getOrUndefined(CronJobResource, ns, `${monitorName}-drift-check`));
    // The pod's identity: a token of the check's ServiceAccount.
    const tok = await waitFor('a token', () =>
      client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${monitorName}-drift-check/token`, {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 1800 } },
      }),
    );
    const cluster = client.kubeConfig.getCurrentCluster()!;
    kubeconfig = join(dataDir, 'drift-check.kubeconfig');
    await writeFile(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority': cluster.caFile } }],
      users: [{ name: 'u', user: { token: tok.status.token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }));
  });
  afterAll(async () => {
    await op?.kill();
    hang?.closeAllConnections();
    hang?.close();
  });

  it('only verdicts count', async () => {
    // 1. One drifted verdict: half-way to a retrain.
    const first = await runCheck();
    expect(first.code, first.output).toBe(0);
    const afterFirst = await getMonitor();
    expect(afterFirst.status).toMatchObject({ driftDetected: true, consecutiveDriftChecks: 1 });
    const verdictTime = afterFirst.status!.lastCheckTime!;
    await sleep(1100); // a later verdict needs a later (second-resolution) timestamp

    // 2. A check that fails: the reference is gone.
    await patchSpec(client, DriftMonitorType, ns, monitorName, { reference: { uri: `file://${join(dataDir, 'missing.csv')}` } });
    await waitFor('the operator saw the spec', async () => (await getMonitor()).status?.observedGeneration === 2);
    const failed = await runCheck();
    expect(failed.code, failed.output).toBe(1);
    const afterFail = await getMonitor();
    expect(getCondition(afterFail.status?.conditions, 'DriftDetected')).toMatchObject({ status: 'Unknown', reason: 'ReferenceUnreadable' });
    expect(afterFail.status).toMatchObject({ lastCheckTime: verdictTime, consecutiveDriftChecks: 1, driftDetected: true });
    await sleep(3000); // the operator has reconciled the failure's status write by now
    expect(await retrains()).toEqual([]);

    // 3. A check that hangs on its reference and is killed by its deadline.
    const port = (hang.address() as AddressInfo).port;
    await patchSpec(client, DriftMonitorType, ns, monitorName, { reference: { uri: `http://127.0.0.1:${port}/reference.csv` } });
    await waitFor('the operator saw the spec', async () => (await getMonitor()).status?.observedGeneration === 3);
    const before = (await getMonitor()).metadata.resourceVersion;
    const timedOut = await runCheck(8000);
    expect(timedOut.signal).toBe('SIGKILL');
    expect(hangingRequests).toBeGreaterThan(0); // it really was stuck on the reference
    const afterTimeout = await getMonitor();
    expect(afterTimeout.metadata.resourceVersion).toBe(before); // wrote nothing
    await sleep(3000);
    expect(await retrains()).toEqual([]);

    // 4. The reference is back; a second drifted verdict starts exactly one run.
    await patchSpec(client, DriftMonitorType, ns, monitorName, { reference: { uri: `file://${join(dataDir, 'reference.csv')}` } });
    await waitFor('the operator saw the spec', async () => (await getMonitor()).status?.observedGeneration === 4);
    const second = await runCheck();
    expect(second.code, second.output).toBe(0);
    const names = await waitFor('one retrain', async () => {
      const n = await retrains();
      return n.length > 0 ? n : undefined;
    });
    await sleep(2000);
    expect(await retrains()).toEqual(names);
    expect(names).toHaveLength(1);
    expect((await getMonitor()).status?.lastRetrainJob).toBe(names[0]);

    recordSection({
      name: 'drift-check-failure',
      killsSurvived: 0,
      objectsChecked: 2,
      duplicatesFound: names.length - 1,
      convergenceMs: [],
      details: { failedChecks: 1, timedOutChecks: 1, retrainsFromFailures: 0, retrainsFromVerdicts: names.length },
    });
  });
});
