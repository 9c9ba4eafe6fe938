// `npm run bench:scale`: the operator at scale on its own local control plane
// (kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kwok Nodes;
// a separate instance, so the shared one other tests use is untouched).
//
//   1. Baseline: the same Deployments + Services + Secrets a Model produces,
//      created directly by a client at the same concurrency in a fresh
//      namespace; time until every Deployment is Available.
//   2. Operator: the compiled operator (production RBAC user) is started,
//      N Models and M DriftMonitors are applied at that concurrency; time
//      until every Model is Ready, apply -> Deployment-created latency,
//      operator RSS and CPU from /proc, API requests per reconcile (the
//      operator's own rest_client_requests_total vs
//      controller_runtime_reconcile_total, and the API server's audit log).
//   3. Steady state: after convergence, the operator's writes over a window
//      that spans at least one full resync of every object (must be 0).
//
// The baseline runs first (before the operator exists), so the operator
// faces the fuller cluster: the ratio errs against the operator.
// Targets (issue #7): throughput >= 70% of the baseline, RSS < 250 MiB at
// 1,000 Models, 0 steady-state writes; each is printed PASS or MISS. A miss
// does not fail the process (it is a benchmark); an error does (exit 1).
//
//   npm run bench:scale                               # 1000 Models, 200 DriftMonitors
//   npm run bench:scale -- --models 100 --monitors 20 # what CI runs
//   flags: --concurrency 20 --workers 4 --resync-seconds 30 --steady-seconds 45
//          --port 31443 --dir ~/.cache/fluxora/cp-scale --keep-cluster
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DriftMonitor, Model } from '../src/api/index.js';
import { buildDeployment, buildSamplesSecret, buildService } from '../src/controllers/model/children.js';
import { DriftMonitorType, ModelType } from '../src/controllers/fluxora-types.js';
import { DeploymentResource, MANAGED_BY_LABEL, SecretResource, ServiceResource } from '../src/controllers/resource-types.js';
import { KubeClient, type KubeObject, type ResourceType } from '../src/runtime/kube-client.js';
import { installCrdsAndOperatorRbac } from '../test/support/install-crds-rbac.js';
import { auditLogSize, countBy, readAudit, WRITE_VERBS, type AuditRecord } from './support/audit-log.js';
import { compileCli, startCompiledOperator, type RunningOperator } from './support/operator-build.js';
import { conditionTrue, deploymentAvailable, ObjectWatch } from './support/object-watch.js';
import { controlPlaneCpuSeconds, cpuSecondsBetween, ProcessSampler } from './support/process-sampler.js';
import { scrapeSamples, sumOf, type Sample } from './support/prometheus-text.js';
import { startScaleControlPlane, type ScaleControlPlane } from './support/scale-control-plane.js';

const root = join(import.meta.dirname, '..');
const NamespaceResource: ResourceType = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };
const OPERATOR_USER = 'fluxora-operator';
const MiB = 1024 * 1024;

function positiveInt(flag: string, v: string | undefined, min = 1): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${flag} must be an integer >= ${min}, got "${v}"`);
  return n;
}

const { values: flags } = parseArgs({
  options: {
    models: { type: 'string', default: '1000' },
    monitors: { type: 'string' },
    concurrency: { type: 'string', default: '20' },
    workers: { type: 'string', default: '4' },
    'resync-seconds': { type: 'string', default: '30' },
    'steady-seconds': { type: 'string', default: '45' },
    // Below the kernel's ephemeral range (32768+), where an outgoing connection can hold a port
    // the instance needs; 36443 was tried and lost 36444 that way. Clear of the faults suite's 26443.
    port: { type: 'string', default: '31443' },
    dir: { type: 'string' },
    'keep-cluster': { type: 'boolean', default: false },
  },
  strict: true,
});
const N = positiveInt('models', flags.models);
// 200 DriftMonitors at the full 1,000 Models: one monitor per five Models.
const M = flags.monitors === undefined ? Math.round(N / 5) : positiveInt('monitors', flags.monitors, 0);
if (M > N) throw new Error(`--monitors (${M}) cannot exceed --models (${N}): each monitor watches its own Model`);
const C = positiveInt('concurrency', flags.concurrency);
const WORKERS = positiveInt('workers', flags.workers);
const RESYNC_S = positiveInt('resync-seconds', flags['resync-seconds']);
const STEADY_S = positiveInt('steady-seconds', flags['steady-seconds']);
if (STEADY_S <= RESYNC_S) throw new Error('--steady-seconds must exceed --resync-seconds: the window must include a full resync');
// kwok Nodes hold 1,100 pods each; both phases keep one pod per Model.
const NODES = Math.ceil((2 * N) / 1000) + 1;
// Generous: a 2-core machine shared with other work can be slow; this only bounds a stuck run.
const CONVERGE_TIMEOUT_MS = Math.max(300_000, N * 1_000);

const MONITOR_RESOURCES = new Set(['driftmonitors', 'serviceaccounts', 'roles', 'rolebindings', 'cronjobs']);
const MODEL_RESOURCES = new Set(['models', 'deployments', 'services', 'secrets', 'horizontalpodautoscalers', 'pods']);
/** Which object a request of the operator served; Events are named <object>.<random>. */
function requestOwner(e: AuditRecord): 'model' | 'monitor' | 'shared' {
  const r = e.objectRef?.resource ?? '';
  if (e.verb === 'list' || e.verb === 'watch') return 'shared';
  if (MONITOR_RESOURCES.has(r) || (r === 'events' && /-drift\./.test(e.objectRef?.name ?? ''))) return 'monitor';
  if (MODEL_RESOURCES.has(r) || r === 'events') return 'model';
  return 'shared';
}

const modelName = (i: number) => `m-${String(i).padStart(5, '0')}`;

function modelManifest(ns: string, i: number): Model {
  return {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'Model',
    metadata: { name: modelName(i), namespace: ns },
    spec: {
      artifact: { uri: `file:///models/${modelName(i)}/model.onnx` },
      features: [
        { name: 'tenure', type: 'numeric' },
        { name: 'plan', type: 'categorical' },
      ],
      serving: { replicas: 1 },
    },
  } as unknown as Model;
}

function monitorManifest(ns: string, i: number): DriftMonitor {
  return {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'DriftMonitor',
    metadata: { name: `${modelName(i)}-drift`, namespace: ns },
    // Yearly: the CronJob exists but fires no check Job during the run.
    spec: { modelRef: { name: modelName(i) }, schedule: '0 0 1 1 *', reference: { uri: 'file:///data/reference.csv' }, current: { source: 'Serving' } },
  } as unknown as DriftMonitor;
}

/**
 * The objects the operator would create for Model i, as a plain client creates them: no owner, not
 * labelled as the operator's (nor their pods: the operator, started later, watches the pods it labelled).
 */
function baselineObjects(ns: string, i: number): { type: ResourceType; obj: KubeObject }[] {
  const model = { ...modelManifest(ns, i), metadata: { name: modelName(i), namespace: ns, uid: '' } } as Model;
  const version = { name: 'v1', uri: model.spec.artifact.uri, source: 'Spec', createdAt: new Date().toISOString() };
  const relabel = (labels: Record<string, string> | undefined) => ({ ...labels, [MANAGED_BY_LABEL]: 'bench-baseline' });
  const plain = (o: KubeObject): KubeObject => {
    const spec = (o as { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }).spec;
    const template = spec?.template ? { ...spec.template, metadata: { ...spec.template.metadata, labels: relabel(spec.template.metadata?.labels) } } : undefined;
    return { ...o, metadata: { ...o.metadata, ownerReferences: undefined, labels: relabel(o.metadata.labels) }, ...(template ? { spec: { ...spec, template } } : {}) };
  };
  return [
    { type: SecretResource, obj: plain(buildSamplesSecret(model, 'x'.repeat(64))) },
    { type: DeploymentResource, obj: plain(buildDeployment(model, version, { servingImage: 'fluxora:bench' })) },
    { type: ServiceResource, obj: plain(buildService(model)) },
  ];
}

/** Runs fn(0..n-1) with at most `c` calls in flight. */
async function pool(n: number, c: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createNamespace(client: KubeClient, name: string) {
  await client.create(NamespaceResource, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

async function runBaseline(cp: ScaleControlPlane, client: KubeClient) {
  const ns = 'bench-baseline';
  await createNamespace(client, ns);
  const deployments = new ObjectWatch(client, DeploymentResource, ns, deploymentAvailable);
  await deployments.start();
  const cpu0 = controlPlaneCpuSeconds(cp.dir);
  const t0 = performance.now();
  await pool(N, C, async (i) => {
    for (const { type, obj } of baselineObjects(ns, i)) await client.create(type, obj);
  });
  const createdMs = performance.now() - t0;
  const end = await deployments.waitAllDone(N, 'baseline Deployments Available', CONVERGE_TIMEOUT_MS);
  const controlPlaneCpu = cpuSecondsBetween(cpu0, controlPlaneCpuSeconds(cp.dir));
  await deployments.stop();
  return { createdMs, availableMs: end - t0, controlPlaneCpu };
}

async function runOperator(cp: ScaleControlPlane, client: KubeClient, runDir: string, main: string) {
  const ns = 'bench-operator';
  await createNamespace(client, ns);
  const auditStart = auditLogSize(cp.auditLog);
  const operator = await startCompiledOperator(
    main,
    [
      `--kubeconfig=${cp.operatorKubeconfig}`,
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--serving-image=fluxora:bench',
      `--workers=${WORKERS}`,
      `--resync-period=${RESYNC_S}`,
    ],
    join(runDir, 'operator.log'),
  );
  const sampler = new ProcessSampler(operator.pid);
  sampler.start();
  const deployments = new ObjectWatch(client, DeploymentResource, ns, () => true);
  const models = new ObjectWatch<Model>(client, ModelType, ns, conditionTrue('Ready'));
  const monitors = new ObjectWatch<DriftMonitor>(client, DriftMonitorType, ns, conditionTrue('Ready'));
  await Promise.all([deployments.start(), models.start(), monitors.start()]);
  try {
    const idleRss = sampler.sample()?.rssBytes ?? NaN;
    const appliedAt = new Map<string, number>();
    const cpu0 = controlPlaneCpuSeconds(cp.dir);
    const t0 = performance.now();
    await pool(N, C, async (i) => {
      appliedAt.set(modelName(i), performance.now());
      await client.create(ModelType, modelManifest(ns, i));
    });
    await pool(M, C, async (i) => {
      await client.create(DriftMonitorType, monitorManifest(ns, i));
    });
    const appliedMs = performance.now() - t0;
    const modelsReady = await models.waitAllDone(N, 'Models Ready', CONVERGE_TIMEOUT_MS);
    const monitorsReady = M ? await monitors.waitAllDone(M, 'DriftMonitors Ready', CONVERGE_TIMEOUT_MS) : t0;
    const converged = Math.max(modelsReady, monitorsReady);
    // Read at once: the same window as the baseline's (start to convergence).
    const controlPlaneCpu = cpuSecondsBetween(cpu0, controlPlaneCpuSeconds(cp.dir));
    const latencies = [...appliedAt].map(([name, at]) => (deployments.seenAt.get(name) ?? NaN) - at).sort((a, b) => a - b);
    if (latencies.some((l) => !Number.isFinite(l))) throw new Error('a Model is Ready but its Deployment was never seen');

    // Settle: the queues drain and writes stop (status patches after the last Ready, Events).
    const settleDeadline = performance.now() + 120_000;
    let quietSince = performance.now();
    let lastWrites = -1;
    for (;;) {
      const writes = readAudit(cp.auditLog, OPERATOR_USER, auditStart).filter((e) => WRITE_VERBS.has(e.verb)).length;
      const depth = sumOf(await scrapeSamples(operator.metricsPort), 'workqueue_depth');
      if (writes !== lastWrites || depth > 0) quietSince = performance.now();
      lastWrites = writes;
      if (performance.now() - quietSince >= 5_000) break;
      if (performance.now() > settleDeadline) throw new Error(`the operator did not go quiet within 120 s after convergence (queue depth ${depth})`);
      await sleep(1_000);
    }
    const atConvergence = await scrapeSamples(operator.metricsPort);
    const convergenceAudit = readAudit(cp.auditLog, OPERATOR_USER, auditStart);
    const steadyAuditStart = auditLogSize(cp.auditLog);
    const steadyFrom = performance.now();
    await sleep(STEADY_S * 1000);
    const afterSteady = await scrapeSamples(operator.metricsPort);
    const steadyAudit = readAudit(cp.auditLog, OPERATOR_USER, steadyAuditStart);
    const steadyTo = performance.now();
    sampler.stop();

    const reconciles = sumOf(atConvergence, 'controller_runtime_reconcile_total');
    const requests = sumOf(atConvergence, 'rest_client_requests_total');
    return {
      appliedMs,
      modelsReadyMs: modelsReady - t0,
      monitorsReadyMs: monitorsReady - t0,
      convergedMs: converged - t0,
      latencyP50Ms: quantile(latencies, 0.5),
      latencyP99Ms: quantile(latencies, 0.99),
      idleRssBytes: idleRss,
      peakRssBytes: sampler.peakRssBytes(),
      steadyRssBytes: sampler.samples.at(-1)?.rssBytes ?? NaN,
      cpuCoresConverging: sampler.cpuCores(t0, converged),
      cpuSecondsConverging: sampler.cpuSeconds(t0, converged),
      controlPlaneCpu,
      cpuCoresSteady: sampler.cpuCores(steadyFrom, steadyTo),
      reconciles,
      reconcilesByController: Object.fromEntries(
        ['model', 'driftmonitor', 'retrainjob'].map((c) => [c, sumOf(atConvergence, 'controller_runtime_reconcile_total', { controller: c })]),
      ),
      // Where a Model's time goes: waiting in the queue vs. inside reconcile (means over the run).
      modelQueueWaitMs: meanMs(atConvergence, 'workqueue_queue_duration_seconds', { name: 'model' }),
      modelReconcileMs: meanMs(atConvergence, 'controller_runtime_reconcile_time_seconds', { controller: 'model' }),
      restRequests: requests,
      restRequestsByMethod: Object.fromEntries(
        ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => [m, sumOf(atConvergence, 'rest_client_requests_total', { method: m })]),
      ),
      auditRequests: convergenceAudit.length,
      auditConflicts: convergenceAudit.filter((e) => e.responseStatus?.code === 409).length,
      // Whose request each was: a Model's children, status and Events; a monitor's; or shared (lists, watches).
      auditByOwner: countBy(convergenceAudit, requestOwner),
      auditByVerb: countBy(convergenceAudit, (e) => e.verb),
      auditWritesByResource: countBy(
        convergenceAudit.filter((e) => WRITE_VERBS.has(e.verb)),
        (e) => `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`,
      ),
      steadySeconds: (steadyTo - steadyFrom) / 1000,
      steadyReconciles: sumOf(afterSteady, 'controller_runtime_reconcile_total') - reconciles,
      steadyWrites: steadyAudit.filter((e) => WRITE_VERBS.has(e.verb)).length,
      steadyWritesByResource: countBy(
        steadyAudit.filter((e) => WRITE_VERBS.has(e.verb)),
        (e) => `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`,
      ),
    };
  } finally {
    sampler.stop();
    await Promise.all([deployments.stop(), models.stop(), monitors.stop()]);
    await stopOperator(operator);
  }
}

/** Mean of a Prometheus histogram in milliseconds, from its _sum and _count. */
function meanMs(samples: Sample[], histogram: string, labels: Record<string, string>): number {
  const count = sumOf(samples, `${histogram}_count`, labels);
  return count ? (1000 * sumOf(samples, `${histogram}_sum`, labels)) / count : NaN;
}

async function stopOperator(op: RunningOperator) {
  const code = await op.stop();
  if (code !== 0) console.error(`warning: the operator exited with ${code} on SIGTERM`);
}

function table(rows: [string, string, string, string][]): string {
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((v, c) => v.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<number> {
  const runDir = join(root, '.cache', 'bench-scale', `run-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(runDir, { recursive: true });
  console.log(`== scale benchmark: ${N} Models, ${M} DriftMonitors, concurrency ${C}, operator --workers ${WORKERS}, ${NODES} kwok Nodes`);
  console.log('== compiling the operator');
  const main = compileCli();
  console.log(`== starting a separate control plane on port ${flags.port}`);
  const cp = await startScaleControlPlane({ dir: flags.dir, port: positiveInt('port', flags.port), nodes: NODES });
  const onSignal = () => {
    if (!flags['keep-cluster']) cp.down();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const client = KubeClient.fromFile(cp.kubeconfig, { userAgent: 'fluxora-bench-scale', maxSockets: C + 8 });
  try {
    await installCrdsAndOperatorRbac(client, OPERATOR_USER);
    console.log(`== baseline: ${N} x (Secret, Deployment, Service) by a plain client`);
    const base = await runBaseline(cp, client);
    console.log(`   created in ${seconds(base.createdMs)}, all Available after ${seconds(base.availableMs)}`);
    console.log(`== operator: ${N} Models + ${M} DriftMonitors`);
    const op = await runOperator(cp, client, runDir, main);
    console.log(`   applied in ${seconds(op.appliedMs)}, Models Ready after ${seconds(op.modelsReadyMs)}, DriftMonitors Ready after ${seconds(op.monitorsReadyMs)}`);

    const baseRate = N / (base.availableMs / 1000);
    const opRate = N / (op.modelsReadyMs / 1000);
    const ratio = opRate / baseRate;
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    const rows: [string, string, string, string][] = [
      ['measure', 'value', 'target', 'result'],
      ['baseline: every Deployment Available', `${seconds(base.availableMs)} (${baseRate.toFixed(1)}/s)`, '', ''],
      ['operator: every Model Ready', `${seconds(op.modelsReadyMs)} (${opRate.toFixed(1)}/s)`, '', ''],
      ['throughput, operator / baseline', `${(ratio * 100).toFixed(0)}%`, '>= 70%', verdict(ratio >= 0.7)],
      ['operator: every DriftMonitor Ready', M ? seconds(op.monitorsReadyMs) : 'n/a', '', ''],
      ['apply -> Deployment created, p50 / p99', `${seconds(op.latencyP50Ms)} / ${seconds(op.latencyP99Ms)}`, '', ''],
      ['operator RSS: idle / peak / steady', `${(op.idleRssBytes / MiB).toFixed(0)} / ${(op.peakRssBytes / MiB).toFixed(0)} / ${(op.steadyRssBytes / MiB).toFixed(0)} MiB`, '< 250 MiB peak', verdict(op.peakRssBytes < 250 * MiB)],
      ['Model queue wait / reconcile time, mean', `${op.modelQueueWaitMs.toFixed(0)} / ${op.modelReconcileMs.toFixed(0)} ms`, '', ''],
      ['operator CPU: converging / steady', `${op.cpuCoresConverging.toFixed(2)} / ${op.cpuCoresSteady.toFixed(3)} cores`, '', ''],
      ['API requests per reconcile (rest_client)', `${(op.restRequests / op.reconciles).toFixed(2)} (${op.restRequests} / ${op.reconciles})`, '', ''],
      ['API requests per Model: its children, status, Events', `${((op.auditByOwner.model ?? 0) / N).toFixed(2)} (${op.auditByOwner.model ?? 0})`, '<= 6', verdict((op.auditByOwner.model ?? 0) / N <= 6)],
      ['API requests per DriftMonitor', M ? `${((op.auditByOwner.monitor ?? 0) / M).toFixed(2)} (${op.auditByOwner.monitor ?? 0})` : 'n/a', '', ''],
      ['API requests, all, per Model (audit log)', `${(op.auditRequests / N).toFixed(2)} (${op.auditRequests}; ${op.auditByOwner.shared ?? 0} shared lists/watches)`, '', ''],
      ['409 Conflicts per Model (audit log)', `${(op.auditConflicts / N).toFixed(3)} (${op.auditConflicts})`, '<= 0.05', verdict(op.auditConflicts / N <= 0.05)],
      [`writes in steady state (${op.steadySeconds.toFixed(0)} s, ${op.steadyReconciles} reconciles)`, String(op.steadyWrites), '0', verdict(op.steadyWrites === 0)],
    ];
    console.log(`\n${table(rows)}\n`);
    // Where the machine's time went in each phase (start to convergence): the
    // cluster's own processes, and the operator on top in the second phase.
    const cpuRows: [string, string, string, string][] = [['CPU seconds, start to convergence', 'baseline', 'operator', 'operator / baseline']];
    const cpuRow = (name: string, b: number, o: number) => cpuRows.push([name, b.toFixed(1), o.toFixed(1), `${(o / b).toFixed(2)}x`]);
    for (const name of Object.keys(base.controlPlaneCpu)) cpuRow(name, base.controlPlaneCpu[name] ?? 0, op.controlPlaneCpu[name] ?? 0);
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    cpuRow('control plane, total', sum(base.controlPlaneCpu), sum(op.controlPlaneCpu));
    cpuRows.push(['fluxora operator', '', op.cpuSecondsConverging.toFixed(1), '']);
    console.log(`${table(cpuRows)}\n`);
    console.log(`reconciles by controller: ${JSON.stringify(op.reconcilesByController)}`);
    console.log(`operator requests by verb (audit): ${JSON.stringify(op.auditByVerb)}`);
    console.log(`operator writes by resource (audit): ${JSON.stringify(op.auditWritesByResource)}`);
    if (op.steadyWrites) console.log(`steady-state writes by resource: ${JSON.stringify(op.steadyWritesByResource)}`);
    const results = { models: N, monitors: M, concurrency: C, workers: WORKERS, nodes: NODES, baseline: base, operator: op, ratio };
    writeFileSync(join(runDir, 'results.json'), JSON.stringify(results, null, 2));
    console.log(`results and operator log in ${runDir}`);
    return 0;
  } finally {
    client.close();
    if (flags['keep-cluster']) console.log(`control plane left running: KUBECONFIG=${cp.kubeconfig}`);
    else cp.down();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench:scale failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
