// The chart's Grafana dashboard and Prometheus rules against real data: a
// real Prometheus (Debian's package) scrapes a real operator and real
// `fluxora serve` processes while the test drives them through every state
// the dashboard shows: a Ready Model with traffic (and a replica still
// loading its artifact, so 503s exist), a drift verdict from a real drift check
// on the captured traffic, a RetrainJob that fails, one that is promoted, one
// its acceptance gate rejects, one whose output store is unreachable
// (reconcile errors and retries), and two promotion candidates: a Canary one
// and a Shadow one its analysis rejects at its deadline.
// Then every panel query (variables substituted) and every rule expression is
// evaluated through Prometheus' HTTP API: it must parse, and the series it
// reads must exist. promtool checks and unit-tests the rule file first.
//
// FLUXORA_DASHBOARD_SNAPSHOT=<file.json> also keeps the traffic going for
// FLUXORA_DASHBOARD_SNAPSHOT_SECONDS (default 240) and writes every panel's
// query_range result there, for hack/render-dashboard.ts (docs/dashboard.png).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { leaderElectionRole } from '../../src/controllers/rbac.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource, DeploymentResource, RoleBindingResource, RoleResource, SecretResource } from '../../src/controllers/resource-types.js';
import { resourcePath, type KubeObject } from '../../src/runtime/kube-client.js';
import { FEATURES, fixtureUri, http, inferBody, REPO_ROOT, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';
import { createReadyModel, operatorNamespace, root, scrape, waitFor } from '../support/cluster.js';
import { localCommand } from '../../hack/run-local.js';
import { allPanels, labelValuesQuery, loadDashboard, substitute, vectorSelectors, type BuiltIns } from '../support/grafana-dashboard.js';
import { freePort } from '../support/ports.js';
import { PROMTOOL, requirePrometheusBinaries, startPrometheus, type Prometheus, type Sample } from '../support/prometheus.js';

const run = promisify(execFile);
const RULES_DIR = join(root, 'charts', 'fluxora-operator', 'rules');
const RULES = join(RULES_DIR, 'fluxora-rules.yaml');
const RULE_TESTS = join(RULES_DIR, 'fluxora-rules.test.yaml');
/** What the chart's ServiceMonitor names the job (jobLabel: app.kubernetes.io/name), whatever the release is called. */
const OPERATOR_JOB = 'fluxora-operator';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const ruleFile = () => parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
const allRules = () => ruleFile().groups.flatMap((g) => g.rules);

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to dashes. */
const githubAnchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

describe('alert rules and dashboard files', () => {
  it('promtool accepts the rule file', async () => {
    requirePrometheusBinaries();
    const { stdout } = await run(PROMTOOL, ['check', 'rules', RULES]);
    expect(stdout).toMatch(new RegExp(`SUCCESS: ${allRules().length} rules found`));
  });

  it("promtool's unit tests of the rules pass", async () => {
    const { stdout } = await run(PROMTOOL, ['test', 'rules', RULE_TESTS], { cwd: RULES_DIR });
    expect(stdout).toContain('SUCCESS');
    // The drift and retrain-failed alerts are among the tested ones.
    const tested = readFileSync(RULE_TESTS, 'utf8');
    for (const a of [
      'FluxoraDriftDetected',
      'FluxoraModelPerformanceDegraded',
      'FluxoraRetrainJobFailed',
      'FluxoraModelNotReady',
      'FluxoraDriftMonitorNotReady',
      'FluxoraReconcileErrors',
      'FluxoraOperatorNoLeader',
      'FluxoraRetrainBudgetExhausted',
      'FluxoraModelRolledBack',
      'FluxoraPromotionRejected',
    ]) {
      expect(tested).toContain(`alertname: ${a}`);
    }
  });

  it('every alert has a severity, a summary, a description and a runbook at a heading of docs/metrics-and-alerts.md', () => {
    const runbooks = readFileSync(join(root, 'docs', 'metrics-and-alerts.md'), 'utf8');
    const anchors = new Set([...runbooks.matchAll(/^#{1,6} (.+)$/gm)].map((m) => githubAnchor(m[1]!)));
    const alerts = allRules().filter((r) => r.alert);
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining(['FluxoraReconcileErrors', 'FluxoraModelNotReady', 'FluxoraDriftDetected', 'FluxoraModelPerformanceDegraded', 'FluxoraRetrainJobFailed', 'FluxoraModelRolledBack', 'FluxoraPromotionRejected', 'FluxoraRetrainBudgetExhausted']),
    );
    for (const a of alerts) {
      expect(['critical', 'warning', 'info'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
      const url = a.annotations?.runbook_url ?? '';
      expect(url, a.alert).toMatch(/^https:\/\/github\.com\/fluxora\/fluxora\/blob\/main\/docs\/metrics-and-alerts\.md#/);
      expect(anchors, `${a.alert}: docs/metrics-and-alerts.md has no heading for ${url}`).toContain(url.split('#')[1]);
    }
  });

  it('every panel and variable reads the datasource variable, and the selector reader finds what it should', () => {
    const d = loadDashboard();
    const panels = allPanels(d).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(20);
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource?.uid ?? p.datasource?.uid, `${p.title} ${t.refId}`).toBe('${datasource}');
    }
    const vars = d.templating.list;
    expect(vars.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const v of vars.filter((x) => x.type === 'query')) expect(v.datasource?.uid, v.name).toBe('${datasource}');
    expect(
      vectorSelectors('sum by (a) (rate(x_total{a=~"b|c", d="}"}[5m] offset 1h)) / on (a) group_left (e) y unless absent(up{job="j"} == 1) > bool 0.5'),
    ).toEqual(['x_total{a=~"b|c", d="}"}', 'y', 'up{job="j"}']);
  });
});

/** Deterministic normal samples (Box-Muller over a small LCG), so the fixture's drift is the same every run. */
function gaussian(seed: number): () => number {
  let s = seed;
  const uniform = () => ((s = (s * 1103515245 + 12345) % 2147483648) + 1) / 2147483649;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * A `fluxora serve` still loading its artifact from a store that accepts the
 * connection and never answers: listening, not Ready, answering inference
 * with 503 until its download times out (minutes) and it exits.
 */
async function spawnLoadingServe(env: Record<string, string>): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null>; store: Server }> {
  const store = createHttpServer(() => undefined);
  await new Promise<void>((resolve) => store.listen(0, '127.0.0.1', resolve));
  const storePort = (store.address() as AddressInfo).port;
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'serve'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, FLUXORA_MODEL_URI: `http://127.0.0.1:${storePort}/churn/model.onnx` },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the loading fluxora serve did not listen within 30 s')), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; port?: number };
        if (rec.msg === 'listening' && rec.port) {
          clearTimeout(timer);
          resolve(rec.port);
        }
      } catch {
        // not a log record
      }
    });
    void exited.then((code) => reject(new Error(`the loading fluxora serve exited with ${code} before listening`)));
  });
  return { child, port, exited, store };
}

describe('dashboard and alerts against a real Prometheus', () => {
  beforeAll(() => requirePrometheusBinaries());
  const suite = operatorNamespace(
    'observability',
    {
      nodes: 'kwok',
      why: 'Prometheus scrapes serving processes the test starts with the pods environment, so each state the dashboard shows (a replica still loading, a store outage) happens exactly when needed',
    },
    { operator: false },
  );
  const { client, ns } = suite;
  let dir: string;
  let serve: ServeProcess | undefined;
  let loading: Awaited<ReturnType<typeof spawnLoadingServe>> | undefined;
  let prom: Prometheus | undefined;
  let promStart: Date;
  let traffic: { stop: () => Promise<void>; counts: Record<number, number> } | undefined;

  /** Inference traffic shifted from the reference (so the drift check finds drift), some malformed requests, some to the loading replica. */
  function startTraffic(healthyPort: number, loadingPort: number, maxSeconds: number) {
    const g = gaussian(5);
    const counts: Record<number, number> = {};
    let stopped = false;
    const until = Date.now() + maxSeconds * 1000;
    const count = (status: number) => (counts[status] = (counts[status] ?? 0) + 1);
    const headers = { 'content-type': 'application/json' };
    const loop = (async () => {
      for (let tick = 0; !stopped && Date.now() < until; tick++) {
        // Concurrency swings between 1 and 6 so batch sizes and rates move over time.
        const concurrency = 1 + Math.round(2.5 + 2.5 * Math.sin(tick / 40));
        const requests = Array.from({ length: concurrency }, () =>
          http(healthyPort, { path: '/v2/models/churn/infer', body: inferBody(Array.from({ length: 10 }, () => FEATURES.map(() => g() + 2))), headers }),
        );
        if (tick % 5 === 0) requests.push(http(healthyPort, { path: '/v2/models/churn/infer', body: '{"inputs": []}', headers }));
        if (tick % 3 === 0) requests.push(http(loadingPort, { path: '/v2/models/churn/infer', body: inferBody([[1, 2, 3]]), headers }));
        for (const r of await Promise.allSettled(requests)) count(r.status === 'fulfilled' ? r.value.status : 0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    return {
      counts,
      stop: async () => {
        stopped = true;
        await loop;
      },
    };
  }

  /** Runs the DriftMonitor CronJob's command as its pod would: its ServiceAccount's token, the serving pods reached through the address map. */
  /** The drift check as its CronJob's pod runs it (args, ServiceAccount token; hack/run-local.ts). */
  async function runDriftCheck(addressMap: string) {
    const cmd = await localCommand(client, ns, 'cronjob/churn-drift-drift-check', dir);
    await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...cmd.args], {
      cwd: root,
      env: { ...process.env, ...cmd.env, FLUXORA_SAMPLES_ADDRESS_MAP: addressMap },
    });
  }

  const retrainJob = (name: string, outputUri: string, acceptance?: Record<string, unknown>) =>
    ({
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'RetrainJob',
      metadata: { name, namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        trainer: { builtin: { algorithm: 'logistic', target: 'churned' } },
        dataset: { uri: 'file:///data/churn/train.csv' },
        output: { uri: outputUri },
        ...(acceptance ? { acceptance } : {}),
        backoffLimit: 0,
        activeDeadlineSeconds: 600,
      },
    }) as unknown as RetrainJob;

  const phase = (name: string, want: string) =>
    waitFor(`${name} ${want}`, async () => (await client.get<RetrainJob>(RetrainJobType, ns, name)).status?.phase === want, 90_000, 500);

  /** Polls Prometheus until `expr` returns a series in the last minute. */
  const inPrometheus = (expr: string) =>
    waitFor(`${expr} in Prometheus`, async () => (await prom!.queryRange(expr, new Date(Date.now() - 60_000), new Date(), 1)).length > 0, 60_000, 500);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxora-obs-'));

    // Lease rights in the test namespace, as the chart grants them in the operator's.
    const role = leaderElectionRole(ns);
    await client.create(RoleResource, role);
    await client.create(RoleBindingResource, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: role.metadata.name, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'fluxora-operator' }],
    } as KubeObject);
    // An S3 endpoint nobody listens on: RetrainJobs writing to s3:// cannot be evaluated (reconcile errors, retries).
    const deadS3 = `http://127.0.0.1:${await freePort()}`;
    const op = await suite.startOperator(['--leader-elect', `--leader-election-namespace=${ns}`, '--retry-period=1'], {
      AWS_ENDPOINT_URL: deadS3,
      AWS_ACCESS_KEY_ID: 'fluxora-test',
      AWS_SECRET_ACCESS_KEY: 'fluxora-test',
      AWS_REGION: 'us-east-1',
    });
    await waitFor('operator leads', () => op.logs.some((l) => l.msg === 'controllers started'), 60_000);

    const g = gaussian(11);
    const rows = Array.from({ length: 1000 }, () => FEATURES.map(() => g().toFixed(5)).join(','));
    await writeFile(join(dir, 'reference.csv'), [FEATURES.map((f) => f.name).join(','), ...rows].join('\n') + '\n');

    await createReadyModel(client, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: { artifact: { uri: fixtureUri('linear.onnx') }, features: FEATURES, serving: { replicas: 1, sampling: { rate: 1, bufferSize: 5000 } } },
    } as unknown as Model);

    // The serving pod's environment, run as a real process; a second replica is still loading its artifact.
    const dep = await client.get<KubeObject & { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } }>(DeploymentResource, ns, 'churn');
    const secret = await client.get<KubeObject & { data: Record<string, string> }>(SecretResource, ns, 'churn-samples-token');
    const env: Record<string, string> = {};
    for (const e of dep.spec.template.spec.containers[0]!.env) if (e.value !== undefined) env[e.name] = e.value;
    Object.assign(env, { FLUXORA_HOST: '127.0.0.1', FLUXORA_PORT: '0', FLUXORA_ADMIN_PORT: '0', FLUXORA_GRPC_PORT: '0' });
    env.FLUXORA_SAMPLES_TOKEN = Buffer.from(secret.data.token!, 'base64').toString();
    serve = await spawnServe([], env);
    loading = await spawnLoadingServe(env);

    prom = await startPrometheus({
      ruleFiles: [RULES],
      jobs: [
        // As the chart's ServiceMonitor scrapes the operator: target labels of the operator's Service, the
        // domain metrics' own namespace label kept (honorLabels).
        {
          job: OPERATOR_JOB,
          honorLabels: true,
          targets: [{ address: `127.0.0.1:${op.metricsPort}`, labels: { namespace: 'fluxora-system', service: 'fluxora-metrics', pod: 'fluxora-0' } }],
        },
        // As a PodMonitor scrapes serving pods: namespace and pod come from the target.
        {
          job: 'fluxora-serving',
          targets: [
            { address: `127.0.0.1:${serve.port}`, labels: { namespace: ns, pod: 'churn-7d9f8-abcde' } },
            { address: `127.0.0.1:${loading.port}`, labels: { namespace: ns, pod: 'churn-7d9f8-loading' } },
          ],
        },
      ],
    });
    promStart = new Date();
    const snapshotSeconds = process.env.FLUXORA_DASHBOARD_SNAPSHOT ? Number(process.env.FLUXORA_DASHBOARD_SNAPSHOT_SECONDS ?? 240) : 0;
    traffic = startTraffic(serve.port, loading.port, 600 + snapshotSeconds);

    // Drift: a real check on the captured (shifted) traffic, twice, so the check counter moves more than once.
    // The first verdict starts a RetrainJob whose trainer writes nothing: it fails.
    await client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name: 'churn-drift', namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        schedule: '0 0 1 1 *',
        reference: { uri: `file://${join(dir, 'reference.csv')}` },
        current: { source: 'Serving', minSamples: 300, maxSamples: 5000 },
        features: [
          { name: 'tenure', method: 'psi', threshold: 0.1 },
          { name: 'spend', method: 'wasserstein', threshold: 0.1 },
          { name: 'visits', method: 'ks', threshold: 0.05 },
        ],
        retrain: {
          enabled: true,
          consecutiveChecks: 1,
          cooldown: '1h',
          template: { trainer: { builtin: { algorithm: 'logistic', target: 'churned' } }, dataset: { uri: 'file:///data/churn/train.csv' }, output: { uri: `file://${dir}/drift-runs/` } },
        },
      },
    } as unknown as DriftMonitor);
    await waitFor('CronJob', () => client.getOrUndefined(CronJobResource, ns, 'churn-drift-drift-check'));
    const adminAddress = await waitFor('EndpointSlice with the ready pod', async () => {
      const list = await client.request<{ items: { ports?: { name?: string; port?: number }[]; endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] }>(
        'GET',
        `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
        { query: { labelSelector: 'kubernetes.io/service-name=churn' } },
      );
      const eps = list.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).map((e) => `${e.addresses[0]}:${s.ports?.find((p) => p.name === 'admin')?.port}`));
      return eps.length === 1 ? eps[0] : undefined;
    });
    const addressMap = `${adminAddress}=127.0.0.1:${serve.adminPort}`;
    await waitFor('samples for a verdict', async () => (traffic?.counts[200] ?? 0) * 10 >= 400, 60_000);
    await runDriftCheck(addressMap);
    const first = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
    expect(first.status?.driftDetected).toBe(true);
    await waitFor('operator saw the first verdict', async () => /fluxora_drift_detected\{[^}]*\} 1/.test(await scrape(op.metricsPort)));
    await new Promise((r) => setTimeout(r, 1100)); // verdict times have second resolution
    await runDriftCheck(addressMap);
    const triggered = await waitFor('RetrainJob from drift', async () => (await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift')).status?.lastRetrainJob);
    await phase(triggered, 'Failed');

    // Performance figures of that verdict, degraded, as a check of a monitor with spec.performance writes them
    // through the status subresource (the check itself, with a prediction log in MinIO and labels, is
    // test/integration/performance-check.test.ts). The verdict already started its retrain: no second one.
    const verdict = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
    await client.request('PATCH', resourcePath(DriftMonitorType, ns, 'churn-drift', 'status'), {
      body: {
        status: {
          performance: {
            checkTime: verdict.status!.lastCheckTime!,
            windowStart: new Date(Date.now() - 7 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
            windowEnd: verdict.status!.lastCheckTime!,
            predictions: 1500,
            labelled: 1200,
            coverage: 0.8,
            duplicateIds: 0,
            unmatchedLabels: 12,
            conflictingLabels: 0,
            excludedRows: 0,
            labelFiles: 3,
            skippedLabelFiles: 1,
            incompleteLabels: 0,
            skippedRecords: 0,
            metrics: { accuracy: 0.71, auc: 0.68, f1: 0.55, logLoss: 0.61 },
            baseline: { version: 'v1', metric: 'auc', value: 0.84 },
            degraded: true,
          },
        },
      },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('operator exported the performance', async () => /fluxora_model_performance_degraded\{[^}]*\} 1/.test(await scrape(op.metricsPort)));

    // A RetrainJob whose trainer output is there and good: Succeeded, promoted, the Model rolls to v2.
    await mkdir(join(dir, 'manual', 'rj-good'), { recursive: true });
    await copyFile(join(REPO_ROOT, 'test/fixtures/models/logistic.onnx'), join(dir, 'manual', 'rj-good', 'model.onnx'));
    await writeFile(join(dir, 'manual', 'rj-good', 'metrics.json'), JSON.stringify({ auc: 0.9, rows: 1000 }));
    await client.create(RetrainJobType, retrainJob('rj-good', `file://${dir}/manual/`, { metric: 'auc', min: 0.5 }));
    await phase('rj-good', 'Succeeded');
    await waitFor('Model serves v2', async () => (await client.get<Model>(ModelType, ns, 'churn')).status?.servingVersion === 'v2');

    // One that trained a worse model than the served v2: rejected by its acceptance gate.
    await mkdir(join(dir, 'manual', 'rj-worse'), { recursive: true });
    await copyFile(join(REPO_ROOT, 'test/fixtures/models/logistic.onnx'), join(dir, 'manual', 'rj-worse', 'model.onnx'));
    await writeFile(join(dir, 'manual', 'rj-worse', 'metrics.json'), JSON.stringify({ auc: 0.7, rows: 1000 }));
    await client.create(RetrainJobType, retrainJob('rj-worse', `file://${dir}/manual/`, { metric: 'auc', mustBeatServing: true }));
    await phase('rj-worse', 'Rejected');

    // Promotion analysis. A new spec.artifact under strategy Canary makes v3 a candidate beside the serving v2;
    // the operator gives it its share of the pods (traffic_percent). The figures a round reads from the serving
    // pods are written through the status subresource as the operator's round writes them: the pods here are
    // kwok's and answer nobody (real pods mirroring and counting are test/integration/real-promotion.test.ts).
    // An analysis interval of an hour keeps a round from replacing them before Prometheus has scraped them.
    const kubeNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const candidate = async () => (await client.get<Model>(ModelType, ns, 'churn')).status?.promotion?.candidate;
    const patchModel = (spec: Record<string, unknown>) =>
      client.request('PATCH', resourcePath(ModelType, ns, 'churn'), { body: { spec }, contentType: 'application/merge-patch+json' });
    const writeFigures = (figures: Record<string, number>) =>
      client.request('PATCH', resourcePath(ModelType, ns, 'churn', 'status'), {
        body: { status: { promotion: { candidate: { lastAnalysisTime: kubeNow(), figures } } } },
        contentType: 'application/merge-patch+json',
      });
    // The figures go with the candidate: each must stay long enough (5 scrapes) for the panels' 2 s steps to see it.
    const figureInPrometheus = (version: string, figures: string[]) =>
      waitFor(
        `${version}'s figures ${figures.join(', ')} in 5 scrapes`,
        async () => {
          const series = await prom!.queryRange(`fluxora_promotion_analysis{namespace="${ns}", model="churn", candidate="${version}"}`, new Date(Date.now() - 60_000), new Date(), 1);
          return figures.every((f) => (series.find((x) => x.metric.figure === f)?.values.length ?? 0) >= 5) ? true : undefined;
        },
        60_000,
        500,
      );
    await patchModel({
      artifact: { uri: fixtureUri('logistic.onnx') },
      promotion: { strategy: 'Canary', canary: { steps: [{ weight: 50, duration: '1h' }] }, analysis: { interval: '1h', deadline: '1h' } },
    });
    await waitFor('v3 is a Canary candidate with its share of the pods', async () => {
      const c = await candidate();
      return c?.version === 'v3' && c.phase === 'Canary' && c.trafficPercent !== undefined;
    });
    await writeFigures({ samples: 150, championRequests: 160, championErrorRate: 0.01, candidateErrorRate: 0.015, championP99Ms: 4, candidateP99Ms: 5, latencyRatio: 1.25, outputDrift: 0.08, pods: 2 });
    await figureInPrometheus('v3', ['samples', 'error_rate_increase', 'latency_ratio', 'output_drift', 'traffic_percent']);

    // A newer artifact under strategy Shadow replaces v3 (no verdict on v3). Its analysis ends at its deadline with
    // too few samples from the pods, and onDeadline Reject rejects it: a real verdict of the operator.
    await mkdir(join(dir, 'candidates'), { recursive: true });
    await copyFile(join(REPO_ROOT, 'test/fixtures/models/logistic.onnx'), join(dir, 'candidates', 'v4.onnx'));
    await patchModel({ artifact: { uri: `file://${dir}/candidates/v4.onnx` }, promotion: { strategy: 'Shadow', canary: null } });
    await waitFor('v4 is a Shadow candidate', async () => {
      const c = await candidate();
      return c?.version === 'v4' && c.phase === 'Shadowing';
    });
    await writeFigures({ samples: 180, championRequests: 180, agreement: 0.97, championErrorRate: 0.01, candidateErrorRate: 0.01, championP99Ms: 4, candidateP99Ms: 4.4, latencyRatio: 1.1, outputDrift: 0.05, pods: 2 });
    await figureInPrometheus('v4', ['samples', 'agreement', 'error_rate_increase', 'latency_ratio', 'output_drift']);
    await patchModel({ promotion: { analysis: { interval: '1s', deadline: '1s' } } });
    await waitFor('v4 rejected at its deadline', async () => (await candidate())?.phase === 'Rejected');
    expect((await client.get<Model>(ModelType, ns, 'churn')).status?.servingVersion).toBe('v2');

    // A RetrainJob whose output store is unreachable: evaluated, failed with a transient error, retried.
    await client.create(RetrainJobType, retrainJob('rj-unreachable', 's3://fluxora-runs/'));
    await waitFor('reconcile errors', async () => /controller_runtime_reconcile_errors_total\{controller="retrainjob"\} [1-9]/.test(await scrape(op.metricsPort)), 90_000, 500);

    for (const expr of [
      'fluxora_drift_checks_total',
      'fluxora_model_performance_baseline',
      'fluxora_retrain_jobs_total{result="Failed"}',
      'fluxora_retrain_jobs_total{result="Rejected"}',
      'fluxora_promotions_total',
      'fluxora_promotion_analysis_decisions_total{verdict="Reject"} > 0',
      'fluxora_rollbacks_total',
      'fluxora_drift_retrain_budget_exhausted',
      'fluxora_model_serving_version_info{version="v2"}',
      'controller_runtime_reconcile_errors_total',
      'fluxora_inference_requests_total{code="503"}',
    ]) {
      await inPrometheus(expr);
    }
    // Enough scrapes after the last event for every rate() window.
    await new Promise((r) => setTimeout(r, 15_000));
  }, 600_000);

  afterAll(async () => {
    await traffic?.stop();
    await prom?.stop();
    // SIGTERM for both: the loading replica aborts its stalled artifact download and exits at once.
    for (const p of [serve, loading]) {
      if (p && p.child.exitCode === null) p.child.kill('SIGTERM');
      await p?.exited;
    }
    loading?.store.closeAllConnections();
    loading?.store.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const variables = () => ({ datasource: 'prometheus', job: OPERATOR_JOB, namespace: ns, model: 'churn', monitor: 'churn-drift' });
  const builtIns: BuiltIns = { rateInterval: '10s', interval: '2s', range: '5m' };

  it('every dashboard variable offers the fixture: operator job, namespace, model, monitor', async () => {
    const d = loadDashboard();
    const wanted: Record<string, string> = variables();
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      const { selector, label } = labelValuesQuery(v);
      const series = await prom!.series(substitute(selector, wanted, builtIns), promStart, new Date());
      expect(series.map((s) => s[label]), `variable ${v.name}: label_values(${selector}, ${label})`).toContain(wanted[v.name]);
    }
  });

  it('every dashboard panel query parses and returns series', async () => {
    const d = loadDashboard();
    const end = new Date();
    const empty: string[] = [];
    const snapshot: { panel: number; refId: string; series: Sample[] }[] = [];
    for (const p of allPanels(d)) {
      for (const t of p.targets ?? []) {
        const expr = substitute(t.expr, variables(), builtIns);
        // A query that does not parse rejects here with Prometheus' error message.
        const series = await prom!.queryRange(expr, promStart, end, 2);
        if (series.length === 0) {
          const missing: string[] = [];
          for (const sel of vectorSelectors(expr)) if ((await prom!.series(sel, promStart, end)).length === 0) missing.push(sel);
          empty.push(`${p.title} [${t.refId}] ${expr}${missing.length ? `; no series for ${missing.join(', ')}` : ''}`);
        }
        snapshot.push({ panel: p.id, refId: t.refId, series });
      }
    }
    expect(empty).toEqual([]);
    expect(snapshot.length).toBeGreaterThan(30);

    const out = process.env.FLUXORA_DASHBOARD_SNAPSHOT;
    if (out) await writeSnapshot(out, d.title);
  }, 900_000);

  /** Keeps the traffic going, then stores every panel's series over the whole run for hack/render-dashboard.ts. */
  async function writeSnapshot(out: string, title: string) {
    const seconds = Number(process.env.FLUXORA_DASHBOARD_SNAPSHOT_SECONDS ?? 240);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const end = new Date();
    const step = Math.max(2, Math.round((end.getTime() - promStart.getTime()) / 1000 / 200));
    const d = loadDashboard();
    const results: Record<string, Sample[]> = {};
    const range = { ...builtIns, rateInterval: `${Math.max(10, 4 * step)}s` };
    for (const p of allPanels(d)) for (const t of p.targets ?? []) results[`${p.id}/${t.refId}`] = await prom!.queryRange(substitute(t.expr, variables(), range), promStart, end, step);
    await writeFile(out, JSON.stringify({ title, variables: variables(), start: promStart.toISOString(), end: end.toISOString(), step, results }));
  }

  it('every rule is loaded and evaluates cleanly, and every series it reads exists', async () => {
    const rules = allRules();
    const loaded = await waitFor('every rule evaluated', async () => {
      const r = await prom!.rules();
      return r.length === rules.length && r.every((x) => x.lastEvaluation && !x.lastEvaluation.startsWith('0001')) ? r : undefined;
    });
    for (const r of loaded) expect({ rule: r.name, health: r.health, lastError: r.lastError ?? '' }).toEqual({ rule: r.name, health: 'ok', lastError: '' });

    const end = new Date();
    const missing: string[] = [];
    for (const r of rules) {
      await prom!.queryRange(r.expr, promStart, end, 2); // parses and evaluates, or throws with Prometheus' error
      const selectors = vectorSelectors(r.expr);
      expect(selectors.length, r.alert ?? r.record).toBeGreaterThan(0);
      for (const sel of selectors) if ((await prom!.series(sel, promStart, end)).length === 0) missing.push(`${r.alert ?? r.record}: ${sel}`);
    }
    expect(missing).toEqual([]);
  });

  it('the alerts whose condition the fixture meets are active, and only those', async () => {
    const active = await waitFor(
      'drift, performance, retrain failed/rejected, promotion rejected and inference-error alerts active',
      async () => {
        const series = await prom!.queryRange('ALERTS', new Date(Date.now() - 5_000), new Date(), 1);
        const names = new Set(series.map((s) => s.metric.alertname));
        return ['FluxoraDriftDetected', 'FluxoraModelPerformanceDegraded', 'FluxoraRetrainJobFailed', 'FluxoraRetrainJobRejected', 'FluxoraPromotionRejected', 'FluxoraInferenceErrors'].every((a) => names.has(a))
          ? series
          : undefined;
      },
      90_000,
      1000,
    );
    const byName = new Map(active.map((s) => [s.metric.alertname, s.metric]));
    expect(byName.get('FluxoraDriftDetected')).toMatchObject({ namespace: ns, monitor: 'churn-drift', severity: 'warning' });
    expect(byName.get('FluxoraModelPerformanceDegraded')).toMatchObject({ namespace: ns, monitor: 'churn-drift', model: 'churn', severity: 'warning' });
    expect(byName.get('FluxoraRetrainJobFailed')).toMatchObject({ result: 'Failed', alertstate: 'firing' });
    expect(byName.get('FluxoraRetrainJobRejected')).toMatchObject({ result: 'Rejected', severity: 'info', alertstate: 'firing' });
    expect(byName.get('FluxoraInferenceErrors')).toMatchObject({ namespace: ns, model: 'churn' });
    expect(byName.get('FluxoraPromotionRejected')).toMatchObject({ namespace: ns, model: 'churn', verdict: 'Reject', severity: 'info', alertstate: 'firing' });
    // The Model is Ready, the operator is up and leads, nothing is stuck or backed up; no guard rolled back, the
    // monitor's own runs were not rejected (its budget is whole).
    for (const quiet of [
      'FluxoraModelNotReady',
      'FluxoraDriftMonitorNotReady',
      'FluxoraOperatorDown',
      'FluxoraOperatorNoLeader',
      'FluxoraReconcileStuck',
      'FluxoraWorkqueueBacklog',
      'FluxoraInferenceLatencyHigh',
      'FluxoraModelRolledBack',
      'FluxoraRetrainBudgetExhausted',
    ]) {
      expect(byName.has(quiet), quiet).toBe(false);
    }
  });
});
