// Shared building blocks: durations, and the constants other modules import.
import { describe, expect, it } from 'vitest';
import { API_GROUP, API_VERSION, DriftMonitorResource, ModelResource, parseDuration, RetrainJobResource } from '../../src/api/index.js';

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
