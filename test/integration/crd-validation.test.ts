// The generated CRDs on the real API server: they install and become
// Established, the example manifests pass validation with the same defaults
// zod applies, and a RetrainJob's spec cannot be changed. The refusal of bad
// input, case by case, is the bad-input corpus (test/corpus/crs/, run by
// corpus-crs.test.ts).
//
// Everything is created with dryRun=All, so nothing is persisted and no
// operator ever sees these objects; only the immutability check needs a
// real RetrainJob, in a throw-away namespace.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { assertSpec, type FluxoraKind } from '../../src/api/index.js';

const root = join(import.meta.dirname, '..', '..');
const CRD_FILES = ['fluxora.io_models.yaml', 'fluxora.io_driftmonitors.yaml', 'fluxora.io_retrainjobs.yaml'];
const FIELD_MANAGER = 'fluxora-crd-validation-test';

type Obj = KubernetesObject & { spec?: Record<string, unknown> };

const loadYaml = (rel: string) => parse(readFileSync(join(root, rel), 'utf8')) as Obj;
const example = (file: string) => loadYaml(`manifests/examples/${file}`);

let kc: KubeConfig;
let objects: KubernetesObjectApi;
let crds: ApiextensionsV1Api;

/** The API server's Status message of a failed request, or undefined when it succeeded. */
async function refusal(fn: () => Promise<unknown>): Promise<{ code: number; message: string } | undefined> {
  try {
    await fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const raw: unknown = e.body;
    const body = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { message?: string };
    return { code: e.code, message: body.message ?? String(raw) };
  }
}

const dryRunCreate = (o: Obj) => objects.create(o, undefined, 'All');

async function waitForEstablished(names: string[]): Promise<void> {
  const api = crds;
  const deadline = Date.now() + 60_000;
  for (const name of names) {
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established within 60s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Discovery can trail Established by a moment; retry while the kind is unknown to the client. */
async function createWhenServed(o: Obj): Promise<Obj> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return (await dryRunCreate(o));
    } catch (e) {
      const unknownKind = e instanceof Error && /Unrecognized API version and kind|Failed to fetch resource metadata/.test(e.message);
      if (!unknownKind || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

beforeAll(async () => {
  kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  objects = KubernetesObjectApi.makeApiClient(kc);
  crds = kc.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const file of CRD_FILES) {
    const crd = loadYaml(`crds/${file}`);
    // Not KubernetesObjectApi: it re-serializes known kinds through the typed
    // models, which expect `_default`/`xKubernetesValidations` property names
    // and silently drop `default` and `x-kubernetes-*` from plain YAML. A patch
    // body is sent as is.
    await crds.patchCustomResourceDefinition(
      { name: crd.metadata!.name!, body: crd, fieldManager: FIELD_MANAGER, force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    names.push(crd.metadata!.name!);
  }
  await waitForEstablished(names);
});

describe('installed CRDs', () => {
  it('keep their defaults and CEL rules on the server', async () => {
    const crd = await crds.readCustomResourceDefinition({ name: 'models.fluxora.io' });
    const serving = crd.spec.versions[0]!.schema!.openAPIV3Schema!.properties!.spec!.properties!.serving!;
    expect(serving.x_kubernetes_validations?.map((v) => v.rule)).toEqual(['!(has(self.replicas) && has(self.autoscaling))']);
    expect(serving.properties!.batching!.properties!.maxBatchSize!._default).toBe(32);
    expect(crd.spec.names.categories).toEqual(['fluxora']);
  });
});

describe('example manifests', () => {
  it.each([
    ['model.yaml', 'Model'],
    ['drift-monitor.yaml', 'DriftMonitor'],
    ['retrain-job.yaml', 'RetrainJob'],
  ] as const)('%s is accepted and defaulted exactly as parseSpec defaults it', async (file, kind: FluxoraKind) => {
    const manifest = example(file);
    const created = await createWhenServed(manifest);
    expect(created.kind).toBe(kind);
    expect(created.metadata?.name).toBe(manifest.metadata?.name);
    // The server's defaults and zod's defaults must agree, or the operator
    // (which parses defensively) would see a different object than kubectl.
    expect(created.spec).toEqual(assertSpec(kind, manifest.spec));
    expect(assertSpec(kind, created.spec)).toEqual(created.spec);
  });

  it('the Model gets serving, batching, sampling and promotion defaults, and no replicas default', async () => {
    const m = example('model.yaml');
    delete m.spec!.promotion;
    delete (m.spec!.serving as Record<string, unknown>).replicas;
    const created = await createWhenServed(m);
    expect(created.spec).toMatchObject({
      promotion: { policy: 'Automatic' },
      serving: { batching: { maxBatchSize: 32, maxDelayMs: 2 }, sampling: { rate: 1, bufferSize: 10000 } },
    });
    expect((created.spec!.serving as Record<string, unknown>).replicas).toBeUndefined();
  });

  it('a Model with a prediction log gets its defaults, exactly as parseSpec gives them', async () => {
    const m = example('model.yaml');
    (m.spec!.serving as Record<string, unknown>).predictionLog = { uri: 's3://logs/predictions', retentionDays: 30 };
    const created = await createWhenServed(m);
    expect((created.spec!.serving as Record<string, unknown>).predictionLog).toEqual({
      uri: 's3://logs/predictions',
      sampleRate: 1,
      flushIntervalSeconds: 10,
      maxBatchRecords: 1000,
      maxBufferedRecords: 10000,
      retentionDays: 30,
    });
    expect(created.spec).toEqual(assertSpec('Model', m.spec));
  });

  it('a RetrainJob on the prediction log gets its defaults (and passes the CEL duration rules), exactly as parseSpec gives them', async () => {
    const job = example('retrain-job.yaml');
    job.spec!.dataset = { predictionLog: { labelDelay: '2h', labels: { uri: 's3://fluxora-examples/churn/labels/' } } };
    const created = await createWhenServed(job);
    expect(created.spec!.dataset).toEqual({
      predictionLog: { window: '168h', labelDelay: '2h', minRows: 100, labels: { uri: 's3://fluxora-examples/churn/labels/', idColumn: 'id', labelColumn: 'label' } },
    });
    expect(created.spec).toEqual(assertSpec('RetrainJob', job.spec));
    // The longest window and label delay the rules allow are accepted by the server as by zod.
    job.spec!.dataset = { predictionLog: { window: '8760h', labelDelay: '8759h59m59s', labels: { uri: 'pvc://labels/churn/' } } };
    expect((await createWhenServed(job)).spec).toEqual(assertSpec('RetrainJob', job.spec));
  });

  it('the DriftMonitor gets current, method, retrain and template defaults', async () => {
    const created = await createWhenServed(example('drift-monitor.yaml'));
    expect(created.spec).toMatchObject({
      suspend: false,
      current: { source: 'Serving', minSamples: 500, maxSamples: 10000 },
      features: [{ name: 'tenure' }, { name: 'monthly_spend' }, { name: 'support_calls', method: 'auto' }],
      retrain: {
        maxConcurrent: 1,
        template: { backoffLimit: 2, activeDeadlineSeconds: 3600, trainer: { builtin: { validationSplit: 0.2 } } },
      },
    });
  });

  it('a DriftMonitor reading the prediction log, with outputs, is accepted and defaulted exactly as parseSpec defaults it', async () => {
    const m = example('drift-monitor.yaml');
    m.metadata!.name = 'from-the-log';
    m.spec!.current = { source: 'PredictionLog', window: '6h', minSamples: 100 };
    m.spec!.outputs = [{ name: 'churn_probability', output: 'probability' }, { name: 'churn_class', output: 'label', type: 'categorical' }];
    const created = await createWhenServed(m);
    expect(created.spec).toMatchObject({
      current: { source: 'PredictionLog', window: '6h', minSamples: 100, maxSamples: 10000 },
      outputs: [
        { name: 'churn_probability', output: 'probability', index: 0, type: 'numeric', method: 'auto' },
        { name: 'churn_class', output: 'label', index: 0, type: 'categorical', method: 'auto' },
      ],
    });
    expect(created.spec).toEqual(assertSpec('DriftMonitor', m.spec));
  });

  it('a DriftMonitor with performance gets its defaults, exactly as parseSpec gives them', async () => {
    const m = example('drift-monitor.yaml');
    m.spec!.performance = {
      labels: { uri: 's3://labels/churn/', credentialsSecretRef: { name: 'labels' } },
      prediction: { output: 'probabilities', index: 1 },
      task: 'BinaryClassification',
      trigger: { metric: 'auc', maxDropFromServing: 0.05 },
    };
    const created = await createWhenServed(m);
    expect(created.spec!.performance).toEqual({
      labels: { uri: 's3://labels/churn/', credentialsSecretRef: { name: 'labels' }, idColumn: 'id', labelColumn: 'label' },
      prediction: { output: 'probabilities', index: 1 },
      task: 'BinaryClassification',
      threshold: 0.5,
      window: '168h',
      labelDelay: '0s',
      minLabelledRows: 100,
      trigger: { metric: 'auc', maxDropFromServing: 0.05 },
    });
    expect(created.spec).toEqual(assertSpec('DriftMonitor', m.spec));
  });

  it('a minimal DriftMonitor defaults to live traffic and report-only', async () => {
    const created = await createWhenServed({
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name: 'minimal', namespace: 'default' },
      spec: { modelRef: { name: 'churn' }, schedule: '@hourly', reference: { uri: 's3://data/ref.csv' } },
    });
    expect(created.spec).toMatchObject({
      current: { source: 'Serving', minSamples: 500, maxSamples: 10000 },
      datasetDriftShare: 0.5,
      retrain: { enabled: false, consecutiveChecks: 1, cooldown: '6h', maxConcurrent: 1 },
    });
  });
});

// Bad input of every kind (wrong types, ranges, URIs, cron, CEL rules, ...)
// is catalogued in test/corpus/crs/, one YAML file per case with the message
// the user sees, and run by test/integration/corpus-crs.test.ts.

describe('RetrainJob spec immutability', () => {
  const ns = `crd-validation-${Date.now().toString(36)}`;
  let created = false;

  beforeAll(async () => {
    await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    created = true;
  });
  afterAll(async () => {
    if (created) await objects.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  it('refuses a spec change, accepts a metadata change', async () => {
    const job = example('retrain-job.yaml');
    job.metadata!.namespace = ns;
    await objects.create(job);
    const changed: Obj = {
      apiVersion: job.apiVersion,
      kind: job.kind,
      metadata: { name: job.metadata!.name, namespace: ns },
      spec: { ...job.spec, backoffLimit: 5 },
    };
    const res = await refusal(() => objects.patch(changed, undefined, 'All', FIELD_MANAGER, true, PatchStrategy.ServerSideApply));
    expect(res?.code).toBe(422);
    expect(res?.message).toContain('RetrainJob spec is immutable');
    const relabelled: Obj = { ...changed, metadata: { ...changed.metadata, labels: { team: 'ml' } }, spec: job.spec };
    await expect(objects.patch(relabelled, undefined, 'All', FIELD_MANAGER, true, PatchStrategy.ServerSideApply)).resolves.toBeDefined();
  });
});
