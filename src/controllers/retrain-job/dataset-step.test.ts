import { describe, expect, it } from 'vitest';
import { datasetFailureReason, datasetStepFailure, parseDatasetRecord, stepFailureMessage, type TrainerPod } from './dataset-step.js';

const pod = (name: string, created: string, phase: string, exitCode?: number, message?: string): TrainerPod => ({
  metadata: { name, creationTimestamp: created },
  status: {
    phase,
    initContainerStatuses: exitCode === undefined ? [] : [{ name: 'dataset', state: { terminated: { exitCode, ...(message ? { message } : {}) } } }],
  },
});

describe('the data set step of a failed trainer Job', () => {
  it('maps the exit codes of fluxora dataset-build to reasons', () => {
    expect([4, 3, 1, 2, 137].map(datasetFailureReason)).toEqual(['DatasetTooSmall', 'DatasetUnreadable', 'DatasetUnreadable', 'DatasetInvalid', 'DatasetUnreadable']);
  });

  it("reads the newest failed pod's init container: its exit code and termination message", () => {
    const f = datasetStepFailure([pod('a', '2026-03-14T12:00:00Z', 'Failed', 1, 'unreachable'), pod('b', '2026-03-14T12:01:00Z', 'Failed', 4, '42 labelled rows ... fewer than minRows 100\n')], undefined);
    expect(f).toEqual({ reason: 'DatasetTooSmall', exitCode: 4, detail: '42 labelled rows ... fewer than minRows 100' });
    expect(stepFailureMessage(f!, { namespace: 'ml', job: 'rj' })).toBe(
      'the prediction log holds too few labelled rows to train on: 42 labelled rows ... fewer than minRows 100 (`kubectl logs -n ml job/rj -c dataset`)',
    );
  });

  it('an out-of-memory kill is DatasetTooLarge; a signal (the deadline, a deletion) leaves the cause to the Job', () => {
    const oom: TrainerPod = { metadata: { name: 'a' }, status: { phase: 'Failed', initContainerStatuses: [{ name: 'dataset', state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] } };
    const f = datasetStepFailure([oom], undefined);
    expect(f).toEqual({ reason: 'DatasetTooLarge', exitCode: 137 });
    expect(stepFailureMessage(f!, { namespace: 'ml', job: 'rj' })).toContain('ran out of memory holding the window (OOMKilled): shorten dataset.predictionLog.window (exit code 137)');
    expect(datasetStepFailure([pod('b', '2026-03-14T12:00:00Z', 'Failed', 143)], 'Job was active longer than specified deadline')).toBeUndefined();
  });

  it('is not the cause when the step passed in the newest failed pod (the trainer failed after it)', () => {
    expect(datasetStepFailure([pod('a', '2026-03-14T12:00:00Z', 'Failed', 1), pod('b', '2026-03-14T12:01:00Z', 'Failed', 0)], undefined)).toBeUndefined();
    expect(datasetStepFailure([pod('a', '2026-03-14T12:00:00Z', 'Failed')], 'Job has reached the specified backoff limit')).toBeUndefined();
  });

  it("without pods, falls back to the Job's podFailurePolicy message", () => {
    const f = datasetStepFailure([], 'Container dataset for pod ml/rj-x7k2 failed with exit code 3 matching FailJob rule at index 1');
    expect(f).toEqual({ reason: 'DatasetUnreadable', exitCode: 3 });
    expect(stepFailureMessage(f!, { namespace: 'ml', job: 'rj' })).toBe(
      'the data set step could not read the prediction log or the labels (exit code 3); `kubectl logs -n ml job/rj -c dataset` says why',
    );
    expect(datasetStepFailure([], 'Container trainer for pod ml/rj-x7k2 failed with exit code 3 matching FailJob rule at index 2')).toBeUndefined();
  });
});

describe('dataset.json as status.dataset', () => {
  const manifest = {
    uri: 's3://models/runs/rj/dataset.csv',
    sha256: 'a'.repeat(64),
    rows: 120,
    predictions: 150,
    labelled: 120,
    coverage: 0.8,
    duplicateIds: 0,
    skipped: { log: { count: 0, first: [] } },
    window: { from: '2026-03-07T12:00:00.000Z', to: '2026-03-14T12:00:00.000Z' },
  };

  it('keeps the recorded fields and drops the rest', () => {
    expect(parseDatasetRecord(JSON.stringify(manifest))).toEqual({
      uri: manifest.uri,
      sha256: manifest.sha256,
      rows: 120,
      predictions: 150,
      labelled: 120,
      coverage: 0.8,
      window: manifest.window,
    });
  });

  it('names what is wrong with a broken record', () => {
    expect(() => parseDatasetRecord('{')).toThrow('dataset.json is not valid JSON');
    expect(() => parseDatasetRecord(JSON.stringify({ ...manifest, sha256: 'x' }))).toThrow(/^dataset.json: sha256: /);
    expect(() => parseDatasetRecord(JSON.stringify({ ...manifest, window: { from: 'yesterday', to: manifest.window.to } }))).toThrow(/^dataset.json: window.from: /);
  });
});
