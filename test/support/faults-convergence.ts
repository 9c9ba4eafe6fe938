// "Did everything converge?" for the fault scenarios: one snapshot of every
// object in the namespace, checked against what the operator must have made
// of it. Children are counted by their controlling owner's uid, so a
// duplicate (two Deployments for one Model, two RetrainJobs for one verdict)
// or a leftover of a deleted object is found whatever its name.
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import {
  CronJobResource,
  DeploymentResource,
  JobResource,
  RoleBindingResource,
  RoleResource,
  SecretResource,
  ServiceAccountResource,
  ServiceResource,
} from '../../src/controllers/resource-types.js';
import { getCondition, type Condition } from '../../src/runtime/conditions.js';
import { resourcePath, type KubeClient, type KubeObject, type ResourceType } from '../../src/runtime/kube-client.js';
import { SERVING_IMAGE } from './faults-workload.js';

interface Container {
  image: string;
  env?: { name: string; value?: string }[];
}
interface Deployment extends KubeObject {
  spec: { replicas?: number; template: { spec: { containers: Container[] } } };
}
interface Service extends KubeObject {
  spec: { ports: { name: string; port: number }[]; selector?: Record<string, string> };
}
interface Secret extends KubeObject {
  data?: Record<string, string>;
}
interface CronJob extends KubeObject {
  spec: { schedule: string; suspend?: boolean };
}

/** The child kinds each primary kind owns; one of each per owner, never more. */
const CHILD_KINDS: Record<string, readonly string[]> = {
  Model: ['Deployment', 'Service', 'Secret'],
  DriftMonitor: ['CronJob', 'ServiceAccount', 'Role', 'RoleBinding'],
  RetrainJob: ['Job', 'ServiceAccount'],
};

const CHILD_TYPES: ResourceType[] = [
  DeploymentResource,
  ServiceResource,
  SecretResource,
  CronJobResource,
  ServiceAccountResource,
  RoleResource,
  RoleBindingResource,
  JobResource,
];

export interface Snapshot {
  takenAt: number;
  models: Model[];
  monitors: DriftMonitor[];
  retrainJobs: RetrainJob[];
  children: KubeObject[];
}

async function list<T extends KubeObject>(client: KubeClient, type: ResourceType, ns: string): Promise<T[]> {
  const res = await client.request<{ items: T[] }>('GET', resourcePath(type, ns));
  for (const o of res.items) o.kind = type.kind; // list items omit kind
  return res.items;
}

export async function snapshot(client: KubeClient, ns: string): Promise<Snapshot> {
  const [models, monitors, retrainJobs, ...children] = await Promise.all([
    list<Model>(client, ModelType, ns),
    list<DriftMonitor>(client, DriftMonitorType, ns),
    list<RetrainJob>(client, RetrainJobType, ns),
    ...CHILD_TYPES.map((t) => list<KubeObject>(client, t, ns)),
  ]);
  return { takenAt: Date.now(), models, monitors, retrainJobs, children: children.flat() };
}

export interface MonitorExpectation {
  /** The last verdict the test wrote; it must still be in status (no lost status). */
  last?: { lastCheckTime: string; consecutiveDriftChecks: number };
  /** Names a RetrainJob for a qualifying verdict may have; exactly one of them must exist. Empty: none may exist. */
  retrainCandidates: string[];
}

export interface Expectations {
  /** Samples tokens seen earlier, by Model uid: a restart must never rotate them. */
  tokens?: ReadonlyMap<string, string>;
  monitors?: ReadonlyMap<string, MonitorExpectation>;
  /** RetrainJobs that must end Succeeded (others may be in any terminal phase). */
  mustSucceed?: 'all' | 'none';
}

export interface CheckResult {
  /** Problems per primary ("Model/m1"), empty when it converged; "leftovers" for children of gone owners. */
  problems: Map<string, string[]>;
  duplicates: number;
  objectsChecked: number;
  /** uids that still own children (a deleted object's uid stays here until the GC is done). */
  owners: Set<string>;
}

const controllerRef = (o: KubeObject) => o.metadata.ownerReferences?.find((r) => r.controller);
const envOf = (c: Container | undefined, name: string) => c?.env?.find((e) => e.name === name)?.value;

export function check(s: Snapshot, e: Expectations = {}): CheckResult {
  const problems = new Map<string, string[]>();
  const owned = new Map<string, KubeObject[]>();
  for (const c of s.children.concat(s.retrainJobs)) {
    const ref = controllerRef(c);
    if (!ref || !CHILD_KINDS[ref.kind]) continue;
    owned.set(ref.uid, [...(owned.get(ref.uid) ?? []), c]);
  }
  let duplicates = 0;
  let objectsChecked = 0;
  /** The one child of `kind` owned by `uid`, noting a missing or duplicated one. */
  const only = <T extends KubeObject>(uid: string, kind: string, p: string[]): T | undefined => {
    const mine = (owned.get(uid) ?? []).filter((c) => c.kind === kind);
    if (mine.length === 0) p.push(`no ${kind}`);
    if (mine.length > 1) {
      duplicates += mine.length - 1;
      p.push(`${mine.length} ${kind}s: ${mine.map((c) => c.metadata.name).join(', ')}`);
    }
    objectsChecked += mine.length;
    return mine[0] as T | undefined;
  };
  const readiness = (o: { metadata: { generation?: number }; status?: { observedGeneration?: number; conditions?: Condition[] } }, p: string[]) => {
    if (o.status?.observedGeneration !== o.metadata.generation) p.push(`observedGeneration ${o.status?.observedGeneration} != generation ${o.metadata.generation}`);
    const ready = getCondition(o.status?.conditions, 'Ready');
    if (ready?.status !== 'True') p.push(`Ready=${ready?.status ?? 'missing'} (${ready?.reason ?? ''})`);
  };

  for (const m of s.models) {
    const p: string[] = [];
    objectsChecked++;
    const uid = m.metadata.uid ?? '';
    readiness(m, p);
    const versions = m.status?.versions ?? [];
    const served = versions.find((v) => v.name === m.status?.servingVersion);
    if (!served) p.push(`servingVersion ${m.status?.servingVersion} not in versions`);
    else if (served !== versions.at(-1)) p.push(`serves ${served.name}, not the newest ${versions.at(-1)?.name}`);
    if (!versions.some((v) => v.uri === m.spec.artifact.uri)) p.push(`spec.artifact ${m.spec.artifact.uri} not recorded in versions`);
    for (const rj of s.retrainJobs) {
      if (rj.spec.modelRef.name === m.metadata.name && rj.status?.phase === 'Succeeded' && !versions.some((v) => v.source === `RetrainJob/${rj.metadata.name}`)) {
        p.push(`lost the version promoted by RetrainJob ${rj.metadata.name}`);
      }
    }
    const dep = only<Deployment>(uid, 'Deployment', p);
    if (dep) {
      const c = dep.spec.template.spec.containers[0];
      const want = m.spec.serving?.replicas ?? 1;
      if (dep.spec.replicas !== want) p.push(`Deployment replicas ${dep.spec.replicas} != ${want}`);
      if (c?.image !== (m.spec.serving?.image ?? SERVING_IMAGE)) p.push(`Deployment image ${c?.image}`);
      if (served && envOf(c, 'FLUXORA_MODEL_URI') !== served.uri) p.push(`Deployment serves ${envOf(c, 'FLUXORA_MODEL_URI')}, not ${served.uri}`);
    }
    const svc = only<Service>(uid, 'Service', p);
    if (svc && svc.spec.ports.map((x) => `${x.name}:${x.port}`).sort().join(',') !== 'admin:8081,grpc:8085,http:8080') {
      p.push(`Service ports ${JSON.stringify(svc.spec.ports)}`);
    }
    if (svc && svc.spec.selector?.['fluxora.io/model'] !== m.metadata.name) p.push(`Service selects ${JSON.stringify(svc.spec.selector)}`);
    const secret = only<Secret>(uid, 'Secret', p);
    const token = secret?.data?.token;
    if (secret && !token) p.push('samples Secret has no token');
    const seen = e.tokens?.get(uid);
    if (token && seen && token !== seen) p.push('samples token was rotated');
    problems.set(`Model/${m.metadata.name}`, p);
  }

  for (const d of s.monitors) {
    const p: string[] = [];
    objectsChecked++;
    const uid = d.metadata.uid ?? '';
    readiness(d, p);
    const cj = only<CronJob>(uid, 'CronJob', p);
    if (cj && (cj.spec.schedule !== d.spec.schedule || (cj.spec.suspend ?? false) !== (d.spec.suspend ?? false))) {
      p.push(`CronJob schedule/suspend ${cj.spec.schedule}/${cj.spec.suspend} != ${d.spec.schedule}/${d.spec.suspend}`);
    }
    for (const k of ['ServiceAccount', 'Role', 'RoleBinding']) only(uid, k, p);
    const want = e.monitors?.get(d.metadata.name);
    const runs = (owned.get(uid) ?? []).filter((c) => c.kind === 'RetrainJob');
    objectsChecked += runs.length;
    if (want) {
      if (want.last && (d.status?.lastCheckTime !== want.last.lastCheckTime || d.status?.consecutiveDriftChecks !== want.last.consecutiveDriftChecks)) {
        p.push(`lost verdict: status has ${d.status?.lastCheckTime}/${d.status?.consecutiveDriftChecks}, wrote ${want.last.lastCheckTime}/${want.last.consecutiveDriftChecks}`);
      }
      if (want.retrainCandidates.length === 0 && runs.length > 0) {
        duplicates += runs.length;
        p.push(`no verdict qualified, yet RetrainJobs ${runs.map((r) => r.metadata.name).join(', ')}`);
      } else if (want.retrainCandidates.length > 0) {
        if (runs.length > 1) duplicates += runs.length - 1;
        if (runs.length !== 1) p.push(`${runs.length} RetrainJobs for one drift episode: ${runs.map((r) => r.metadata.name).join(', ')}`);
        else if (!want.retrainCandidates.includes(runs[0]!.metadata.name)) p.push(`RetrainJob ${runs[0]!.metadata.name} is not named after a qualifying verdict`);
        else if (d.status?.lastRetrainJob !== runs[0]!.metadata.name) p.push(`status.lastRetrainJob ${d.status?.lastRetrainJob} != ${runs[0]!.metadata.name}`);
      }
    }
    problems.set(`DriftMonitor/${d.metadata.name}`, p);
  }

  for (const rj of s.retrainJobs) {
    const p: string[] = [];
    objectsChecked++;
    const uid = rj.metadata.uid ?? '';
    const phase = rj.status?.phase;
    if (e.mustSucceed === 'all' ? phase !== 'Succeeded' || !rj.status?.promotedVersion : !['Succeeded', 'Failed', 'Rejected'].includes(phase ?? '')) {
      p.push(`phase ${phase ?? 'none'} (${getCondition(rj.status?.conditions, 'Ready')?.message ?? ''})`);
    }
    if (rj.status?.observedGeneration !== rj.metadata.generation) p.push('observedGeneration not current');
    only(uid, 'Job', p);
    only(uid, 'ServiceAccount', p);
    problems.set(`RetrainJob/${rj.metadata.name}`, p);
  }

  // Children whose owner is gone must be garbage-collected.
  const live = new Set([...s.models, ...s.monitors, ...s.retrainJobs].map((o) => o.metadata.uid));
  const leftovers = [...owned.entries()].filter(([uid]) => !live.has(uid)).flatMap(([, cs]) => cs.map((c) => `${c.kind}/${c.metadata.name}`));
  objectsChecked += leftovers.length;
  problems.set('leftovers', leftovers.length ? [`children of deleted objects remain: ${leftovers.join(', ')}`] : []);
  return { problems, duplicates, objectsChecked, owners: new Set(owned.keys()) };
}

export const unconverged = (r: CheckResult): string[] =>
  [...r.problems.entries()].filter(([, p]) => p.length > 0).map(([k, p]) => `${k}: ${p.join('; ')}`);

/**
 * Under faults, how long each change takes to be converged: from the user's
 * write until the first snapshot that shows the object converged (for a
 * delete: gone, with nothing it owned left). A newer write to the same object
 * restarts its clock.
 */
export class ConvergenceTracker {
  private readonly pending = new Map<string, { since: number; uid?: string; deleted: boolean }>();
  readonly samplesMs: number[] = [];

  changed(key: string, o: { uid?: string; deleted?: boolean } = {}): void {
    this.pending.set(key, { since: Date.now(), uid: o.uid, deleted: o.deleted ?? false });
  }

  observe(s: Snapshot, r: CheckResult): void {
    for (const [key, p] of this.pending) {
      const done = p.deleted ? !r.problems.has(key) && !(p.uid && r.owners.has(p.uid)) : r.problems.get(key)?.length === 0;
      if (done) {
        this.samplesMs.push(Math.max(0, s.takenAt - p.since));
        this.pending.delete(key);
      }
    }
  }

  get open(): number {
    return this.pending.size;
  }
}

export interface Convergence {
  result: CheckResult;
  /** Per primary, ms from `since` until it was last seen turning converged. */
  convergenceMs: number[];
  totalMs: number;
}

/**
 * Polls snapshots until every object has converged, recording for each when
 * it did (after the last time it was seen unconverged). Fails with the
 * remaining problems on timeout.
 */
export async function waitForConvergence(
  client: KubeClient,
  ns: string,
  since: number,
  e: Expectations = {},
  timeoutMs = 180_000,
  tracker?: ConvergenceTracker,
): Promise<Convergence> {
  const convergedAt = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let s: Snapshot;
    try {
      s = await snapshot(client, ns);
    } catch (err) {
      // Right after a restart the API server may still answer 429/503
      // ("storage is (re)initializing"): look again, until the deadline.
      if (Date.now() > deadline) throw err;
      await new Promise((res) => setTimeout(res, 500));
      continue;
    }
    const r = check(s, e);
    tracker?.observe(s, r);
    for (const [key, p] of r.problems) {
      if (p.length > 0) convergedAt.delete(key);
      else if (!convergedAt.has(key)) convergedAt.set(key, s.takenAt);
    }
    const open = unconverged(r);
    if (open.length === 0) {
      const convergenceMs = [...convergedAt.entries()].filter(([k]) => k !== 'leftovers').map(([, t]) => Math.max(0, t - since));
      return { result: r, convergenceMs, totalMs: s.takenAt - since };
    }
    if (Date.now() > deadline) throw new Error(`not converged after ${timeoutMs} ms:\n  ${open.slice(0, 30).join('\n  ')}${open.length > 30 ? `\n  ... and ${open.length - 30} more` : ''}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}
