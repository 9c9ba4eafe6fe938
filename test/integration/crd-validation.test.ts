// The generated CRDs on the real API server: they install and become
// Established, the example manifests pass validation with the same defaults
// zod applies, and each kind of bad input is refused by the API server
// itself (schema or CEL) with a message that names the field.
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
type Mutate = (o: Obj) => void;

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

  it('the DriftMonitor gets current, method, retrain and template defaults', async () => {
    const created = await createWhenServed(example('drift-monitor.yaml'));
    expect(created.spec).toMatchObject({
      suspend: false,
      current: { source: 'Serving', minSamples: 500, maxSamples: 10000 },
      features: [{ name: 'tenure' }, { name: 'monthly_spend' }, { name: 'plan', method: 'auto' }],
      retrain: {
        maxConcurrent: 1,
        template: { backoffLimit: 2, activeDeadlineSeconds: 3600, trainer: { builtin: { validationSplit: 0.2 } } },
      },
    });
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

/** Sets (or with `undefined`, deletes) the value at a path like "spec.features[0].method". */
function at(path: string, value: unknown): Mutate {
  const keys = path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '');
  return (o) => {
    let node = o as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    const last = keys.at(-1)!;
    if (value === undefined) delete node[last];
    else node[last] = value;
  };
}

const variant = (file: string) => (...mutations: Mutate[]) => () => {
  const o = example(file);
  for (const m of mutations) m(o);
  return o;
};
const model = variant('model.yaml');
const monitor = variant('drift-monitor.yaml');
const retrainJob = variant('retrain-job.yaml');
const trainerImage = { image: 'ghcr.io/acme/trainer:1' };

const BAD: [what: string, build: () => Obj, expected: string[]][] = [
  ['replicas of the wrong type', model(at('spec.serving.replicas', 'two')), ['spec.serving.replicas', 'must be of type integer']],
  ['negative replicas', model(at('spec.serving.replicas', -1)), ['spec.serving.replicas', 'greater than or equal to 0']],
  ['an unknown URI scheme', model(at('spec.artifact.uri', 'ftp://models/churn.onnx')), ['spec.artifact.uri', 'must be a storage URI']],
  ['a sampling rate of 1.5', model(at('spec.serving.sampling', { rate: 1.5 })), ['spec.serving.sampling.rate', 'less than or equal to 1']],
  [
    'duplicate feature names',
    model(at('spec.features[3]', { name: 'tenure', type: 'categorical' })),
    ['spec.features', 'feature names must be unique'],
  ],
  [
    'autoscaling minReplicas above maxReplicas',
    model(at('spec.serving', { autoscaling: { minReplicas: 5, maxReplicas: 2 } })),
    ['spec.serving.autoscaling.minReplicas', 'must be less than or equal to autoscaling.maxReplicas'],
  ],
  [
    'both replicas and autoscaling',
    model(at('spec.serving.autoscaling', { maxReplicas: 4 })),
    ['spec.serving.replicas', 'replicas and autoscaling are mutually exclusive'],
  ],
  ['a negative memory request', model(at('spec.serving.resources.requests.memory', '-1Gi')), ['spec.serving.resources.requests.memory']],
  ['a Model name that cannot name a Service', model(at('metadata.name', '1churn')), ['metadata.name', 'DNS-1035 label']],
  ['a bad cron schedule', monitor(at('spec.schedule', '61 * * * *')), ['spec.schedule', 'must be a cron schedule']],
  ['a four-field cron schedule', monitor(at('spec.schedule', '*/15 * * *')), ['spec.schedule', 'must be a cron schedule']],
  ['an unknown drift method', monitor(at('spec.features[0].method', 'magic')), ['spec.features[0].method', 'Unsupported value: "magic"']],
  ['a ks threshold above 1', monitor(at('spec.features[0].threshold', 1.5)), ['spec.features[0].threshold', 'threshold must be between 0 and 1']],
  ['a negative threshold', monitor(at('spec.features[1].threshold', -0.2)), ['spec.features[1].threshold', 'greater than or equal to 0']],
  ['a drift share of 2', monitor(at('spec.datasetDriftShare', 2)), ['spec.datasetDriftShare', 'less than or equal to 1']],
  [
    'retrain enabled without a template',
    monitor(at('spec.retrain.template', undefined)),
    ['spec.retrain.template', 'Required value', 'retrain.template is required when retrain.enabled is true'],
  ],
  [
    'current with both source and uri',
    monitor(at('spec.current.uri', 's3://data/churn/current.csv')),
    ['spec.current', 'exactly one of source (live traffic) or uri'],
  ],
  [
    'current minSamples above maxSamples',
    monitor(at('spec.current', { source: 'Serving', minSamples: 5000, maxSamples: 100 })),
    ['spec.current.minSamples', 'less than or equal to current.maxSamples'],
  ],
  ['a bad cooldown', monitor(at('spec.retrain.cooldown', '6 hours')), ['spec.retrain.cooldown', 'should match']],
  [
    'a retrain template with both trainers',
    monitor(at('spec.retrain.template.trainer.container', trainerImage)),
    ['spec.retrain.template.trainer', 'exactly one of builtin or container'],
  ],
  [
    'a trainer with both builtin and container',
    retrainJob(at('spec.trainer.container', trainerImage)),
    ['spec.trainer', 'trainer must set exactly one of builtin or container'],
  ],
  ['a validation split of 1', retrainJob(at('spec.trainer.builtin.validationSplit', 1)), ['spec.trainer.builtin.validationSplit', 'less than 1']],
  [
    'acceptance min above max',
    retrainJob(at('spec.acceptance', { metric: 'auc', min: 0.9, max: 0.5 })),
    ['spec.acceptance.min', 'acceptance.min must be less than or equal to acceptance.max'],
  ],
  ['an unknown acceptance metric', retrainJob(at('spec.acceptance.metric', 'bleu')), ['spec.acceptance.metric', 'Unsupported value']],
  ['an http output', retrainJob(at('spec.output.uri', 'https://example.com/out/')), ['spec.output.uri', 'output.uri must be writable']],
  [
    'reserved trainer env names',
    retrainJob(at('spec.trainer', { container: { ...trainerImage, env: [{ name: 'FLUXORA_OUTPUT_URI', value: '/' }] } })),
    ['spec.trainer.container.env', 'FLUXORA_ are reserved'],
  ],
  ['backoffLimit above 10', retrainJob(at('spec.backoffLimit', 11)), ['spec.backoffLimit', 'less than or equal to 10']],
  ['a missing dataset', retrainJob(at('spec.dataset', undefined)), ['spec.dataset', 'Required value']],
];

describe('bad resources are refused by the API server', () => {
  it.each(BAD)('%s', async (_what, build, expected) => {
    const res = await refusal(() => createWhenServed(build()));
    expect(res, 'the API server accepted it').toBeDefined();
    expect(res!.code).toBe(422);
    for (const text of expected) expect(res!.message).toContain(text);
  });
});

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
