// spec.artifact.trainingData on the Spec version (status.versions[].dataset),
// where a DriftMonitor with reference.fromServingVersion finds it.
import { describe, expect, it } from 'vitest';
import { decideVersions } from './versions.js';

const T = '2026-01-01T00:00:00Z';
const LATER = '2026-02-01T00:00:00Z';
const SHA = 'a'.repeat(64);

describe('decideVersions with spec.artifact.trainingData', () => {
  it('records the declared training data on the Spec version', () => {
    const d = decideVersions({ artifact: { uri: 's3://m/a.onnx', trainingData: { uri: 's3://d/train.csv', sha256: SHA } } }, undefined, T);
    expect(d.versions).toEqual([{ name: 'v1', uri: 's3://m/a.onnx', source: 'Spec', dataset: { uri: 's3://d/train.csv', sha256: SHA }, createdAt: T }]);
  });

  it('adds training data declared after the artifact was recorded to that record, without a new version', () => {
    const first = decideVersions({ artifact: { uri: 's3://m/a.onnx' } }, undefined, T);
    expect(first.versions[0]!.dataset).toBeUndefined();
    const declared = decideVersions({ artifact: { uri: 's3://m/a.onnx', trainingData: { uri: 's3://d/train.csv' } } }, first.versions, LATER);
    expect(declared.versions).toEqual([{ name: 'v1', uri: 's3://m/a.onnx', source: 'Spec', dataset: { uri: 's3://d/train.csv' }, createdAt: T }]);
    expect(declared.recorded).toBeUndefined();
    expect(declared.specVersion.dataset).toEqual({ uri: 's3://d/train.csv' });
    // Unchanged: the same records (nothing to write).
    const again = decideVersions({ artifact: { uri: 's3://m/a.onnx', trainingData: { uri: 's3://d/train.csv' } } }, declared.versions, LATER);
    expect(again.versions).toEqual(declared.versions);
  });

  it("leaves a retrained version's data set alone, and keeps the Spec record when trainingData is removed", () => {
    const retrained = { name: 'v2', uri: 's3://m/rj.onnx', source: 'RetrainJob/rj', dataset: { uri: 's3://out/rj/dataset.csv', sha256: SHA }, createdAt: T };
    const spec = { name: 'v1', uri: 's3://m/a.onnx', source: 'Spec', dataset: { uri: 's3://d/old.csv' }, createdAt: T };
    const d = decideVersions({ artifact: { uri: 's3://m/a.onnx', trainingData: { uri: 's3://d/new.csv' } } }, [spec, retrained], LATER);
    expect(d.versions).toEqual([{ ...spec, dataset: { uri: 's3://d/new.csv' } }, retrained]);
    expect(decideVersions({ artifact: { uri: 's3://m/a.onnx' } }, [spec, retrained], LATER).versions).toEqual([spec, retrained]);
  });
});
