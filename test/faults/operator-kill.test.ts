// kill -9 of the operator at random points while 50 Models, 20 DriftMonitors
// and 10 RetrainJobs are created, updated and deleted. The schedule (which
// operation comes next, when the operator dies, whether it dies during its
// start-up or mid-reconcile) comes from the run's seed. After the last
// restart everything must converge: one Deployment/Service/token Secret per
// Model with the right spec, current observedGeneration, no duplicate
// children, exactly one RetrainJob per drift episode, no lost status, nothing
// left of deleted objects, and no token rotated by a restart.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { retrainJobName } from '../../src/controllers/drift-monitor/retrain-trigger.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { SecretResource } from '../../src/controllers/resource-types.js';
import { kubeTime } from '../../src/runtime/conditions.js';
import { resourcePath, type KubeObject } from '../../src/runtime/kube-client.js';
import { operatorNamespace } from '../support/cluster.js';
import { operatorRequests, isWrite } from '../support/faults-audit.js';
import { check, ConvergenceTracker, snapshot, waitForConvergence, type Expectations, type MonitorExpectation } from '../support/faults-convergence.js';
import { percentile } from '../support/faults-summary.js';
import { launchOperator, type OperatorRun } from '../support/faults-operator.js';
import { below, between, rngFor } from '../support/faults-prng.js';
import { recordSection } from '../support/faults-report.js';
import { driftMonitor, model, patchSpec, retrainJob, writeTrainerOutput, writeVerdict } from '../support/faults-workload.js';

const MODELS = 50;
const MONITORS = 20;
const RETRAIN_JOBS = 10;
const KILLS = Number(process.env.FLUXORA_FAULTS_KILLS ?? 22);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Op {
  /** The object it changes, e.g. "Model/m3". */
  key: string;
  deletes?: boolean;
  run: () => Promise<unknown>;
}

describe('operator killed with SIGKILL at random points', () => {
  const rng = rngFor('operator-kill');
  const { client, ns } = operatorNamespace('faults-kill', { nodes: 'kwok', why: 'the fault suite runs on its own control plane with kwok Nodes only (one control plane per machine owns the real Node); it checks what the operator writes under faults, not what pods run' }, { operator: false });
  let out: string;
  const runs: OperatorRun[] = [];

  beforeAll(async () => {
    out = await mkdtemp(join(inject('faultsRunDir'), 'trainer-'));
  });
  afterAll(async () => {
    await Promise.all(runs.map((r) => r.kill()));
  });

  it('converges after every kill, with no duplicates and no lost status', { timeout: 480_000 }, async () => {
    // ---- the workload: per object a chain of operations in order; chains interleave at random.
    const uids = new Map<string, string>();
    const monitorExpect = new Map<string, MonitorExpectation>();
    const lastVerdictAt = new Map<string, number>();
    // An operation names the object it changes, so the tracker can time how
    // long each change takes to converge while the operator keeps dying.
    const chains: Op[][] = [];
    const create = async (type: typeof ModelType, obj: Model | DriftMonitor | RetrainJob) => {
      const made = await client.create<KubeObject>(type, obj);
      uids.set(`${obj.kind}/${obj.metadata.name}`, made.metadata.uid ?? '');
    };
    for (let i = 0; i < MODELS; i++) {
      const name = `m${i}`;
      const key = `Model/${name}`;
      const chain: Op[] = [{ key, run: () => create(ModelType, model(ns, name, { replicas: 1 + (i % 2) })) }];
      if (i % 2 === 0) chain.push({ key, run: () => patchSpec(client, ModelType, ns, name, { serving: { replicas: 3 } }) });
      if (i % 3 === 0) chain.push({ key, run: () => patchSpec(client, ModelType, ns, name, { artifact: { uri: `file:///models/${name}/v2.onnx` } }) });
      if (i >= 40) chain.push({ key, deletes: true, run: () => client.delete(ModelType, ns, name) });
      chains.push(chain);
    }
    for (let j = 0; j < MONITORS; j++) {
      const name = `dm${j}`;
      const key = `DriftMonitor/${name}`;
      const chain: Op[] = [{ key, run: () => create(DriftMonitorType, driftMonitor(ns, name, `m${j}`, out)) }];
      const exp: MonitorExpectation = { retrainCandidates: [] };
      monitorExpect.set(name, exp);
      const verdict = (drifted: boolean, consecutive: number): Op => ({ key, run: async () => {
        // A verdict's identity is its lastCheckTime (second resolution): space them out.
        const wait = (lastVerdictAt.get(name) ?? 0) + 1100 - Date.now();
        if (wait > 0) await sleep(wait);
        const at = kubeTime(new Date());
        const run = retrainJobName(name, uids.get(`DriftMonitor/${name}`) ?? '', at);
        // Should this verdict start the retrain, its run's output is already in place.
        if (drifted && consecutive >= 2) await writeTrainerOutput(join(out, 'drift'), run);
        await writeVerdict(client, ns, name, drifted, consecutive, at);
        lastVerdictAt.set(name, Date.now());
        exp.last = { lastCheckTime: at, consecutiveDriftChecks: consecutive };
        if (drifted && consecutive >= 2) exp.retrainCandidates.push(run);
      } });
      if (j < 8) chain.push(verdict(true, 1), verdict(true, 2), verdict(true, 3));
      else if (j < 12) chain.push({ key, run: () => patchSpec(client, DriftMonitorType, ns, name, { schedule: '30 2 * * *' }) }, verdict(false, 0));
      else if (j < 16) chain.push({ key, run: () => patchSpec(client, DriftMonitorType, ns, name, { suspend: true }) });
      else chain.push({ key, deletes: true, run: () => client.delete(DriftMonitorType, ns, name) });
      chains.push(chain);
    }
    for (let r = 0; r < RETRAIN_JOBS; r++) {
      const name = `rj${r}`;
      const key = `RetrainJob/${name}`;
      const chain: Op[] = [
        {
          key,
          run: async () => {
            await writeTrainerOutput(join(out, 'user'), name);
            await create(RetrainJobType, retrainJob(ns, name, `m${20 + r}`, out));
          },
        },
      ];
      if (r >= 8) chain.push({ key, deletes: true, run: () => client.delete(RetrainJobType, ns, name) });
      chains.push(chain);
    }
    const totalOps = chains.reduce((n, c) => n + c.length, 0);

    // Tokens as first seen: a restart must never rotate them.
    const tokens = new Map<string, string>();
    const recordTokens = async () => {
      const secrets = await client.request<{ items: (KubeObject & { data?: Record<string, string> })[] }>('GET', resourcePath(SecretResource, ns));
      for (const s of secrets.items) {
        const owner = s.metadata.ownerReferences?.find((o) => o.kind === 'Model')?.uid;
        if (owner && s.data?.token && !tokens.has(owner)) tokens.set(owner, s.data.token);
      }
    };

    const expectations: Expectations = { tokens, monitors: monitorExpect, mustSucceed: 'all' };
    const tracker = new ConvergenceTracker();
    let opsDone = 0;
    const mutate = (async () => {
      const open = chains.filter((c) => c.length > 0);
      while (open.length > 0) {
        const i = below(rng, open.length);
        const op = open[i]!.shift()!;
        tracker.changed(op.key, { uid: uids.get(op.key), deleted: op.deletes });
        await op.run();
        if (open[i]!.length === 0) open.splice(i, 1);
        if (++opsDone % 20 === 0) await recordTokens();
        // Spread the changes over the whole kill schedule (~5 s per kill).
        await sleep(between(rng, 100, 900));
      }
    })();
    let mutationsDone = false;
    void mutate.then(() => (mutationsDone = true), () => (mutationsDone = true));
    // Meanwhile, watch the namespace converge (or not) change by change.
    let chaosOver = false;
    const watcher = (async () => {
      while (!chaosOver) {
        try {
          const snap = await snapshot(client, ns);
          tracker.observe(snap, check(snap, expectations));
        } catch {
          // a failed look is retried on the next round
        }
        await sleep(1500);
      }
    })();

    // ---- the fault schedule: start, let it run a random while, SIGKILL; repeat.
    const startupMs: number[] = [];
    const kills: { phase: 'start-up' | 'reconciling'; aliveMs: number; reconcileLines: number }[] = [];
    while (kills.length < KILLS || !mutationsDone) {
      const op = launchOperator([`--namespace=${ns}`]);
      runs.push(op);
      const duringStartup = rng() < 0.25;
      if (duringStartup) {
        await sleep(between(rng, 300, 2500));
      } else {
        const started = await op.started;
        if (!started) throw new Error(`operator exited on its own before starting:\n${op.stderr()}`);
        await sleep(between(rng, 100, 2000));
      }
      if (op.proc.exitCode !== null) throw new Error(`operator exited on its own (code ${op.proc.exitCode}):\n${op.stderr()}`);
      const wasStarted = op.logs.some((l) => l.msg === 'operator started');
      await op.kill();
      const startedLine = op.logs.find((l) => l.msg === 'operator started');
      if (typeof startedLine?.time === 'number') startupMs.push(startedLine.time - op.spawnedAt); // pino: epoch ms
      kills.push({
        phase: wasStarted ? 'reconciling' : 'start-up',
        aliveMs: Date.now() - op.spawnedAt,
        reconcileLines: op.logs.filter((l) => l.namespace === ns).length,
      });
      const k = kills.at(-1)!;
      console.log(`[faults] kill ${kills.length}: ${k.phase} after ${k.aliveMs} ms; operations ${opsDone}/${totalOps}; changes not yet converged ${tracker.open}`);
      // Down for a moment, as while a pod is rescheduled.
      await sleep(between(rng, 0, 600));
    }
    await mutate; // surfaces a failed operation
    await recordTokens();
    chaosOver = true;
    await watcher;

    // ---- the last restart: everything must converge.
    const final = launchOperator([`--namespace=${ns}`]);
    runs.push(final);
    const since = final.spawnedAt;
    expect(await final.started, final.stderr()).toBe(true);
    const conv = await waitForConvergence(client, ns, since, expectations, 240_000, tracker);
    expect(tracker.open).toBe(0);

    expect(conv.result.duplicates).toBe(0);
    // Every qualifying drift episode started its one run; the others none.
    const rjs = (await client.request<{ items: RetrainJob[] }>('GET', resourcePath(RetrainJobType, ns))).items;
    const fromDrift = rjs.filter((r) => r.metadata.labels?.['fluxora.io/drift-monitor']);
    expect(fromDrift.map((r) => r.metadata.labels?.['fluxora.io/drift-monitor']).sort()).toEqual(
      [...monitorExpect.entries()].filter(([, e]) => e.retrainCandidates.length > 0).map(([n]) => n).sort(),
    );
    expect(rjs.filter((r) => !r.metadata.labels?.['fluxora.io/drift-monitor']).map((r) => r.metadata.name).sort()).toEqual(
      Array.from({ length: 8 }, (_, r) => `rj${r}`).sort(),
    );
    const models = (await client.request<{ items: Model[] }>('GET', resourcePath(ModelType, ns))).items;
    expect(models).toHaveLength(40);
    expect(tokens.size).toBeGreaterThanOrEqual(40);

    // Steady state after convergence: the operator writes nothing (Events aside).
    const quietFrom = Date.now();
    await sleep(5000);
    const writes = operatorRequests({ namespace: ns, fromMs: quietFrom }).filter((r) => isWrite(r) && r.objectRef?.resource !== 'events');
    expect(writes.map((w) => `${w.verb} ${w.objectRef?.resource}/${w.objectRef?.name}`)).toEqual([]);
    expect(final.proc.exitCode).toBeNull();

    const details = {
      kills: kills.length,
      killedDuringStartUp: kills.filter((k) => k.phase === 'start-up').length,
      killedReconciling: kills.filter((k) => k.phase === 'reconciling').length,
      operations: totalOps,
      driftRetrains: fromDrift.length,
      operatorStartupMsMedian: percentile(startupMs, 50),
      lastRestartToConvergedMs: conv.totalMs,
    };
    recordSection({
      name: 'operator-kill',
      killsSurvived: kills.length,
      objectsChecked: conv.result.objectsChecked,
      duplicatesFound: conv.result.duplicates,
      convergenceMs: tracker.samplesMs,
      details,
    });
    console.log(`[faults] operator-kill: ${JSON.stringify(details)}`);
  });
});
