// What the generated CRDs promise to users and to the API server: names,
// categories, status subresource, printer columns, and a schema that is
// structural (a type on every node) and bounded (CEL cost estimation).
import { describe, expect, it } from 'vitest';
import { buildCrd } from '../../src/api/crd.js';
import { crdSources } from '../../src/api/crd-files.js';
import type { JSONSchemaProps } from '../../src/api/structural.js';

const crds = Object.fromEntries(crdSources.map((s) => [s.resource.kind, buildCrd(s)]));

function walk(node: JSONSchemaProps, path: string, visit: (n: JSONSchemaProps, p: string) => void): void {
  visit(node, path);
  for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${path}.${k}`, visit);
  if (node.items) walk(node.items, `${path}[]`, visit);
  if (node.additionalProperties) walk(node.additionalProperties, `${path}[*]`, visit);
}

describe('CRDs', () => {
  it.each(Object.keys(crds))('%s: names, category, scope and status subresource', (kind) => {
    const crd = crds[kind]!;
    expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.fluxora.io`);
    expect(crd.spec.names.categories).toEqual(['fluxora']);
    expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.versions).toHaveLength(1);
    expect(crd.spec.versions[0]!.name).toBe('v1alpha1');
    expect(crd.spec.versions[0]!.subresources).toEqual({ status: {} });
  });

  it.each(Object.keys(crds))('%s: structural, bounded and described everywhere', (kind) => {
    const schema = crds[kind]!.spec.versions[0]!.schema.openAPIV3Schema;
    const problems: string[] = [];
    for (const part of ['spec', 'status'] as const) {
      walk(schema.properties![part]!, part, (n, p) => {
        if (!n.type && !n['x-kubernetes-int-or-string']) problems.push(`${p}: no type`);
        if (!n.description && !p.endsWith('[*]') && !p.endsWith('[]')) problems.push(`${p}: no description`);
        if (n.type === 'array' && n.maxItems === undefined) problems.push(`${p}: no maxItems`);
        if (n.type === 'string' && n.maxLength === undefined && !n.enum && !n.format) problems.push(`${p}: no maxLength`);
        for (const bad of ['$schema', 'oneOf', 'allOf', 'not', 'const', 'propertyNames']) {
          if (bad in n) problems.push(`${p}: has ${bad}`);
        }
        if (n.additionalProperties !== undefined && typeof n.additionalProperties !== 'object') problems.push(`${p}: additionalProperties not a schema`);
      });
    }
    expect(problems).toEqual([]);
  });

  it('Model printer columns', () => {
    const cols = crds.Model!.spec.versions[0]!.additionalPrinterColumns;
    expect(cols.map((c) => [c.name, c.jsonPath, c.priority ?? 0])).toEqual([
      ['Version', '.status.servingVersion', 0],
      ['Ready', '.status.conditions[?(@.type=="Ready")].status', 0],
      ['Replicas', '.status.readyReplicas', 0],
      ['Endpoint', '.status.endpoint', 1],
      ['Age', '.metadata.creationTimestamp', 0],
    ]);
  });

  it('DriftMonitor and RetrainJob printer columns', () => {
    const names = (kind: string) => crds[kind]!.spec.versions[0]!.additionalPrinterColumns.filter((c) => !c.priority).map((c) => c.name);
    expect(names('DriftMonitor')).toEqual(['Model', 'Schedule', 'Last Check', 'Drift', 'Share', 'Ready', 'Age']);
    expect(names('RetrainJob')).toEqual(['Phase', 'Model', 'Version', 'Age']);
  });

  it('conditions are a map list keyed by type, features by name', () => {
    const model = crds.Model!.spec.versions[0]!.schema.openAPIV3Schema.properties!;
    const conditions = model.status!.properties!.conditions!;
    expect(conditions['x-kubernetes-list-type']).toBe('map');
    expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
    expect(model.spec!.properties!.features!['x-kubernetes-list-map-keys']).toEqual(['name']);
  });

  it('quantities use the int-or-string idiom', () => {
    const requests = crds.Model!.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!.properties!.serving!.properties!.resources!.properties!
      .requests!;
    expect(requests.additionalProperties).toMatchObject({
      'x-kubernetes-int-or-string': true,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
    });
  });
});
