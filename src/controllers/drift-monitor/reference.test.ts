import { describe, expect, it } from 'vitest';
import type { DriftMonitor, Model } from '../../api/index.js';
import { referenceStatus, resolveReference } from './reference.js';

const SHA = 'b'.repeat(64);
const following = { spec: { reference: { fromServingVersion: true } } } as unknown as DriftMonitor;
const fixed = { spec: { reference: { uri: 's3://d/ref.csv' } } } as unknown as DriftMonitor;
const model = (status: Model['status']) => ({ metadata: { name: 'churn' }, status });
const versions = [
  { name: 'v1', uri: 's3://m/v1.onnx', source: 'Spec', createdAt: 't' },
  { name: 'v2', uri: 's3://m/v2.onnx', source: 'RetrainJob/rj', dataset: { uri: 's3://out/rj/dataset.csv', sha256: SHA }, createdAt: 't' },
];

describe('resolveReference', () => {
  it('a fixed reference is its uri, whatever serves', () => {
    expect(resolveReference(fixed, model({ servingVersion: 'v1', versions }))).toEqual({ ok: true, uri: 's3://d/ref.csv' });
  });

  it("fromServingVersion is the serving version's data set, with its digest and name, and follows the version", () => {
    const r = resolveReference(following, model({ servingVersion: 'v2', versions }));
    expect(r).toEqual({ ok: true, uri: 's3://out/rj/dataset.csv', sha256: SHA, version: 'v2' });
    expect(referenceStatus(r as Extract<typeof r, { ok: true }>)).toEqual({ uri: 's3://out/rj/dataset.csv', sha256: SHA, version: 'v2' });
  });

  it('a serving version without a data set is NoReferenceForVersion, naming the version and the ways out', () => {
    const r = resolveReference(following, model({ servingVersion: 'v1', versions }));
    expect(r).toMatchObject({ ok: false, reason: 'NoReferenceForVersion', version: 'v1' });
    expect(!r.ok && r.message).toContain('Model "churn" serves v1, which records no training data set');
    expect(!r.ok && r.message).toContain('spec.artifact.trainingData');
    const none = resolveReference(following, model(undefined));
    expect(none).toMatchObject({ ok: false, reason: 'NoReferenceForVersion' });
    expect(!none.ok && none.message).toContain('serves no version yet');
  });
});
