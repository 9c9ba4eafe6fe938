import { describe, expect, it } from 'vitest';
import { decideVersions, nextVersionName, trimHistory, type VersionRecord } from './versions.js';

const T = '2026-01-01T00:00:00Z';
const v = (name: string, source = 'Spec', uri = `s3://m/${name}.onnx`): VersionRecord => ({ name, uri, source, createdAt: T });

describe('decideVersions', () => {
  it('records the spec artifact as v1 on first sight and serves it', () => {
    const d = decideVersions({ artifact: { uri: 's3://m/a.onnx', sha256: 'ab' }, promotionPolicy: 'Automatic' }, undefined, T);
    expect(d.versions).toEqual([{ name: 'v1', uri: 's3://m/a.onnx', sha256: 'ab', source: 'Spec', createdAt: T }]);
    expect(d.serving?.name).toBe('v1');
    expect(d.recorded?.name).toBe('v1');
  });

  it('does not record the same artifact twice', () => {
    const first = decideVersions({ artifact: { uri: 's3://m/a.onnx' }, promotionPolicy: 'Automatic' }, undefined, T);
    const again = decideVersions({ artifact: { uri: 's3://m/a.onnx' }, promotionPolicy: 'Automatic' }, first.versions, T);
    expect(again.versions).toHaveLength(1);
    expect(again.recorded).toBeUndefined();
  });

  it('treats a changed sha256 for the same URI as a new version', () => {
    const first = decideVersions({ artifact: { uri: 's3://m/a.onnx', sha256: 'aa' }, promotionPolicy: 'Automatic' }, undefined, T);
    const next = decideVersions({ artifact: { uri: 's3://m/a.onnx', sha256: 'bb' }, promotionPolicy: 'Automatic' }, first.versions, T);
    expect(next.versions.map((x) => x.name)).toEqual(['v1', 'v2']);
    expect(next.serving?.name).toBe('v2');
  });

  it('Automatic serves the newest version, including retrained ones', () => {
    const d = decideVersions({ artifact: { uri: 's3://m/v1.onnx' }, promotionPolicy: 'Automatic' }, [v('v1'), v('v2', 'RetrainJob/rj-1')], T);
    expect(d.serving?.name).toBe('v2');
  });

  it('Manual serves the spec version and leaves retrained versions waiting', () => {
    const d = decideVersions({ artifact: { uri: 's3://m/v1.onnx' }, promotionPolicy: 'Manual' }, [v('v1'), v('v2', 'RetrainJob/rj-1')], T);
    expect(d.serving?.name).toBe('v1');
  });

  it('pinnedVersion wins, and an unknown pin is a problem with no serving choice', () => {
    const hist = [v('v1'), v('v2', 'RetrainJob/x')];
    expect(decideVersions({ artifact: { uri: 's3://m/v1.onnx' }, promotionPolicy: 'Automatic', pinnedVersion: 'v1' }, hist, T).serving?.name).toBe('v1');
    const bad = decideVersions({ artifact: { uri: 's3://m/v1.onnx' }, promotionPolicy: 'Automatic', pinnedVersion: 'v7' }, hist, T);
    expect(bad.serving).toBeUndefined();
    expect(bad.problem?.reason).toBe('PinnedVersionNotFound');
    expect(bad.problem?.message).toContain('"v7"');
  });
});

describe('history', () => {
  it('names versions after the highest number seen', () => {
    expect(nextVersionName([v('v1'), v('v7'), v('v3')])).toBe('v8');
    expect(nextVersionName([])).toBe('v1');
  });

  it('trims the oldest entries but never a kept one', () => {
    const hist = Array.from({ length: 25 }, (_, i) => v(`v${i + 1}`));
    const out = trimHistory(hist, new Set(['v2']), 20);
    expect(out).toHaveLength(20);
    expect(out[0]!.name).toBe('v2');
    expect(out.at(-1)!.name).toBe('v25');
    expect(out.map((x) => x.name)).not.toContain('v1');
  });
});
