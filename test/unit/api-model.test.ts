// Model spec: defaults applied by parseSpec, and the invariants its CEL rules
// enforce on the server refused in-process too.
import { describe, expect, it } from 'vitest';
import { assertSpec, parseSpec, type ModelSpecInput } from '../../src/api/index.js';

const base = (): ModelSpecInput => ({
  artifact: { uri: 's3://models/churn/v1/model.onnx' },
  features: [
    { name: 'tenure', type: 'numeric' },
    { name: 'plan', type: 'categorical' },
  ],
});

function refused(spec: unknown): string {
  const r = parseSpec('Model', spec);
  if (r.success) throw new Error('expected the spec to be refused');
  return r.message;
}

describe('Model spec', () => {
  it('applies defaults, leaving replicas unset', () => {
    const spec = assertSpec('Model', base());
    expect(spec.serving).toEqual({ batching: { maxBatchSize: 32, maxDelayMs: 2 }, sampling: { rate: 1, bufferSize: 10000 } });
    expect(spec.serving.replicas).toBeUndefined();
    expect(spec.promotion).toEqual({
      policy: 'Automatic',
      strategy: 'Direct',
      analysis: {
        interval: '30s',
        minSamples: 200,
        compare: 'Labels',
        minAgreement: 0.95,
        maxErrorRateIncrease: 0.01,
        maxLatencyRatio: 1.5,
        minLatencyIncrease: '5ms',
        maxOutputDrift: 0.2,
        deadline: '1h',
        onDeadline: 'Reject',
      },
    });
  });

  it('applies autoscaling defaults', () => {
    const spec = assertSpec('Model', { ...base(), serving: { autoscaling: { maxReplicas: 4 } } });
    expect(spec.serving.autoscaling).toEqual({ minReplicas: 1, maxReplicas: 4, targetCPUUtilizationPercentage: 80 });
  });

  it('accepts every storage URI scheme and integer or string quantities', () => {
    for (const uri of ['s3://bucket/k.onnx', 'http://host:8080/m.onnx', 'https://h/m', 'pvc://models/churn/v1.onnx', 'file:///tmp/m.onnx']) {
      expect(parseSpec('Model', { ...base(), artifact: { uri } }).success, uri).toBe(true);
    }
    const spec = assertSpec('Model', { ...base(), serving: { resources: { requests: { cpu: 1, memory: '256Mi' }, limits: { cpu: '1500m' } } } });
    expect(spec.serving.resources?.requests).toEqual({ cpu: 1, memory: '256Mi' });
    // Equal, or below in other units, is fine.
    expect(parseSpec('Model', { ...base(), serving: { resources: { requests: { cpu: '1', memory: '1G' }, limits: { cpu: 1, memory: '1Gi' } } } }).success).toBe(true);
  });

  it.each([
    ['a wrong type', { serving: { replicas: 'two' } }, 'spec.serving.replicas'],
    ['negative replicas', { serving: { replicas: -1 } }, 'spec.serving.replicas'],
    ['a cpu request above its limit', { serving: { resources: { requests: { cpu: '2' }, limits: { cpu: '1500m' } } } }, 'spec.serving.resources.requests: resources.requests must be less than or equal'],
    ['a memory request above its limit, in other units', { serving: { resources: { requests: { memory: '2G' }, limits: { memory: '1Gi' } } } }, 'spec.serving.resources.requests'],
    ['an unknown URI scheme', { artifact: { uri: 'ftp://host/m.onnx' } }, 'spec.artifact.uri: must be a storage URI'],
    ['a pvc URI without a path', { artifact: { uri: 'pvc://claim' } }, 'spec.artifact.uri'],
    ['a sampling rate above 1', { serving: { sampling: { rate: 1.5 } } }, 'spec.serving.sampling.rate'],
    ['a batch size of 0', { serving: { batching: { maxBatchSize: 0 } } }, 'spec.serving.batching.maxBatchSize'],
    ['duplicate feature names', { features: [{ name: 'a', type: 'numeric' }, { name: 'a', type: 'categorical' }] }, 'spec.features: feature names must be unique'],
    ['no features', { features: [] }, 'spec.features'],
    ['an unknown feature type', { features: [{ name: 'a', type: 'text' }] }, 'spec.features[0].type'],
    ['minReplicas above maxReplicas', { serving: { autoscaling: { minReplicas: 5, maxReplicas: 2 } } }, 'spec.serving.autoscaling.minReplicas: autoscaling.minReplicas must be less'],
    ['replicas and autoscaling', { serving: { replicas: 2, autoscaling: { maxReplicas: 3 } } }, 'spec.serving.replicas: replicas and autoscaling are mutually exclusive'],
    ['a bad sha256', { artifact: { uri: 's3://b/k', sha256: 'abc' } }, 'spec.artifact.sha256'],
    ['a negative quantity', { serving: { resources: { requests: { cpu: -1 } } } }, 'spec.serving.resources.requests.cpu'],
    ['a malformed pinned version', { pinnedVersion: 'latest' }, 'spec.pinnedVersion'],
    ['a prediction log without a uri', { serving: { predictionLog: {} } }, 'spec.serving.predictionLog.uri'],
    ['a prediction log on pvc://', { serving: { predictionLog: { uri: 'pvc://claim/log' } } }, 'spec.serving.predictionLog.uri: predictionLog.uri must be an s3:// prefix'],
    ['a prediction log sample rate of 0', { serving: { predictionLog: { uri: 's3://logs/p', sampleRate: 0 } } }, 'spec.serving.predictionLog.sampleRate'],
    ['a prediction log sample rate above 1', { serving: { predictionLog: { uri: 's3://logs/p', sampleRate: 1.5 } } }, 'spec.serving.predictionLog.sampleRate'],
    ['a prediction log flush interval of 0', { serving: { predictionLog: { uri: 's3://logs/p', flushIntervalSeconds: 0 } } }, 'spec.serving.predictionLog.flushIntervalSeconds'],
    ['a fractional prediction log batch', { serving: { predictionLog: { uri: 's3://logs/p', maxBatchRecords: 2.5 } } }, 'spec.serving.predictionLog.maxBatchRecords'],
    [
      'a prediction log buffer smaller than a batch',
      { serving: { predictionLog: { uri: 's3://logs/p', maxBatchRecords: 500, maxBufferedRecords: 100 } } },
      'spec.serving.predictionLog.maxBufferedRecords: predictionLog.maxBufferedRecords must be greater than or equal to predictionLog.maxBatchRecords',
    ],
    ['a negative retention hint', { serving: { predictionLog: { uri: 's3://logs/p', retentionDays: -1 } } }, 'spec.serving.predictionLog.retentionDays'],
  ])('refuses %s', (_what, patch, expected) => {
    expect(refused({ ...base(), ...patch })).toContain(expected);
  });

  it('applies prediction log defaults, and has no log unless asked', () => {
    expect(assertSpec('Model', base()).serving.predictionLog).toBeUndefined();
    const spec = assertSpec('Model', { ...base(), serving: { predictionLog: { uri: 's3://logs/predictions' } } });
    expect(spec.serving.predictionLog).toEqual({ uri: 's3://logs/predictions', sampleRate: 1, flushIntervalSeconds: 10, maxBatchRecords: 1000, maxBufferedRecords: 10000 });
    const small = assertSpec('Model', { ...base(), serving: { predictionLog: { uri: 's3://logs/p', maxBatchRecords: 10, maxBufferedRecords: 10, retentionDays: 30 } } });
    expect(small.serving.predictionLog).toMatchObject({ maxBatchRecords: 10, maxBufferedRecords: 10, retentionDays: 30 });
  });

  it('reports a missing artifact with its path', () => {
    expect(refused({ features: base().features })).toContain('spec.artifact');
  });
});
