// The OpenAPI -> strict JSON schema conversion behind the packaging test's
// offline kubeconform run.
import { describe, expect, it } from 'vitest';
import { schemaFile, schemasFromCrd, schemasFromOpenApiV2, strictSchema } from '../support/kubeconform-schemas.js';

describe('strictSchema', () => {
  it('closes every object that lists its properties, at any depth', () => {
    const s = strictSchema({ type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'string' } } }, c: { type: 'array', items: { type: 'object', properties: { d: { type: 'integer' } } } } } });
    expect(s.additionalProperties).toBe(false);
    expect((s.properties as Record<string, Record<string, unknown>>).a!.additionalProperties).toBe(false);
    expect(((s.properties as Record<string, { items: Record<string, unknown> }>).c!.items).additionalProperties).toBe(false);
  });

  it('leaves open what Kubernetes leaves open (maps, preserve-unknown-fields)', () => {
    expect(strictSchema({ type: 'object', additionalProperties: { type: 'string' } }).additionalProperties).toEqual({ type: 'string' });
    expect(strictSchema({ type: 'object', properties: { a: { type: 'string' } }, 'x-kubernetes-preserve-unknown-fields': true }).additionalProperties).toBeUndefined();
  });

  it('accepts both forms of int-or-string, and null where nullable', () => {
    expect(strictSchema({ 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] })).toEqual({ anyOf: [{ type: 'integer' }, { type: 'string' }] });
    expect(strictSchema({ type: 'string', format: 'int-or-string' })).toEqual({ oneOf: [{ type: 'string' }, { type: 'integer' }] });
    expect(strictSchema({ type: 'string', nullable: true })).toEqual({ type: ['string', 'null'] });
  });
});

describe('schema files', () => {
  it('follow kubeconform template variables (the core group is named after its version)', () => {
    expect(schemaFile('', 'v1', 'Service')).toBe('v1/v1/service-strict.json');
    expect(schemaFile('apps', 'v1', 'Deployment')).toBe('apps/v1/deployment-strict.json');
  });

  it('carry only the definitions a kind needs, with IntOrString widened', () => {
    const files = schemasFromOpenApiV2({
      definitions: {
        'io.k8s.api.core.v1.ServicePort': { type: 'object', properties: { targetPort: { $ref: '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString' } } },
        'io.k8s.api.core.v1.Service': { type: 'object', properties: { ports: { type: 'array', items: { $ref: '#/definitions/io.k8s.api.core.v1.ServicePort' } } }, 'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Service' }] },
        'io.k8s.api.core.v1.Unrelated': { type: 'object' },
        'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string' },
      },
    });
    expect([...files.keys()]).toEqual(['v1/v1/service-strict.json']);
    const defs = files.get('v1/v1/service-strict.json')!.definitions as Record<string, unknown>;
    expect(Object.keys(defs).sort()).toEqual(['io.k8s.api.core.v1.Service', 'io.k8s.api.core.v1.ServicePort', 'io.k8s.apimachinery.pkg.util.intstr.IntOrString']);
    expect(defs['io.k8s.apimachinery.pkg.util.intstr.IntOrString']).toEqual({ oneOf: [{ type: 'string' }, { type: 'integer' }] });
  });

  it('refuses a CRD version without a schema, naming it', () => {
    expect(() => schemasFromCrd({ kind: 'CustomResourceDefinition', spec: { group: 'x.io', names: { kind: 'Thing' }, versions: [{ name: 'v1' }] } })).toThrow(/Thing version v1 has no openAPIV3Schema/);
  });
});
