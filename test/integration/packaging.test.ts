// Packaging: the Helm chart, the plain install manifests (manifests/install),
// the examples and the Dockerfile, checked with the real tools, offline:
// helm lint, helm template | kubeconform -strict against JSON schemas made
// from this API server's OpenAPI and from the CRDs, values.schema.json
// refusing bad values on a real `helm install`, a server-side dry-run of
// every manifest, and BuildKit's Dockerfile linter. Then the chart is
// installed for real: the operator runs in the cluster from the project's
// image on the real Node, turns a Model into serving pods that answer through
// their Service, and `helm uninstall` removes it (real-loop.test.ts does the
// same with manifests/install).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { CHART_DIR, helmTemplate, MIN_KUBE_VERSION } from '../../hack/helm.js';
import { serverSideApply } from '../../src/runtime/apply.js';
import type { KubeObject, ResourceType } from '../../src/runtime/kube-client.js';
import type { Model } from '../../src/api/index.js';
import { ModelType } from '../../src/controllers/fluxora-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import { readObject, writeObject } from '../../src/storage/index.js';
import { FEATURES, fixtureUri, inferBody } from '../fixtures/models/serve-harness.js';
import { operatorNamespace, root, waitFor } from '../support/cluster.js';
import { createBucket, s3Options, startMinio } from '../support/minio.js';
import { minioForPods, requireRealNode } from '../support/real-pods.js';
import { schemasFromCrd, schemasFromOpenApiV2, writeSchemas, type Crd } from '../support/kubeconform-schemas.js';
import { helm, kubeconform, kubectl, run, runOk, valuesWithEveryFeature } from '../support/packaging.js';

const CRD: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false };
const INSTALL_DIR = join(root, 'manifests', 'install');
const EXAMPLES_DIR = join(root, 'manifests', 'examples');

const yamlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(dir, f));
const objectsIn = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as KubeObject | null).filter((o): o is KubeObject => o !== null);
const kindsIn = (text: string) => objectsIn(text).map((o) => o.kind).sort();
type MonitoringCrd = Crd & { metadata: { name: string } };

describe('packaging', () => {
  const { client, ns } = operatorNamespace('packaging', { nodes: 'real' }, { operator: false });
  let work: string;
  let schemaDir: string;
  let everyFeature: string;
  let kubeconfig: string;

  const template = (valuesFiles: string[] = []) => helmTemplate({ release: 'pkg', namespace: ns, valuesFiles });

  beforeAll(async () => {
    kubeconfig = inject('kubeconfig');
    work = mkdtempSync(join(tmpdir(), 'fluxora-packaging-'));
    schemaDir = join(work, 'schemas');

    everyFeature = join(work, 'every-feature.yaml');
    writeFileSync(everyFeature, stringify(valuesWithEveryFeature(ns)));

    // Schemas for kubeconform: built-in kinds from this API server, ours from crds/,
    // the Prometheus Operator's generated from its Go types (hack/prometheus-operator-crds.sh).
    writeSchemas(schemaDir, schemasFromOpenApiV2(await client.request('GET', '/openapi/v2')));
    const monitoringDir = runOk('bash', [join(root, 'hack/prometheus-operator-crds.sh')]).trim().split('\n').at(-1)!;
    const monitoringCrds = yamlFiles(monitoringDir).flatMap((f) => objectsIn(readFileSync(f, 'utf8'))) as unknown as MonitoringCrd[];
    for (const file of yamlFiles(join(root, 'crds'))) {
      for (const crd of objectsIn(readFileSync(file, 'utf8'))) writeSchemas(schemaDir, schemasFromCrd(crd as never));
    }
    for (const crd of monitoringCrds) writeSchemas(schemaDir, schemasFromCrd(crd));
    // The dry-run of the chart's optional Prometheus Operator objects needs
    // their kinds served: install the CRDs of the kinds the chart renders.
    // Applied server-side (idempotent) and left in place, as other test files may rely on them too.
    const rendered = new Set(objectsIn(template([everyFeature])).map((o) => o.kind));
    const needed = monitoringCrds.filter((c) => rendered.has(c.spec.names.kind));
    expect(needed.length).toBeGreaterThan(0);
    for (const crd of needed) await serverSideApply(client, CRD, crd as unknown as KubeObject);
    await waitFor('monitoring.coreos.com CRDs established', async () => {
      for (const c of needed) {
        const crd = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(CRD, undefined, c.metadata.name);
        if (!crd.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) return false;
      }
      return true;
    });
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('Helm chart', () => {
    it('passes helm lint --strict with default values and with every optional feature on', () => {
      for (const extra of [[], ['--values', everyFeature]]) {
        const r = helm(['lint', '--strict', CHART_DIR, ...extra]);
        expect(r.status, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toContain('0 chart(s) failed');
      }
    });

    it('renders manifests that kubeconform -strict accepts, defaults and every feature on', () => {
      const defaults = template();
      expect(kindsIn(defaults)).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
      const defaultsResult = kubeconform(schemaDir, defaults);
      expect(defaultsResult.problems).toEqual([]);
      expect(defaultsResult.valid).toBe(7);

      const all = template([everyFeature]);
      const kinds = kindsIn(all);
      expect(kinds).toEqual(expect.arrayContaining(['ConfigMap', 'NetworkPolicy', 'PodMonitor', 'PrometheusRule', 'ServiceMonitor']));
      const allResult = kubeconform(schemaDir, all);
      expect(allResult.problems).toEqual([]);
      expect(allResult.valid).toBe(kinds.length);
    });

    it("kubeconform's offline schemas catch unknown fields and wrong types (so the check above can fail)", () => {
      const bad = `apiVersion: apps/v1
kind: Deployment
metadata: {name: typo}
spec:
  replica: 2
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: x, image: x, ports: [{containerPort: "8080"}]}]}
---
apiVersion: fluxora.io/v1alpha1
kind: Model
metadata: {name: typo}
spec:
  artifact: {url: s3://models/m.onnx}
  features: [{name: x, type: numeric}]
`;
      const r = kubeconform(schemaDir, bad);
      expect(r.ok).toBe(false);
      expect(r.problems).toHaveLength(2);
      expect(r.problems.join('\n')).toMatch(/Deployment typo: .*replica/);
      expect(r.problems.join('\n')).toMatch(/containerPort/);
      expect(r.problems.join('\n')).toMatch(/Model typo: .*url/);
    });

    it('every rendered manifest (every feature on) passes a server-side dry-run', () => {
      const all = template([everyFeature]);
      const out = runOk(kubectl(), ['--kubeconfig', kubeconfig, 'apply', '--dry-run=server', '-o', 'name', '-f', '-'], { input: all });
      expect(out.trim().split('\n')).toHaveLength(objectsIn(all).length);
    });

    it('helm install refuses values that break values.schema.json, before writing anything', async () => {
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['replicaCount below 1', { replicaCount: 0 }, /replicaCount/],
        ['a misspelt key', { metrics: { servicemonitor: { enabled: true } } }, /servicemonitor/],
        ['an unknown pull policy', { image: { repository: 'ghcr.io/fluxora/fluxora', pullPolicy: 'Sometimes' } }, /pullPolicy/],
      ];
      for (const [what, values, names] of cases) {
        const file = join(work, `bad-${what.replace(/\W+/g, '-')}.yaml`);
        writeFileSync(file, stringify(values));
        const r = helm(['install', 'bad', CHART_DIR, '--namespace', ns, '--values', file], { kubeconfig });
        expect(r.status, `${what}: ${r.stdout}`).not.toBe(0);
        expect(r.stderr, what).toContain("values don't meet the specifications of the schema");
        expect(r.stderr, what).toMatch(names);
      }
      // No release record, no object: Helm stopped before talking to the API server.
      const secrets = await client.request<{ items: unknown[] }>('GET', `/api/v1/namespaces/${ns}/secrets`, { query: { labelSelector: 'owner=helm' } });
      expect(secrets.items).toEqual([]);
      const deployments = await client.request<{ items: unknown[] }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments`);
      expect(deployments.items).toEqual([]);
    });

    it("refuses to render for a Kubernetes older than Chart.yaml's kubeVersion", () => {
      expect(() => helmTemplate({ release: 'pkg', namespace: ns, kubeVersion: 'v1.29.9' })).toThrow(/chart requires kubeVersion: >=1\.30/);
      expect(() => helmTemplate({ release: 'pkg', namespace: ns, kubeVersion: MIN_KUBE_VERSION })).not.toThrow();
    });

    it('installs with helm: the operator runs in the cluster and a Model answers through its Service; helm uninstall removes all but the CRDs', async () => {
      requireRealNode();
      const release = `pkg-${ns.slice(-6)}`;
      const fullname = `${release}-fluxora-operator`;
      const install = helm(['install', release, CHART_DIR, '--namespace', ns, '--wait', '--timeout', '120s'], { kubeconfig });
      expect(install.status, install.stderr).toBe(0);
      const deploy = await client.request<{ status?: { availableReplicas?: number } }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${fullname}`);
      expect(deploy.status?.availableReplicas).toBe(1);
      const role = await client.request<{ rules: unknown[] }>('GET', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${fullname}`);
      expect(role.rules.length).toBeGreaterThan(0);

      // The chart's operator at work: a Model served from MinIO, answered through its Service.
      const m = await startMinio();
      await createBucket(m, 'fluxora-packaging');
      const artifact = `s3://fluxora-packaging/${ns}/v1/model.onnx`;
      await writeObject(artifact, await readObject(fixtureUri('linear.onnx')), { s3: s3Options(m) });
      await minioForPods(client, ns, m);
      await client.create(ModelType, {
        apiVersion: 'fluxora.io/v1alpha1',
        kind: 'Model',
        metadata: { name: 'churn', namespace: ns },
        spec: { artifact: { uri: artifact, credentialsSecretRef: { name: 'storage' } }, features: FEATURES },
      } as unknown as Model);
      await waitFor('Model Ready', async () => getCondition((await client.get<Model>(ModelType, ns, 'churn')).status?.conditions, 'Ready')?.status === 'True', 120_000);
      const svc = await client.get<KubeObject & { spec: { clusterIP: string } }>({ group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true }, ns, 'churn');
      const answer = await waitFor('an answer through the Service', async () => {
        const res = await fetch(`http://${svc.spec.clusterIP}:8080/v2/models/churn/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: inferBody([[1, 2, 3]]) }).catch(() => undefined);
        return res?.status === 200 ? ((await res.json()) as { model_version: string }) : undefined;
      }, 30_000, 250);
      expect(answer.model_version).toBe('v1');
      await client.delete(ModelType, ns, 'churn');

      const uninstall = helm(['uninstall', release, '--namespace', ns, '--wait', '--timeout', '120s'], { kubeconfig });
      expect(uninstall.status, uninstall.stderr).toBe(0);
      const gone = run(kubectl(), ['--kubeconfig', kubeconfig, 'get', `clusterrole/${fullname}`, `clusterrolebinding/${fullname}`, '-n', ns, `deployment/${fullname}`, '--ignore-not-found', '-o', 'name']);
      expect(gone.stdout.trim()).toBe('');
      // Helm never deletes what it installed from crds/: custom resources survive an uninstall.
      expect(runOk(kubectl(), ['--kubeconfig', kubeconfig, 'get', 'crd', 'models.fluxora.io', '-o', 'name']).trim()).toBe('customresourcedefinition.apiextensions.k8s.io/models.fluxora.io');
    });
  });

  describe('plain install manifests (manifests/install)', () => {
    // The overlay docs/install.md shows: another namespace, another registry.
    const kustomizeInto = (namespace: string, image: string) => {
      const overlay = join(work, 'overlay');
      mkdirSync(overlay, { recursive: true });
      const [name, tag] = image.split(':') as [string, string];
      const patch = [
        { op: 'test', path: '/spec/template/spec/containers/0/args/6', value: '--serving-image=ghcr.io/fluxora/fluxora:0.1.0' },
        { op: 'replace', path: '/spec/template/spec/containers/0/args/6', value: `--serving-image=${image}` },
      ];
      writeFileSync(
        join(overlay, 'kustomization.yaml'),
        stringify({
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          namespace,
          // `namespace:` alone leaves ClusterRoleBinding subjects in the old namespace.
          transformers: [stringify({ apiVersion: 'builtin', kind: 'NamespaceTransformer', metadata: { name: 'subjects', namespace }, setRoleBindingSubjects: 'allServiceAccounts' })],
          resources: [relative(overlay, INSTALL_DIR)],
          images: [{ name: 'ghcr.io/fluxora/fluxora', newName: name, newTag: tag }],
          patches: [{ target: { kind: 'Deployment', name: 'fluxora-operator' }, patch: stringify(patch) }],
        }),
      );
      return runOk(kubectl(), ['kustomize', overlay]);
    };

    it('build with kubectl kustomize into the objects the chart renders by default, plus the namespace and CRDs', () => {
      const built = runOk(kubectl(), ['kustomize', INSTALL_DIR]);
      expect(kindsIn(built)).toEqual([
        'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition',
        'Deployment', 'Namespace', 'Role', 'RoleBinding', 'Service', 'ServiceAccount',
      ]);
      for (const o of objectsIn(built)) {
        expect(o.metadata.labels?.['app.kubernetes.io/managed-by'], `${o.kind} ${o.metadata.name}`).toBeUndefined();
        if (!['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) expect(o.metadata.namespace).toBe('fluxora-system');
      }
      const r = kubeconform(schemaDir, built);
      expect(r.problems).toEqual([]);
      expect(r.valid).toBe(11);
    });

    it('pass a server-side dry-run, moved to another namespace and registry by the overlay in docs/install.md', () => {
      const built = kustomizeInto(ns, 'registry.example.com/fluxora:9.9.9');
      const objects = objectsIn(built) as unknown as (KubeObject & { subjects?: { namespace: string }[]; spec?: { template?: { spec: { containers: { image: string; args: string[] }[] } } } })[];
      expect(objects.find((o) => o.kind === 'ClusterRoleBinding')!.subjects![0]!.namespace).toBe(ns);
      const operator = objects.find((o) => o.kind === 'Deployment')!.spec!.template!.spec.containers[0]!;
      expect(operator.image).toBe('registry.example.com/fluxora:9.9.9');
      expect(operator.args).toContain('--serving-image=registry.example.com/fluxora:9.9.9');
      const out = runOk(kubectl(), ['--kubeconfig', kubeconfig, 'apply', '--dry-run=server', '-o', 'name', '-f', '-'], { input: built });
      expect(out.trim().split('\n')).toHaveLength(11);
    });
  });

  describe('examples (manifests/examples)', () => {
    it('each file, at any depth, passes kubeconform -strict and a server-side dry-run', () => {
      const files = readdirSync(EXAMPLES_DIR, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => join(EXAMPLES_DIR, f));
      expect(files.length).toBeGreaterThanOrEqual(3);
      for (const file of files) {
        const text = readFileSync(file, 'utf8');
        const r = kubeconform(schemaDir, text);
        expect(r.problems, file).toEqual([]);
        expect(r.valid, file).toBe(objectsIn(text).length);
        const out = runOk(kubectl(), ['--kubeconfig', kubeconfig, 'apply', '--dry-run=server', '-o', 'name', '-f', file]);
        expect(out.trim().split('\n'), file).toHaveLength(objectsIn(text).length);
      }
    });
  });

  describe('Dockerfile', () => {
    let linter: string;
    beforeAll(() => {
      linter = runOk('bash', [join(root, 'hack/dockerfile-lint.sh')]).trim().split('\n').at(-1)!;
    });

    it("every Dockerfile in the repository has no findings from BuildKit's linter (the checks of docker build --check)", () => {
      const dockerfiles = runOk('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*Dockerfile'])
        .trim()
        .split('\n')
        .filter((f) => /(^|\/)Dockerfile$/.test(f));
      expect(dockerfiles).toContain('Dockerfile');
      const r = run(linter, dockerfiles.map((f) => join(root, f)));
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('the linter reports known mistakes (so the check above can fail)', () => {
      const bad = join(work, 'Dockerfile.bad');
      writeFileSync(bad, 'FROM node:20 as Build\nMAINTAINER someone@example.com\nENV NODE_ENV production\nCMD node main.js\n');
      const r = run(linter, [bad]);
      expect(r.status).toBe(1);
      for (const rule of ['FromAsCasing', 'StageNameCasing', 'MaintainerDeprecated', 'LegacyKeyValueFormat', 'JSONArgsRecommended']) expect(r.stdout).toContain(rule);
    });

    it('the linter refuses a Dockerfile it cannot parse, naming the problem', () => {
      const broken = join(work, 'Dockerfile.broken');
      writeFileSync(broken, 'RUN echo no base image\n');
      const r = run(linter, [broken]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/Dockerfile\.broken:1: no build stage/);
    });
  });
});
