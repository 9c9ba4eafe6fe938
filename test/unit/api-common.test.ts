// Shared building blocks: durations, storage URIs, quantities, and the
// constants other modules import.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  API_GROUP,
  API_VERSION,
  DriftMonitorResource,
  ModelResource,
  parseDuration,
  QuantitySchema,
  RetrainJobResource,
  StorageUriSchema,
} from '../../src/api/index.js';

const root = join(import.meta.dirname, '..', '..');

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['6h', 21_600_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '6', '6 h', '-1h', '1d', 'h'])('refuses %j', (text) => expect(() => parseDuration(text)).toThrow(/invalid duration/));
});

describe('API constants', () => {
  it('name the group, version and kinds', () => {
    expect(API_GROUP).toBe('fluxora.io');
    expect(API_VERSION).toBe('v1alpha1');
    expect(ModelResource).toMatchObject({ apiVersion: 'fluxora.io/v1alpha1', kind: 'Model', plural: 'models', namespaced: true });
    expect(DriftMonitorResource.plural).toBe('driftmonitors');
    expect(RetrainJobResource.plural).toBe('retrainjobs');
    const short = [ModelResource, DriftMonitorResource, RetrainJobResource].flatMap((r) => r.shortNames);
    expect(new Set(short).size).toBe(short.length);
  });
});

/** The messages of every issue of a failed parse, joined. */
const refusal = (schema: { safeParse: (v: unknown) => { success: boolean; error?: { issues: { message: string }[] } } }, value: unknown) => {
  const r = schema.safeParse(value);
  expect(r.success, JSON.stringify(value)).toBe(false);
  return r.error!.issues.map((i) => i.message).join('; ');
};

describe('storage URIs say what is wrong with this URI', () => {
  it.each([
    ['ftp://host/x', /^must be a storage URI: s3:\/\/bucket\/key, http\(s\)/],
    ['s3://ml/churn.onnx', /^must be s3:\/\/bucket\/key with a bucket name of 3 to 63 characters/],
    ['s3://Models/churn.onnx', /bucket name of 3 to 63 characters \(lowercase letters/],
    ['s3://models/churn v1.onnx', /no spaces/],
    ['file://models/churn.onnx', /^must be file:\/\/\/absolute\/path \(three slashes\)/],
    ['pvc://models', /^must be pvc:\/\/claim\/path/],
    ['https:///x', /^must be http\(s\):\/\/host\/path with a host/],
  ])('%s', (uri, message) => {
    const text = refusal(StorageUriSchema, uri);
    expect(text).toMatch(message);
    // One message, for the one thing that is wrong.
    expect(text.split('; ')).toHaveLength(1);
  });

  it.each(['s3://abc/k', 's3://models', 'https://example.com/m.onnx', 'pvc://claim/models/m.onnx', 'file:///tmp/m.onnx'])('accepts %s', (uri) => {
    expect(StorageUriSchema.safeParse(uri).success).toBe(true);
  });
});

describe('quantities', () => {
  it.each(['two cores', '-1Gi', '1.5.3Gi', '1 Gi'])('refuses %j with a message, not a regular expression', (q) => {
    expect(refusal(QuantitySchema, q)).toMatch(/^must be a quantity: a non-negative number with an optional unit/);
  });

  it.each([2, '500m', '0.5', '512Mi', '1Gi', '1e3'])('accepts %j', (q) => expect(QuantitySchema.safeParse(q).success).toBe(true));

  it('the CRDs check them with a CEL rule and its message, not a pattern', () => {
    const quantities: Record<string, unknown>[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        const o = node as Record<string, unknown>;
        if (o['x-kubernetes-int-or-string'] === true && typeof o.description === 'string' && o.description.startsWith('A quantity')) quantities.push(o);
        Object.values(o).forEach(walk);
      }
    };
    for (const file of readdirSync(join(root, 'crds'))) walk(parse(readFileSync(join(root, 'crds', file), 'utf8')));
    expect(quantities.length).toBeGreaterThan(0);
    for (const q of quantities) {
      expect(q.pattern).toBeUndefined();
      expect(q['x-kubernetes-validations']).toEqual([expect.objectContaining({ message: expect.stringMatching(/^must be a quantity/) as unknown })]);
    }
  });
});
