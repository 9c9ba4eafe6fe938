import { describe, expect, it } from 'vitest';
import type { DriftMonitor } from '../../api/index.js';
import { causesText, decideRetrain, retrainJobName, unrecordedRetrain, verdictCauses } from './retrain-trigger.js';

const NOW = new Date('2026-06-01T12:00:00Z');
function monitor(status: Partial<NonNullable<DriftMonitor['status']>>, retrain: Partial<DriftMonitor['spec']['retrain']> = {}): DriftMonitor {
  return {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'DriftMonitor',
    metadata: { name: 'churn-drift', namespace: 'ml', uid: 'u-1' },
    spec: {
      retrain: { enabled: true, consecutiveChecks: 2, cooldown: '1h', maxConcurrent: 1, template: {} as never, ...retrain },
    },
    status: { driftDetected: true, consecutiveDriftChecks: 2, lastCheckTime: '2026-06-01T11:59:00Z', ...status },
  } as unknown as DriftMonitor;
}

describe('decideRetrain', () => {
  it('creates one retrain, with a name derived from the verdict', () => {
    const d = decideRetrain(monitor({}), { now: NOW, activeRetrains: 0 });
    expect(d).toEqual({ create: true, name: retrainJobName('churn-drift', 'u-1', '2026-06-01T11:59:00Z') });
    expect(d.create && d.name).toMatch(/^churn-drift-retrain-[0-9a-f]{8}$/);
    // Same inputs, same name: a repeated reconcile cannot make a second one.
    expect(decideRetrain(monitor({}), { now: NOW, activeRetrains: 0 })).toEqual(d);
  });
  it('waits for the configured number of consecutive drifted checks', () => {
    expect(decideRetrain(monitor({ consecutiveDriftChecks: 1 }), { now: NOW, activeRetrains: 0 })).toMatchObject({ create: false, reason: 'drift or degraded performance in 1 of 2 consecutive checks' });
  });
  it('does nothing without drift, when disabled, or without a verdict', () => {
    expect(decideRetrain(monitor({ driftDetected: false }), { now: NOW, activeRetrains: 0 }).create).toBe(false);
    expect(decideRetrain(monitor({}, { enabled: false }), { now: NOW, activeRetrains: 0 }).create).toBe(false);
    expect(decideRetrain(monitor({ lastCheckTime: undefined }), { now: NOW, activeRetrains: 0 }).create).toBe(false);
  });
  it('never starts two retrains from the same verdict, even if the status write was lost', () => {
    const fromStatus = monitor({ lastRetrainTime: '2026-06-01T11:59:30Z' });
    expect(decideRetrain(fromStatus, { now: new Date('2026-06-01T14:00:00Z'), activeRetrains: 0 })).toMatchObject({ create: false });
    const fromJobs = monitor({});
    expect(decideRetrain(fromJobs, { now: new Date('2026-06-01T14:00:00Z'), activeRetrains: 0, newestRetrainCreatedAt: '2026-06-01T11:59:30Z' }).create).toBe(false);
  });
  it('respects the cooldown from the last retrain', () => {
    const m = monitor({ lastRetrainTime: '2026-06-01T11:30:00Z' });
    const d = decideRetrain(m, { now: NOW, activeRetrains: 0 });
    expect(d.create).toBe(false);
    expect(!d.create && d.reason).toContain('cooling down until 2026-06-01T12:30:00');
    expect(decideRetrain(m, { now: new Date('2026-06-01T12:31:00Z'), activeRetrains: 0 }).create).toBe(true);
  });
  it('respects maxConcurrent', () => {
    const d = decideRetrain(monitor({}), { now: NOW, activeRetrains: 1 });
    expect(!d.create && d.reason).toContain('maxConcurrent 1');
    expect(decideRetrain(monitor({}, { maxConcurrent: 2 }), { now: NOW, activeRetrains: 1 }).create).toBe(true);
  });
  it('keeps names within Job name limits', () => {
    expect(retrainJobName('m'.repeat(200), 'u', 't').length).toBeLessThanOrEqual(57);
  });
});

describe('decideRetrain on degraded performance', () => {
  const CHECK = '2026-06-01T11:59:00Z';
  const degraded = (checkTime = CHECK) =>
    ({ checkTime, degraded: true, windowStart: '2026-05-25T11:59:00Z', windowEnd: CHECK, predictions: 900, labelled: 800, coverage: 0.9, metrics: { auc: 0.6 } }) as never;

  it('starts a retrain from a verdict that found degraded performance and no drift, named after that verdict', () => {
    const m = monitor({ driftDetected: false, performance: degraded() });
    expect(verdictCauses(m.status)).toEqual(['performance']);
    expect(decideRetrain(m, { now: NOW, activeRetrains: 0 })).toEqual({ create: true, name: retrainJobName('churn-drift', 'u-1', CHECK) });
  });

  it('counts a performance verdict whose drift part had too few samples (no driftDetected)', () => {
    const m = monitor({ driftDetected: undefined, performance: degraded() });
    expect(decideRetrain(m, { now: NOW, activeRetrains: 0 }).create).toBe(true);
  });

  it('names both causes when both are found', () => {
    expect(causesText(verdictCauses(monitor({ performance: degraded() }).status))).toBe('drift and degraded performance');
  });

  it('ignores degraded figures of another check than the last verdict', () => {
    // E.g. a check after it had too few labels for a verdict, or the figures of an older verdict.
    const m = monitor({ driftDetected: false, performance: degraded('2026-06-01T11:00:00Z') });
    expect(verdictCauses(m.status)).toEqual([]);
    expect(decideRetrain(m, { now: NOW, activeRetrains: 0 })).toEqual({ create: false, reason: 'neither drift nor degraded performance in the last verdict' });
  });

  it('waits for the streak, and keeps one retrain per verdict, the cooldown and maxConcurrent', () => {
    const first = monitor({ driftDetected: false, consecutiveDriftChecks: 1, performance: degraded() });
    expect(decideRetrain(first, { now: NOW, activeRetrains: 0 })).toMatchObject({ create: false, reason: 'drift or degraded performance in 1 of 2 consecutive checks' });
    const second = monitor({ driftDetected: false, consecutiveDriftChecks: 2, performance: degraded() });
    expect(decideRetrain(second, { now: NOW, activeRetrains: 1 })).toMatchObject({ create: false });
    expect(decideRetrain(monitor({ driftDetected: false, performance: degraded(), lastRetrainTime: '2026-06-01T11:30:00Z' }), { now: NOW, activeRetrains: 0 }).create).toBe(false);
    expect(decideRetrain(monitor({ driftDetected: false, performance: degraded(), lastRetrainTime: '2026-06-01T11:59:30Z' }), { now: new Date('2026-06-01T14:00:00Z'), activeRetrains: 0 }).create).toBe(false);
  });

  it('does not start one for figures that are not degraded', () => {
    const m = monitor({ driftDetected: false, performance: { ...(degraded() as object), degraded: false } as never });
    expect(decideRetrain(m, { now: NOW, activeRetrains: 0 }).create).toBe(false);
  });
});

describe('unrecordedRetrain', () => {
  const run = (name: string, creationTimestamp: string) => ({ metadata: { name, creationTimestamp } });
  it('records a run that a crash left out of status', () => {
    expect(unrecordedRetrain({}, [run('a', '2026-06-01T11:00:00Z')])).toEqual({ lastRetrainJob: 'a', lastRetrainTime: '2026-06-01T11:00:00Z' });
    expect(unrecordedRetrain({ lastRetrainJob: 'a', lastRetrainTime: '2026-06-01T11:00:00Z' }, [run('a', '2026-06-01T11:00:00Z'), run('b', '2026-06-01T12:00:00Z')])).toEqual({
      lastRetrainJob: 'b',
      lastRetrainTime: '2026-06-01T12:00:00Z',
    });
  });
  it('leaves a status that already names the newest run alone', () => {
    expect(unrecordedRetrain({ lastRetrainJob: 'b', lastRetrainTime: '2026-06-01T12:00:00Z' }, [run('a', '2026-06-01T11:00:00Z'), run('b', '2026-06-01T12:00:01Z')])).toBeUndefined();
    expect(unrecordedRetrain({}, [])).toBeUndefined();
  });
  it('does not go back to an older run when the recorded one was deleted', () => {
    expect(unrecordedRetrain({ lastRetrainJob: 'b', lastRetrainTime: '2026-06-01T12:00:00Z' }, [run('a', '2026-06-01T11:00:00Z')])).toBeUndefined();
  });
});

describe('decideRetrain: serving version and budget', () => {
  it('a verdict taken while another version served starts nothing', () => {
    const d = decideRetrain(monitor({ streakVersion: 'v1' }), { now: NOW, activeRetrains: 0, servingVersion: 'v2' });
    expect(d).toEqual({ create: false, reason: 'the last verdict was taken while v1 served; v2 serves now: waiting for a check of it' });
    expect(decideRetrain(monitor({ streakVersion: 'v2' }), { now: NOW, activeRetrains: 0, servingVersion: 'v2' }).create).toBe(true);
  });
  it('an exhausted budget starts nothing, whatever the verdict', () => {
    const d = decideRetrain(monitor({}), { now: NOW, activeRetrains: 0, budgetExhausted: 'the last 3 RetrainJobs ...' });
    expect(d).toEqual({ create: false, reason: 'the retrain budget is exhausted: the last 3 RetrainJobs ...' });
  });
});
