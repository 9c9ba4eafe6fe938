import { describe, expect, it } from 'vitest';
import type { DriftMonitor } from '../../api/index.js';
import { getCondition, type Condition } from '../../runtime/conditions.js';
import { monitorConditions } from './status.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const monitor = (conditions: Condition[] = [], spec: Partial<DriftMonitor['spec']> = {}, generation = 2): DriftMonitor =>
  ({
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'DriftMonitor',
    metadata: { name: 'm', namespace: 'ml', generation },
    spec: { modelRef: { name: 'churn' }, schedule: '0 * * * *', suspend: false, reference: { uri: 's3://d/r.csv' }, features: [], ...spec },
    status: { conditions },
  }) as unknown as DriftMonitor;
const failedCheck = (generation: number): Condition => ({
  type: 'DriftDetected',
  status: 'Unknown',
  reason: 'ReferenceUnreadable',
  message: 'reference s3://d/r.csv: does not exist',
  lastTransitionTime: '2026-01-01T00:00:00Z',
  observedGeneration: generation,
});
const ok = { generation: 2, missingSecrets: [], modelFeatures: ['tenure', 'plan'] };

describe('monitorConditions', () => {
  it('is Ready when checks can run', () => {
    const c = monitorConditions(monitor(), ok, NOW);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'True', reason: 'Scheduled', observedGeneration: 2 });
    expect(getCondition(c, 'Stalled')).toBeUndefined();
  });
  it('a missing credentials Secret is CredentialsNotFound and Stalled, naming the Secret and the field (as a RetrainJob says it)', () => {
    const c = monitorConditions(monitor(), { ...ok, missingSecrets: [{ field: 'spec.reference.credentialsSecretRef', name: 's3' }] }, NOW);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'False', reason: 'CredentialsNotFound' });
    expect(getCondition(c, 'Ready')?.message).toContain('Secret "s3" (spec.reference.credentialsSecretRef) does not exist in namespace ml');
    expect(getCondition(c, 'Stalled')).toMatchObject({ status: 'True', reason: 'CredentialsNotFound' });
  });
  it('a failed check of the current generation is not Ready and Stalled, with the check reason', () => {
    const c = monitorConditions(monitor([failedCheck(2)]), ok, NOW);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'False', reason: 'ReferenceUnreadable', message: 'the last check failed: reference s3://d/r.csv: does not exist' });
    expect(getCondition(c, 'Stalled')?.status).toBe('True');
  });
  it('a failed check of an older spec, a skipped check, or a suspended monitor is not a failure', () => {
    expect(getCondition(monitorConditions(monitor([failedCheck(1)]), ok, NOW), 'Ready')?.status).toBe('True');
    expect(getCondition(monitorConditions(monitor([{ ...failedCheck(2), reason: 'InsufficientSamples' }]), ok, NOW), 'Ready')?.status).toBe('True');
    expect(getCondition(monitorConditions(monitor([failedCheck(2)], { suspend: true }), ok, NOW), 'Ready')).toMatchObject({ status: 'True', reason: 'Suspended' });
  });
  it('a feature the Model does not have is UnknownFeature and Stalled (issue 13, item 10)', () => {
    const m = monitor([], { features: [{ name: 'tenure', method: 'auto' }, { name: 'income', method: 'ks' }] });
    const c = monitorConditions(m, ok, NOW);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'False', reason: 'UnknownFeature' });
    expect(getCondition(c, 'Ready')?.message).toBe('spec.features names "income", which Model "churn" does not have (it has: tenure, plan)');
    expect(getCondition(c, 'Stalled')?.status).toBe('True');
  });
  it('a missing Model is not Ready but not Stalled: it may be about to be created', () => {
    const c = monitorConditions(monitor(), { generation: 2, missingSecrets: [] }, NOW);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'False', reason: 'ModelNotFound' });
    expect(getCondition(c, 'Stalled')).toBeUndefined();
  });
  it('a refused child comes first', () => {
    const c = monitorConditions(monitor([failedCheck(2)]), { ...ok, refused: 'the API server refused the CronJob m-drift-check: invalid schedule' }, NOW);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'False', reason: 'ChildRejected' });
    expect(getCondition(c, 'Stalled')).toMatchObject({ status: 'True', reason: 'ChildRejected' });
  });

  it('NoReferenceForVersion: Ready False with the reason, not Stalled, and an old check that found none is history once there is one', () => {
    const noRef = { ...ok, noReference: 'reference.fromServingVersion: Model "churn" serves v1, which records no training data set' };
    const c = monitorConditions(monitor(), noRef, NOW);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'False', reason: 'NoReferenceForVersion', message: noRef.noReference });
    expect(getCondition(c, 'Stalled')).toBeUndefined();
    const oldFailure = { ...failedCheck(2), reason: 'NoReferenceForVersion', message: 'no data set for v1' };
    expect(getCondition(monitorConditions(monitor([oldFailure]), ok, NOW), 'Ready')).toMatchObject({ status: 'True', reason: 'Scheduled' });
  });

  it('RetrainBudgetExhausted: Ready False and Stalled, below a failing check', () => {
    const c = monitorConditions(monitor(), { ...ok, budgetExhausted: 'the last 3 RetrainJobs ... all ended Rejected' }, NOW);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'False', reason: 'RetrainBudgetExhausted' });
    expect(getCondition(c, 'Stalled')).toMatchObject({ status: 'True', reason: 'RetrainBudgetExhausted' });
    expect(getCondition(monitorConditions(monitor([failedCheck(2)]), { ...ok, budgetExhausted: 'x' }, NOW), 'Ready')?.reason).toBe('ReferenceUnreadable');
  });
});
