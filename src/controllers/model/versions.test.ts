import { describe, expect, it } from 'vitest';
import { decideVersions, nextVersionName, resolvePin, trimHistory, type VersionRecord } from './versions.js';

const T = '2026-01-01T00:00:00Z';
const v = (name: string, source = 'Spec', uri = `s3://m/${name}.onnx`): VersionRecord => ({ name, uri, source, createdAt: T });

describe('decideVersions', () => {
  it('records the spec artifact as v1 on first sight', () => {
    const d = decideVersions({ artifact: { uri: 's3://m/a.onnx', sha256: 'ab' } }, undefined, T);
    expect(d.versions).toEqual([{ name: 'v1', uri: 's3://m/a.onnx', sha256: 'ab', source: 'Spec', createdAt: T }]);
    expect(d.specVersion.name).toBe('v1');
    expect(d.recorded?.name).toBe('v1');
  });

  it('does not record the same artifact twice, nor once its digest was learnt from the pods', () => {
    const first = decideVersions({ artifact: { uri: 's3://m/a.onnx' } }, undefined, T);
    const again = decideVersions({ artifact: { uri: 's3://m/a.onnx' } }, first.versions, T);
    expect(again.versions).toHaveLength(1);
    expect(again.recorded).toBeUndefined();
    const learnt = [{ ...first.versions[0]!, sha256: 'c'.repeat(64) }];
    expect(decideVersions({ artifact: { uri: 's3://m/a.onnx' } }, learnt, T).recorded).toBeUndefined();
    expect(decideVersions({ artifact: { uri: 's3://m/a.onnx', sha256: 'C'.repeat(64) } }, learnt, T).recorded).toBeUndefined();
  });

  it('treats a changed sha256 for the same URI as a new version', () => {
    const first = decideVersions({ artifact: { uri: 's3://m/a.onnx', sha256: 'aa' } }, undefined, T);
    const next = decideVersions({ artifact: { uri: 's3://m/a.onnx', sha256: 'bb' } }, first.versions, T);
    expect(next.versions.map((x) => x.name)).toEqual(['v1', 'v2']);
    expect(next.specVersion.name).toBe('v2');
  });

  it('a URI seen before names its old version again (a revert), recording nothing', () => {
    const d = decideVersions({ artifact: { uri: 's3://m/v1.onnx' } }, [v('v1'), v('v2')], T);
    expect(d.specVersion.name).toBe('v1');
    expect(d.recorded).toBeUndefined();
  });

  it('pins by name or by digest; an unknown pin is a problem naming what is known', () => {
    const hist = [{ ...v('v1'), sha256: 'a'.repeat(64) }, { ...v('v2', 'RetrainJob/x'), sha256: 'b'.repeat(64) }, v('v3')];
    expect(decideVersions({ artifact: { uri: 's3://m/v1.onnx' }, pinnedVersion: 'v1' }, hist, T).pinned?.name).toBe('v1');
    expect(decideVersions({ artifact: { uri: 's3://m/v1.onnx' }, pinnedVersion: `sha256:${'b'.repeat(64)}` }, hist, T).pinned?.name).toBe('v2');
    const bad = decideVersions({ artifact: { uri: 's3://m/v1.onnx' }, pinnedVersion: 'v7' }, hist, T);
    expect(bad.pinned).toBeUndefined();
    expect(bad.problem?.reason).toBe('PinnedVersionNotFound');
    expect(bad.problem?.message).toContain('"v7"');
    const badDigest = decideVersions({ artifact: { uri: 's3://m/v1.onnx' }, pinnedVersion: `sha256:${'d'.repeat(64)}` }, hist, T);
    expect(badDigest.problem?.message).toMatch(/no version's artifact has that digest \(known: v1 sha256:aaaaaaaaaaaa…, v2 sha256:bbbbbbbbbbbb…\); not yet known for v3/);
  });

  it('a digest pin picks the newest version with that file', () => {
    const same = 'e'.repeat(64);
    expect(resolvePin(`sha256:${same}`, [{ ...v('v1'), sha256: same }, { ...v('v4'), sha256: same }])?.name).toBe('v4');
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
