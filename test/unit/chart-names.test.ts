// The names the docs and the alert rules use for the operator's objects are
// the names the chart gives them: for `helm install fluxora` (the README's
// install) the fullname helper gives "fluxora", not "<release>-fluxora-operator";
// the plain manifests are rendered as release "fluxora-operator".
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { helmTemplate } from '../../hack/helm.js';
import { documentationPages } from '../support/markdown.js';

const root = join(import.meta.dirname, '..', '..');

interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { jobLabel?: string; selector?: { matchLabels?: Record<string, string> } };
}

const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJSON() as Manifest | null).filter((d): d is Manifest => d !== null);
const named = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);

/** README.md and docs/**.md: the documentation a user reads. */
function documentation(): { file: string; text: string }[] {
  return documentationPages(root).map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') }));
}

describe("the operator's object names", () => {
  const helm = docs(helmTemplate({ release: 'fluxora', namespace: 'fluxora-system', valuesFiles: [] }));
  const plain = readdirSync(join(root, 'manifests', 'install'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => docs(readFileSync(join(root, 'manifests', 'install', f), 'utf8')));

  it('every Deployment the docs name exists for helm install fluxora or in the plain manifests', () => {
    const deployments = new Set([...named(helm, 'Deployment'), ...named(plain, 'Deployment')]);
    expect(deployments).toEqual(new Set(['fluxora', 'fluxora-operator']));
    const wrong: string[] = [];
    for (const { file, text } of documentation()) {
      // deploy/<name> or deployment/<name> naming the operator; <release> read as the README's release, fluxora.
      for (const m of text.matchAll(/\bdeploy(?:ment)?\/([A-Za-z0-9<>._-]*(?:fluxora|<release>)[A-Za-z0-9<>._-]*)/g)) {
        const name = m[1]!.replaceAll('<release>', 'fluxora');
        if (!deployments.has(name)) wrong.push(`${file}: ${m[0]}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("the ServiceMonitor's job is one FluxoraOperatorDown looks for, whatever the release is called", () => {
    const rules = readFileSync(join(root, 'charts', 'fluxora-operator', 'rules', 'fluxora-rules.yaml'), 'utf8');
    const selector = /absent\(up\{job=~"([^"]+)"\} == 1\)/.exec(rules)?.[1];
    expect(selector).toBeDefined();
    for (const release of ['fluxora', 'ml', 'fluxora-operator']) {
      const objects = docs(helmTemplate({ release, namespace: 'fluxora-system', valuesFiles: [join(root, 'test', 'fixtures', 'chart-servicemonitor.yaml')] }));
      const monitor = objects.find((o) => o.kind === 'ServiceMonitor')!;
      const service = objects.find(
        (o) => o.kind === 'Service' && Object.entries(monitor.spec?.selector?.matchLabels ?? {}).every(([k, v]) => o.metadata.labels?.[k] === v),
      )!;
      // The Prometheus Operator's rule: the Service's jobLabel label, else the Service's name.
      const job = (monitor.spec?.jobLabel && service.metadata.labels?.[monitor.spec.jobLabel]) || service.metadata.name;
      expect(job, `release ${release}`).toMatch(new RegExp(`^(?:${selector})$`));
    }
  });
});
