// Others write the same objects as the operator:
//   - conflicting writes: bursts of concurrent spec changes and status
//     scribbles race the operator's own status writes, which then fail with
//     409 Conflict and must be retried on fresh data, not lost or looped on;
//   - a user edits the operator's children by hand: scales a Deployment,
//     changes its image, deletes a Service, a Deployment, a CronJob, a Role,
//     rewrites a CronJob's schedule,
//     points a Service's selector elsewhere. All of it is put back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriftMonitorType, ModelType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource, DeploymentResource, RoleResource, ServiceResource } from '../../src/controllers/resource-types.js';
import { resourcePath, type ResourceType } from '../../src/runtime/kube-client.js';
import { operatorNamespace } from '../support/cluster.js';
import { operatorRequests } from '../support/faults-audit.js';
import { snapshot, waitForConvergence } from '../support/faults-convergence.js';
import { launchOperator, type OperatorRun } from '../support/faults-operator.js';
import { below, rngFor } from '../support/faults-prng.js';
import { recordSection } from '../support/faults-report.js';
import { driftMonitor, model, patchSpec } from '../support/faults-workload.js';

const MODELS = 10;

describe('conflicting writes and hand edits of children', () => {
  const rng = rngFor('conflicts');
  const { client, ns } = operatorNamespace('faults-409', { nodes: 'kwok', why: 'the fault suite runs on its own control plane with kwok Nodes only (one control plane per machine owns the real Node); it checks what the operator writes under faults, not what pods run' }, { operator: false });
  let op: OperatorRun;

  const merge = (type: ResourceType, name: string, body: unknown, sub?: string) =>
    client.request('PATCH', resourcePath(type, ns, name, sub), { body, contentType: 'application/merge-patch+json' });
  /** What `kubectl set image` / `kubectl edit` send for built-in kinds. */
  const strategic = (type: ResourceType, name: string, body: unknown) =>
    client.request('PATCH', resourcePath(type, ns, name), { body, contentType: 'application/strategic-merge-patch+json' });

  beforeAll(async () => {
    op = launchOperator([`--namespace=${ns}`]);
    expect(await op.started, op.stderr()).toBe(true);
    for (let i = 0; i < MODELS; i++) await client.create(ModelType, model(ns, `m${i}`));
    for (let j = 0; j < 2; j++) await client.create(DriftMonitorType, driftMonitor(ns, `dm${j}`, `m${j}`, '/tmp/unused'));
    await waitForConvergence(client, ns, Date.now());
  });
  afterAll(async () => {
    await op?.kill();
  });

  it('retries 409s on fresh data and ends with the latest spec and a correct status', async () => {
    const from = Date.now();
    // 15 rounds; in each, every Model gets a spec change and a status
    // scribble at once, racing the operator's writes of the same status.
    for (let round = 0; round < 15; round++) {
      await Promise.all(
        Array.from({ length: MODELS }, (_, i) =>
          Promise.all([
            patchSpec(client, ModelType, ns, `m${i}`, { serving: { replicas: 1 + below(rng, 4) } }),
            merge(ModelType, `m${i}`, { status: { endpoint: 'http://scribbled.invalid', servingVersion: 'v99' } }, 'status'),
          ]),
        ),
      );
    }
    const conv = await waitForConvergence(client, ns, Date.now(), {}, 120_000);
    const conflicts = operatorRequests({ namespace: ns, fromMs: from }).filter((r) => r.responseStatus?.code === 409);
    // The race was real: the operator's status writes did hit 409s...
    expect(conflicts.length).toBeGreaterThan(0);
    // ...and none of the scribbles survived.
    const models = (await snapshot(client, ns)).models;
    for (const m of models) {
      expect(m.status?.endpoint).toBe(`http://${m.metadata.name}.${ns}.svc:8080/v2/models/${m.metadata.name}`);
      expect(m.status?.servingVersion).toBe('v1');
    }
    expect(op.proc.exitCode).toBeNull();
    recordSection({
      name: 'conflicts',
      killsSurvived: 0,
      objectsChecked: conv.result.objectsChecked,
      duplicatesFound: conv.result.duplicates,
      convergenceMs: conv.convergenceMs,
      details: { rounds: 15, operatorConflicts: conflicts.length },
    });
  });

  it('puts back children edited or deleted by hand', async () => {
    const since = Date.now();
    await merge(DeploymentResource, 'm0', { spec: { replicas: 7 } });
    await strategic(DeploymentResource, 'm1', { spec: { template: { spec: { containers: [{ name: 'server', image: 'tampered:1' }] } } } });
    await client.delete(ServiceResource, ns, 'm2');
    await client.delete(DeploymentResource, ns, 'm3');
    await merge(ServiceResource, 'm4', { spec: { selector: { 'fluxora.io/model': 'someone-else' } } });
    await client.delete(CronJobResource, ns, 'dm0-drift-check');
    await merge(CronJobResource, 'dm1-drift-check', { spec: { schedule: '* * * * *', suspend: true } });
    await client.delete(RoleResource, ns, 'dm1-drift-check');
    const conv = await waitForConvergence(client, ns, since, {}, 120_000);
    expect(conv.result.duplicates).toBe(0);
    expect(op.proc.exitCode).toBeNull();
    recordSection({
      name: 'hand-edits',
      killsSurvived: 0,
      objectsChecked: conv.result.objectsChecked,
      duplicatesFound: conv.result.duplicates,
      convergenceMs: conv.convergenceMs,
      details: { edits: 8 },
    });
  });
});
