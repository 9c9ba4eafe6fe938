// Two operator replicas with leader election while Models keep arriving:
// SIGKILL the leader (it cannot release the Lease). The follower must take
// over once the lease has expired and not before: the gap between the old
// leader's last renewal and the new leader's acquisition is at least the lease
// duration and at most the lease duration plus a couple of retry periods. The
// audit log must show the two replicas' writes never interleave, and no object
// carries a write of ours (managedFields) from the leaderless gap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaderElectionRole } from '../../src/controllers/rbac.js';
import { ModelType } from '../../src/controllers/fluxora-types.js';
import { DeploymentResource, RoleBindingResource, RoleResource, ServiceResource } from '../../src/controllers/resource-types.js';
import { resourcePath, type KubeObject } from '../../src/runtime/kube-client.js';
import { LeaseResource, type Lease } from '../../src/runtime/leader-election.js';
import { operatorNamespace, waitFor } from '../support/cluster.js';
import { isWrite, operatorRequests, receivedMs } from '../support/faults-audit.js';
import { waitForConvergence } from '../support/faults-convergence.js';
import { launchOperator, type OperatorRun } from '../support/faults-operator.js';
import { between, rngFor } from '../support/faults-prng.js';
import { recordSection } from '../support/faults-report.js';
import { model } from '../support/faults-workload.js';

const LEASE_S = 4;
const RENEW_S = 3;
const RETRY_S = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ManagedFieldsEntry {
  manager: string;
  operation: string;
  time?: string;
}

describe('leader election: the leader is killed', () => {
  const rng = rngFor('leader-failover');
  const { client, ns } = operatorNamespace('faults-leader', { nodes: 'kwok', why: 'the fault suite runs on its own control plane with kwok Nodes only (one control plane per machine owns the real Node); it checks what the operator writes under faults, not what pods run' }, { operator: false });
  const ops: OperatorRun[] = [];

  beforeAll(async () => {
    // As the chart does: Lease rights only in the operator's own namespace.
    const role = leaderElectionRole(ns);
    await client.create(RoleResource, role);
    await client.create(RoleBindingResource, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: role.metadata.name, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'fluxora-operator' }],
    } as KubeObject);
  });
  afterAll(async () => {
    await Promise.all(ops.map((o) => o.kill()));
  });

  it('the follower takes over after the lease expires, and the two never write at once', async () => {
    const args = [
      `--namespace=${ns}`,
      '--leader-elect',
      `--leader-election-namespace=${ns}`,
      `--lease-duration=${LEASE_S}`,
      `--renew-deadline=${RENEW_S}`,
      `--retry-period=${RETRY_S}`,
    ];
    ops.push(launchOperator(args), launchOperator(args));
    for (const o of ops) expect(await o.started, o.stderr()).toBe(true);
    const leader = await waitFor('a leader', () => ops.find((o) => o.leading()), 30_000, 100);
    const follower = ops.find((o) => o !== leader)!;

    // Models keep arriving before, during and after the failover.
    let creating = true;
    let created = 0;
    const creator = (async () => {
      while (creating) {
        await client.create(ModelType, model(ns, `m${created++}`));
        await sleep(between(rng, 100, 400));
      }
    })();
    await sleep(between(rng, 2000, 4000));

    const killedAt = Date.now();
    await leader.kill();
    await waitFor('the follower leads', () => follower.leading(), 30_000, 50);
    const takeoverMs = Date.now() - killedAt;
    await sleep(3000);
    creating = false;
    await creator;

    const conv = await waitForConvergence(client, ns, killedAt, {}, 120_000);
    expect(conv.result.duplicates).toBe(0);

    // The Lease says the follower took it over once.
    const lease = await client.get<Lease>(LeaseResource, ns, 'fluxora-operator');
    expect(lease.spec.holderIdentity).toBe(follower.identity());
    expect(lease.spec.leaseTransitions).toBe(1);

    // Audit: per replica (user agent carries its identity), every write.
    const agentOf = (o: OperatorRun) => `fluxora-operator/${o.identity()}`;
    // Writes that took effect: at start-up both replicas race to create the
    // Lease, and the loser's refused create (409) changed nothing.
    const writes = operatorRequests({ namespace: ns }).filter((w) => isWrite(w) && (w.responseStatus?.code ?? 0) < 300);
    const oldWrites = writes.filter((w) => w.userAgent === agentOf(leader));
    const newWrites = writes.filter((w) => w.userAgent === agentOf(follower));
    expect(oldWrites.length).toBeGreaterThan(0);
    expect(newWrites.length).toBeGreaterThan(0);
    expect(writes.length).toBe(oldWrites.length + newWrites.length);
    const oldLast = Math.max(...oldWrites.map(receivedMs));
    const newFirst = Math.min(...newWrites.map(receivedMs));
    // Never two writers: the old leader's last write precedes the new leader's first.
    expect(oldLast).toBeLessThan(newFirst);

    // The old leader's last successful renewal vs the new leader's acquisition.
    const leaseWrites = (w: typeof writes) => w.filter((x) => x.objectRef?.resource === 'leases');
    const lastRenewal = Math.max(...leaseWrites(oldWrites).map(receivedMs));
    const acquired = Math.min(...leaseWrites(newWrites).map(receivedMs));
    const gapMs = acquired - lastRenewal;
    // Not before the lease expired (measured on the follower's clock from when
    // it saw the last renewal, so never shorter)...
    expect(gapMs).toBeGreaterThanOrEqual(LEASE_S * 1000);
    // ...and promptly after: a retry period to notice the last renewal, one to
    // notice the expiry, jittered by up to 20%, plus room for a busy machine.
    expect(gapMs).toBeLessThanOrEqual(LEASE_S * 1000 + 2 * RETRY_S * 1200 + 1500);

    // managedFields: no object carries a write of ours stamped inside the
    // leaderless gap (second resolution, so the gap's inner whole seconds).
    const stamped: string[] = [];
    for (const type of [ModelType, DeploymentResource, ServiceResource]) {
      const items = (await client.request<{ items: KubeObject[] }>('GET', resourcePath(type, ns))).items;
      for (const o of items) {
        for (const mf of (o.metadata.managedFields ?? []) as ManagedFieldsEntry[]) {
          if (!mf.manager.startsWith('fluxora-operator') || !mf.time) continue;
          const t = Date.parse(mf.time);
          if (t > Math.floor(oldLast / 1000) * 1000 + 1000 && t < Math.floor(newFirst / 1000) * 1000) stamped.push(`${type.kind}/${o.metadata.name} ${mf.operation} at ${mf.time}`);
        }
      }
    }
    expect(stamped).toEqual([]);

    const details = { takeoverMs, leaseGapMs: gapMs, leaseSeconds: LEASE_S, retryPeriodSeconds: RETRY_S, modelsCreated: created, oldLeaderWrites: oldWrites.length, newLeaderWrites: newWrites.length };
    recordSection({
      name: 'leader-failover',
      killsSurvived: 1,
      objectsChecked: conv.result.objectsChecked,
      duplicatesFound: conv.result.duplicates,
      convergenceMs: conv.convergenceMs,
      details,
    });
    console.log(`[faults] leader-failover: ${JSON.stringify(details)}`);
  });
});
