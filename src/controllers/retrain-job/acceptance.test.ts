import { describe, expect, it } from 'vitest';
import { applyAcceptance, parseTrainerMetrics } from './acceptance.js';

describe('parseTrainerMetrics', () => {
  it('keeps numbers, the serving block, and ignores the rest', () => {
    expect(parseTrainerMetrics('{"auc":0.81,"rows":1000,"features":["a"],"serving":{"auc":0.75}}')).toEqual({
      metrics: { auc: 0.81, rows: 1000 },
      serving: { auc: 0.75 },
      nonNumeric: { features: '["a"]' },
    });
  });
  it('keeps what is not a number aside, so the gate can name it', () => {
    expect(parseTrainerMetrics('{"auc":"high","rows":10,"features":["a"],"loss":null}')).toEqual({
      metrics: { rows: 10 },
      nonNumeric: { auc: '"high"', features: '["a"]', loss: 'null' },
    });
  });
  it('refuses what is not a JSON object', () => {
    expect(() => parseTrainerMetrics('not json')).toThrow('metrics.json is not valid JSON');
    expect(() => parseTrainerMetrics('[1,2]')).toThrow('JSON object');
  });
});

describe('applyAcceptance', () => {
  const m = { metrics: { auc: 0.8, rmse: 2 } };
  it('accepts without criteria', () => expect(applyAcceptance(undefined, m, undefined).accepted).toBe(true));
  it('checks min and max', () => {
    expect(applyAcceptance({ metric: 'auc', min: 0.85, mustBeatServing: false }, m, undefined)).toMatchObject({ accepted: false, reason: 'BelowMinimum' });
    expect(applyAcceptance({ metric: 'rmse', max: 1.5, mustBeatServing: false }, m, undefined)).toMatchObject({ accepted: false, reason: 'AboveMaximum' });
    expect(applyAcceptance({ metric: 'auc', min: 0.7, max: 0.9, mustBeatServing: false }, m, undefined).accepted).toBe(true);
  });
  // A gate that cannot read its metric judges nothing: broken trainer output (the run Failed), not a Rejected model.
  it('needs the metric: a missing one is invalid output, not a rejection', () => {
    expect(applyAcceptance({ metric: 'f1', min: 0.1, mustBeatServing: false }, m, undefined)).toMatchObject({ accepted: false, invalid: true, reason: 'MetricMissing' });
  });
  it('a non-numeric metric is invalid output, named with its value', () => {
    const gate = applyAcceptance({ metric: 'auc', min: 0.7, mustBeatServing: false }, parseTrainerMetrics('{"auc":"high"}'), undefined);
    expect(gate).toMatchObject({ accepted: false, invalid: true, reason: 'InvalidMetrics' });
    expect(gate.accepted === false && gate.message).toContain('"auc" is "high", not a number');
  });
  it('a quality verdict is not invalid', () => {
    expect(applyAcceptance({ metric: 'auc', min: 0.85, mustBeatServing: false }, m, undefined)).not.toHaveProperty('invalid');
  });
  it('compares with the serving model in the metric direction, preferring the same-holdout evaluation', () => {
    const gate = { metric: 'auc' as const, mustBeatServing: true };
    expect(applyAcceptance(gate, { ...m, serving: { auc: 0.79 } }, { auc: 0.9 }).accepted).toBe(true);
    expect(applyAcceptance(gate, m, { auc: 0.8 })).toMatchObject({ accepted: false, reason: 'NotBetterThanServing' });
    expect(applyAcceptance({ metric: 'rmse', mustBeatServing: true }, m, { rmse: 2.5 }).accepted).toBe(true);
    expect(applyAcceptance({ metric: 'rmse', mustBeatServing: true }, m, { rmse: 1.5 }).accepted).toBe(false);
    expect(applyAcceptance(gate, m, undefined)).toMatchObject({ accepted: false, reason: 'NoServingBaseline' });
  });
});
