// The control plane fails under the operator while users keep writing:
//   1. kube-apiserver SIGKILLed and restarted (every connection drops);
//   2. etcd SIGKILLed, down for a while, restarted (the API server answers errors);
//   3. etcd history compacted, then kube-apiserver restarted (watches resume
//      from versions that no longer exist: 410 Gone, re-list).
// The same operator process survives all three (no restart), backs off while
// the control plane is broken (requests per second stay bounded; a hot loop
// would be hundreds), and converges afterwards, then goes quiet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelType } from '../../src/controllers/fluxora-types.js';
import { operatorNamespace } from '../support/cluster.js';
import { isWrite, operatorRequests, rate } from '../support/faults-audit.js';
import { compactEtcd, killEtcd, restartApiserver } from '../support/faults-control-plane.js';
import { waitForConvergence } from '../support/faults-convergence.js';
import { counterTotal, launchOperator, scrapeOperator, type OperatorRun } from '../support/faults-operator.js';
import { below, between, rngFor } from '../support/faults-prng.js';
import { recordSection } from '../support/faults-report.js';
import { model, patchSpec } from '../support/faults-workload.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Bounds: the operator runs ~14 informers, each retrying list/watch with
// exponential back-off from 0.5 s (capped at 30 s), and reconciles retry with
// per-item back-off under an overall rate limit. During an outage that is a
// few requests per second in total; a hot loop would be hundreds.
const OUTAGE_MAX_PER_SECOND = 15;
/** Retries of reconciles in flight when the API server died (per-item back-off from 5 ms). */
const RECONCILE_RETRY_ALLOWANCE = 40;
const OUTAGE_MAX_PEAK = 60;
/** Once converged: only watches being re-opened, no writes. */
const QUIET_MAX_PER_SECOND = 1;

describe('kube-apiserver and etcd restarts under load', () => {
  const rng = rngFor('apiserver-etcd');
  const { client, ns } = operatorNamespace('faults-cp', { nodes: 'kwok', why: 'the fault suite runs on its own control plane with kwok Nodes only (one control plane per machine owns the real Node); it checks what the operator writes under faults, not what pods run' }, { operator: false });
  let op: OperatorRun;
  let loadRunning = true;
  let loadOps = 0;
  let loadErrors = 0;
  let load: Promise<void>;

  beforeAll(async () => {
    op = launchOperator([`--namespace=${ns}`]);
    expect(await op.started, op.stderr()).toBe(true);
    for (let i = 0; i < 15; i++) await client.create(ModelType, model(ns, `base${i}`));
    await waitForConvergence(client, ns, Date.now());
    // Users keep applying while the control plane fails: new Models and spec
    // changes, errors ignored (they retry, as kubectl users and GitOps do).
    load = (async () => {
      let n = 0;
      while (loadRunning) {
        try {
          if (rng() < 0.4) await client.create(ModelType, model(ns, `load${n++}`));
          else await patchSpec(client, ModelType, ns, `base${below(rng, 15)}`, { serving: { replicas: 1 + below(rng, 3) } });
          loadOps++;
        } catch {
          loadErrors++;
        }
        await sleep(between(rng, 100, 400));
      }
    })();
  });
  afterAll(async () => {
    loadRunning = false;
    await load;
    await op?.kill();
  });

  it('survives kube-apiserver restarts, an etcd outage and expired watches without a restart or a hot loop', async () => {
    const pid = op.proc.pid;
    const convergence: number[] = [];
    const phaseConvergenceMs: number[] = [];
    const converge = async () => {
      const since = Date.now();
      const c = await waitForConvergence(client, ns, since, {}, 120_000);
      convergence.push(...c.convergenceMs);
      phaseConvergenceMs.push(c.totalMs);
      return c;
    };

    // 1. kube-apiserver killed and restarted: the API is gone, so the audit
    // log is silent; the operator's own counter of requests that found no
    // server (code "<error>") tells how often it tried. Back-off from 0.5 s
    // doubling means about 2 + log2(outage / 0.25 s) attempts per informer,
    // front-loaded; in-flight reconciles add a few rate-limited retries.
    await sleep(1000);
    const informers = Number(op.logs.find((l) => l.msg === 'caches synced')?.informers ?? 0);
    expect(informers).toBeGreaterThan(0);
    const failedSoFar = async () => counterTotal(await scrapeOperator(op), 'rest_client_requests_total', /code="<error>"/);
    const before1 = await failedSoFar();
    const t1 = Date.now();
    await restartApiserver();
    const apiserverDownMs = Date.now() - t1;
    const attempts1 = (await failedSoFar()) - before1;
    const attemptBound = Math.ceil(informers * (2 + Math.log2(apiserverDownMs / 250))) + RECONCILE_RETRY_ALLOWANCE;
    const apiserverOutage = { failedAttempts: attempts1, bound: attemptBound, seconds: apiserverDownMs / 1000, perSecond: Math.round((attempts1 / (apiserverDownMs / 1000)) * 100) / 100 };
    expect(attempts1).toBeLessThanOrEqual(attemptBound);
    await converge();

    // 2. etcd down for a few seconds: the API server is up and answers
    // errors, and audits each of the operator's requests. New Models arrive
    // just before, so the operator is mid-reconcile when its writes start
    // failing and must retry them with back-off, not in a loop.
    await Promise.all(Array.from({ length: 8 }, (_, k) => client.create(ModelType, model(ns, `etcd${k}`))));
    const restartEtcd = await killEtcd();
    const t2 = Date.now();
    await sleep(between(rng, 5000, 8000));
    const etcdDownUntil = Date.now();
    await restartEtcd();
    const etcdOutage = rate(operatorRequests({ namespace: ns, fromMs: t2, toMs: etcdDownUntil }), t2, etcdDownUntil);
    expect(etcdOutage.perSecond).toBeLessThanOrEqual(OUTAGE_MAX_PER_SECOND);
    expect(etcdOutage.peakPerSecond).toBeLessThanOrEqual(OUTAGE_MAX_PEAK);
    await converge();

    // 3. History compacted, then the API server restarted: the informers'
    // resourceVersions are gone; resuming answers 410 and they re-list.
    const relistsBefore = op.logs.filter((l) => l.msg === 'watch expired (410 Gone), re-listing').length;
    await client.create(ModelType, model(ns, 'bump')); // history moves past every informer's version
    const revision = await compactEtcd();
    const t3 = Date.now();
    await restartApiserver();
    const relists = await (async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const n = op.logs.filter((l) => l.msg === 'watch expired (410 Gone), re-listing').length - relistsBefore;
        if (n > 0 || Date.now() > deadline) return n;
        await sleep(250);
      }
    })();
    expect(relists).toBeGreaterThan(0);
    const afterRestart = rate(operatorRequests({ namespace: ns, fromMs: t3 }), t3, Date.now());

    // Load stops; everything the users asked for is there.
    loadRunning = false;
    await load;
    const final = await converge();

    // And then the operator goes quiet.
    const quietFrom = Date.now();
    await sleep(8000);
    const quietRequests = operatorRequests({ namespace: ns, fromMs: quietFrom });
    const quiet = rate(quietRequests, quietFrom, Date.now());
    expect(quietRequests.filter((r) => isWrite(r) && r.objectRef?.resource !== 'events').map((r) => `${r.verb} ${r.objectRef?.resource}/${r.objectRef?.name}`)).toEqual([]);
    expect(quiet.perSecond).toBeLessThanOrEqual(QUIET_MAX_PER_SECOND);

    // The same process throughout.
    expect(op.proc.exitCode).toBeNull();
    expect(op.proc.pid).toBe(pid);
    const backoffs = op.logs.filter((l) => l.msg === 'list/watch failed, backing off');
    const details = {
      phaseConvergenceMs,
      backoffs: backoffs.length,
      longestBackoffMs: Math.max(0, ...backoffs.map((l) => l.retryInMs as number)),
      backoffErrors: [...new Set(backoffs.map((l) => `${l.resource as string}: ${String((l.err as { message?: string } | undefined)?.message).slice(0, 80)}`))].slice(0, 12),
      apiserverOutage,
      etcdOutage,
      afterApiserverRestartWithCompaction: afterRestart,
      compactedAtRevision: revision,
      relistsAfter410: relists,
      quiet,
      loadOps,
      loadErrors,
      modelsAtEnd: final.result.problems.size - 1,
    };
    recordSection({
      name: 'apiserver-etcd-restart',
      killsSurvived: 0,
      objectsChecked: final.result.objectsChecked,
      duplicatesFound: final.result.duplicates,
      convergenceMs: convergence,
      details,
    });
    console.log(`[faults] apiserver-etcd-restart: ${JSON.stringify(details)}`);
  });
});
