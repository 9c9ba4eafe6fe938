// Two operator replicas: only the Lease holder reconciles; when it is killed
// (no chance to release the Lease) the other takes over after the lease
// expires, and the audit log shows the replicas never wrote at the same time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src/api/index.js';
import { ModelType } from '../../src/controllers/fluxora-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.js';
import { LeaseResource, type Lease } from '../../src/runtime/leader-election.js';
import { leaderElectionRole } from '../../src/controllers/rbac.js';
import { RoleBindingResource, RoleResource } from '../../src/controllers/resource-types.js';
import { operatorNamespace, operatorWrites, startOperator, waitFor, type OperatorProcess } from '../support/cluster.js';

const LEASE_SECONDS = 4;

function model(ns: string, name: string): Model {
  return {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'Model',
    metadata: { name, namespace: ns },
    spec: { artifact: { uri: `file:///models/${name}/model.onnx` }, features: [{ name: 'x', type: 'numeric' }] },
  } as unknown as Model;
}

async function ready(client: KubeClient, ns: string, name: string) {
  return waitFor(`${name} Ready`, async () => {
    const m = await client.get<Model>(ModelType, ns, name);
    return getCondition(m.status?.conditions, 'Ready')?.status === 'True' ? m : undefined;
  });
}

describe('leader election with two replicas', () => {
  const { client, ns } = operatorNamespace(
    'leader',
    { nodes: 'kwok', why: 'two operator replicas and their writes are what is tested, not what the pods run' },
    { operator: false },
  );
  const ops: OperatorProcess[] = [];

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
    await Promise.all(ops.map((o) => o.stop('SIGKILL')));
  });

  it('only the leader reconciles, and the follower takes over when the leader dies', async () => {
    const args = [
      `--namespace=${ns}`,
      '--leader-elect',
      `--leader-election-namespace=${ns}`,
      `--lease-duration=${LEASE_SECONDS}`,
      '--renew-deadline=3',
      '--retry-period=1',
    ];
    ops.push(await startOperator(args), await startOperator(args));
    const started = (o: OperatorProcess) => o.logs.some((l) => l.msg === 'controllers started');
    const leaderIdx = await waitFor('a leader', () => {
      const idx = ops.findIndex(started);
      return idx >= 0 ? idx : undefined;
    });
    const leader = ops[leaderIdx]!;
    const follower = ops[1 - leaderIdx]!;

    await client.create(ModelType, model(ns, 'a'));
    await ready(client, ns, 'a');
    expect(started(follower)).toBe(false);

    const lease = await client.get<Lease>(LeaseResource, ns, 'fluxora-operator');
    const leaderIdentity = lease.spec.holderIdentity!;
    expect(leaderIdentity).toMatch(/_\d+$/);
    expect(leaderIdentity.endsWith(`_${leader.proc.pid}`)).toBe(true);

    // Writes so far come only from the leader.
    const agents = new Set(operatorWrites({ namespace: ns }).map((w) => w.userAgent));
    expect([...agents]).toEqual([`fluxora-operator/${leaderIdentity}`]);

    // Kill -9: the lease is not released; the follower must wait out the lease.
    const killedAt = Date.now();
    leader.proc.kill('SIGKILL');
    await leader.exited;
    await waitFor('follower takes over', () => started(follower), 30_000, 100);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan((LEASE_SECONDS + 4) * 1000);

    const after = await client.get<Lease>(LeaseResource, ns, 'fluxora-operator');
    expect(after.spec.holderIdentity).toBe(`${follower.logs.find((l) => l.msg === 'operator started')!.identity as string}`);
    expect(after.spec.leaseTransitions).toBeGreaterThanOrEqual(1);

    await client.create(ModelType, model(ns, 'b'));
    await ready(client, ns, 'b');
    const writes = operatorWrites({ namespace: ns }).filter((w) => w.objectRef?.resource !== 'leases');
    const byAgent = new Map<string, number[]>();
    for (const w of writes) {
      const t = Date.parse(w.requestReceivedTimestamp);
      byAgent.set(w.userAgent ?? '', [...(byAgent.get(w.userAgent ?? '') ?? []), t]);
    }
    // Never two writers at once: the old leader's last write precedes the new leader's first.
    const [first, second] = [...byAgent.values()];
    expect(byAgent.size).toBe(2);
    expect(Math.max(...first!)).toBeLessThan(Math.min(...second!));
    console.log(`leader failover took ${takeoverMs} ms (lease ${LEASE_SECONDS}s)`);
  });

  it('a leader that shuts down gracefully releases the lease so the successor starts at once', async () => {
    const leader = ops.find((o) => o.proc.exitCode === null && o.proc.signalCode === null)!;
    const args = [`--namespace=${ns}`, '--leader-elect', `--leader-election-namespace=${ns}`, `--lease-duration=30`, '--renew-deadline=20', '--retry-period=1'];
    const successor = await startOperator(args);
    ops.push(successor);
    const t0 = Date.now();
    expect(await leader.stop('SIGTERM')).toBe(0);
    await waitFor('successor leads', () => successor.logs.some((l) => l.msg === 'controllers started'), 20_000, 100);
    // Well under the old leader's 4 s lease: it was released, not waited out.
    expect(Date.now() - t0).toBeLessThan(3_000);
    const objs = await client.request<{ items: KubeObject[] }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments`);
    expect(objs.items.map((d) => d.metadata.name).sort()).toEqual(['a', 'b']);
  });
});
