// The invalid custom resources of test/corpus/crs/ against the real API
// server: each file is sent as kubectl sends it, by server-side apply and by
// create (both with strict field validation, kubectl's default), and must be
// refused with 422/400 and a message that names the field and says what its
// header promises. Nothing may be created, and an operator watching the same
// namespace keeps reconciling a good Model throughout.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import type { Model } from '../../src/api/index.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { DeploymentResource } from '../../src/controllers/resource-types.js';
import { ApiError, type KubeObject, type ResourceType } from '../../src/runtime/kube-client.js';
import { createReadyModel, modelReady, operatorNamespace, root } from '../support/cluster.js';

const CORPUS = join(root, 'test', 'corpus', 'crs');
const FIELD_MANAGER = 'fluxora-corpus';
const TYPES: Record<string, ResourceType> = { Model: ModelType, DriftMonitor: DriftMonitorType, RetrainJob: RetrainJobType };

type Method = 'apply' | 'create';

/** What one method (server-side apply or create) must answer. */
interface Expectation {
  status: number;
  /** The field the message must name, as the API server spells it (spec.features[0].name). */
  field: string;
  /** Substrings, or /regexes/, the message must contain. */
  texts: (string | RegExp)[];
}

interface CrCase {
  file: string;
  text: string;
  object: KubeObject;
  expect: Record<Method, Expectation>;
}

/**
 * A file's header, before the YAML: "# key: value" lines. field, status and
 * expect apply to both methods; field-apply, apply-status, expect-apply (and
 * the -create forms) to one, where the API server answers the two
 * differently. status defaults to 422; a value may end in a "  (note)".
 */
function loadCase(file: string): CrCase {
  const text = readFileSync(join(CORPUS, file), 'utf8');
  const header = text.split('\n').filter((l) => l.startsWith('# '));
  const values = (key: string) =>
    header.filter((l) => l.startsWith(`# ${key}: `)).map((l) => l.slice(`# ${key}: `.length).replace(/\s{2,}\(.*\)$/, '').trim());
  const one = (keys: string[], fallback?: string): string => {
    const found = keys.flatMap(values);
    if (found.length > 1) throw new Error(`${file}: more than one of ${keys.join(', ')}`);
    const v = found[0] ?? fallback;
    if (v === undefined) throw new Error(`${file}: needs one of ${keys.join(', ')}`);
    return v;
  };
  const expectation = (m: Method): Expectation => {
    const texts = [...values('expect'), ...values(`expect-${m}`)].map((e) => (/^\/.*\/$/.test(e) ? new RegExp(e.slice(1, -1)) : e));
    if (texts.length === 0) throw new Error(`${file}: needs an "# expect:" or "# expect-${m}:" line`);
    return { status: Number(one([`${m}-status`], one(['status'], '422'))), field: one([`field-${m}`], values('field')[0]), texts };
  };
  return { file, text, object: parse(text) as KubeObject, expect: { apply: expectation('apply'), create: expectation('create') } };
}

const cases = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map(loadCase);

const plural = (o: KubeObject) => {
  const t = TYPES[o.kind];
  if (!t) throw new Error(`unknown kind ${o.kind}`);
  return t;
};
const collectionPath = (ns: string, t: ResourceType) => `/apis/${t.group}/${t.version}/namespaces/${ns}/${t.plural}`;

/** The API server's refusal of a request, or undefined if it accepted it. */
async function refusal(fn: () => Promise<unknown>): Promise<ApiError | undefined> {
  try {
    await fn();
    return undefined;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
}

function expectClearRefusal(c: CrCase, how: Method, err: ApiError | undefined): void {
  expect(err, `${how}: the API server accepted ${c.file}`).toBeDefined();
  const want = c.expect[how];
  const { status, message } = err!;
  expect(status, `${how}: ${message}`).toBe(want.status);
  expect(message, `${how}: the message must name the field`).toContain(want.field);
  for (const e of want.texts) {
    if (typeof e === 'string') expect(message, how).toContain(e);
    else expect(message, how).toMatch(e);
  }
}

const GOOD_MODEL = (ns: string): Model =>
  ({
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'Model',
    metadata: { name: 'good', namespace: ns },
    spec: {
      artifact: { uri: 'file:///models/good/v1/model.onnx' },
      features: [
        { name: 'tenure', type: 'numeric' },
        { name: 'plan', type: 'categorical' },
      ],
      serving: { replicas: 1 },
    },
  }) as unknown as Model;

describe('the invalid-CR corpus', () => {
  const suite = operatorNamespace(
    'corpus-crs',
    {
      nodes: 'kwok',
      why: 'the API server refuses bad objects; the one good Model only needs to stay Ready, which kwok pods give at once',
    },
    { operatorArgs: ['--workers=2'] },
  );
  const { client, ns } = suite;

  beforeAll(async () => {
    await createReadyModel(client, GOOD_MODEL(ns));
  });

  it('is a catalogue of at least 40 distinct cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    const names = cases.map((c) => `${c.object.kind}/${c.object.metadata.name}`);
    expect(new Set(names).size, 'each case has its own object name').toBe(names.length);
    // A refusal is a client error; the only exception is the upstream one the files document.
    for (const c of cases) {
      expect([400, 422], `${c.file} create`).toContain(c.expect.create.status);
      expect([400, 422, 500], `${c.file} apply`).toContain(c.expect.apply.status);
    }
  });

  describe.each(cases.map((c) => [c.file, c] as const))('%s', (_file, c) => {
    it('server-side apply is refused with a message naming the field', async () => {
      const t = plural(c.object);
      // The file as written (comments and all), as `kubectl apply --server-side` sends it.
      const err = await refusal(() =>
        client.request('PATCH', `${collectionPath(ns, t)}/${c.object.metadata.name}`, {
          body: c.text,
          contentType: 'application/apply-patch+yaml',
          query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict' },
        }),
      );
      expectClearRefusal(c, 'apply', err);
    });

    it('create is refused with a message naming the field', async () => {
      const t = plural(c.object);
      const err = await refusal(() =>
        client.request('POST', collectionPath(ns, t), { body: c.object, query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict' } }),
      );
      expectClearRefusal(c, 'create', err);
    });

    it('nothing was created', async () => {
      expect(await client.getOrUndefined(plural(c.object), ns, c.object.metadata.name)).toBeUndefined();
    });
  });

  it('kubectl apply of the whole directory refuses every file and creates nothing', { timeout: 120_000 }, async () => {
    const bin = (await promisify(execFile)('bash', [join(root, 'hack/control-plane.sh'), 'bin-dir'], { encoding: 'utf8' })).stdout.trim();
    const res = await promisify(execFile)(join(bin, 'kubectl'), ['--kubeconfig', inject('kubeconfig'), '-n', ns, 'apply', '--server-side', '--field-manager', FIELD_MANAGER, '-f', CORPUS], {
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? '' }),
    );
    expect(res.code).not.toBe(0);
    // kubectl prints one "Error from server" line per object, with the API server's message.
    const lines = res.stderr.split('\n').filter((l) => l.startsWith('Error from server'));
    expect(lines).toHaveLength(cases.length);
    for (const c of cases) {
      const line = lines.find((l) => l.includes(`"${c.object.metadata.name}"`) || l.includes(`/${c.object.metadata.name};`));
      expect(line, `${c.file}: no error line from kubectl`).toBeDefined();
      for (const e of c.expect.apply.texts) {
        if (typeof e === 'string') expect(line, c.file).toContain(e);
        else expect(line, c.file).toMatch(e);
      }
    }
  });

  it('the operator kept reconciling the good Model, and nothing else exists in the namespace', async () => {
    for (const t of Object.values(TYPES)) {
      const list = await client.request<{ items: KubeObject[] }>('GET', collectionPath(ns, t));
      expect(list.items.map((o) => o.metadata.name), t.kind).toEqual(t === ModelType ? ['good'] : []);
    }
    const deployments = await client.request<{ items: KubeObject[] }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments`);
    expect(deployments.items.map((d) => d.metadata.name)).toEqual(['good']);

    // A change to the good Model after the storm of refusals is still picked up and rolled out.
    await client.request('PATCH', `${collectionPath(ns, ModelType)}/good`, {
      body: { spec: { serving: { replicas: 2 } } },
      contentType: 'application/merge-patch+json',
    });
    const model = await modelReady(client, ns, 'good');
    expect(model.status?.readyReplicas).toBe(2);
    expect((await client.get<KubeObject & { spec: { replicas: number } }>(DeploymentResource, ns, 'good')).spec.replicas).toBe(2);
    expect(suite.op?.proc.exitCode).toBeNull();
    expect(suite.op?.logs.filter((l) => l.level >= 50)).toEqual([]);
  });
});
