import { describe, expect, it } from 'vitest';
import { PromotionSpecSchema, type PromotionFigures, type PromotionSpecInput, type PromotionStatus } from '../../api/index.js';
import { judgeCandidate, judgeGuard, planPromotion, rejectCandidate, type PromotionState } from './promotion.js';
import type { VersionRecord } from './versions.js';

const T0 = new Date('2026-06-01T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const v = (name: string, source = 'Spec'): VersionRecord => ({ name, uri: `s3://m/${name}.onnx`, source, createdAt: '2026-06-01T09:00:00Z' });
const spec = (p: PromotionSpecInput = {}) => PromotionSpecSchema.parse(p);
const good: PromotionFigures = { samples: 500, agreement: 1, candidateErrorRate: 0, championErrorRate: 0, latencyRatio: 1, outputDrift: 0, championP99Ms: 4, candidateP99Ms: 4, championOutputQuantiles: [0, 1] };
const bad: PromotionFigures = { ...good, agreement: 0.5 };

function plan(p: PromotionSpecInput, versions: VersionRecord[], prev: PromotionStatus | undefined, o: { spec?: string; recorded?: boolean; pinned?: boolean; legacy?: string; now?: Date } = {}): PromotionState {
  const specVersion = versions.find((x) => x.name === (o.spec ?? 'v1'))!;
  return planPromotion({ spec: spec(p), versions, specVersion, specRecorded: o.recorded ?? false, pinned: o.pinned ?? false, prev, legacyServing: o.legacy, now: o.now ?? T0 });
}

describe('planPromotion', () => {
  it('a new Model serves its spec artifact; nothing to analyse', () => {
    const s = plan({}, [v('v1')], undefined, { recorded: true });
    expect(s.status).toEqual({ promotedVersion: 'v1', specVersion: 'v1' });
    expect(s.events).toEqual([]);
  });

  it('an upgraded Model keeps the version it served', () => {
    expect(plan({}, [v('v1'), v('v2', 'RetrainJob/a')], undefined, { legacy: 'v2' }).status.promotedVersion).toBe('v2');
  });

  it('Direct promotes a retrained version at once, as before', () => {
    const s = plan({}, [v('v1'), v('v2', 'RetrainJob/a')], { promotedVersion: 'v1', specVersion: 'v1' });
    expect(s.status.promotedVersion).toBe('v2');
    expect(s.status.candidate).toMatchObject({ version: 'v2', phase: 'Promoted', verdict: 'Promote' });
    expect(s.decisions).toEqual([{ verdict: 'Promote', version: 'v2' }]);
  });

  it('Direct under policy Manual leaves a retrained version waiting, and follows a new spec artifact', () => {
    const manual = { policy: 'Manual' as const };
    expect(plan(manual, [v('v1'), v('v2', 'RetrainJob/a')], { promotedVersion: 'v1', specVersion: 'v1' }).status.promotedVersion).toBe('v1');
    expect(plan(manual, [v('v1'), v('v2', 'RetrainJob/a'), v('v3')], { promotedVersion: 'v1', specVersion: 'v1' }, { spec: 'v3', recorded: true }).status.promotedVersion).toBe('v3');
  });

  it('Shadow makes the newest version the candidate and keeps serving the champion', () => {
    const s = plan({ strategy: 'Shadow' }, [v('v1'), v('v2', 'RetrainJob/a')], { promotedVersion: 'v1', specVersion: 'v1' });
    expect(s.status.promotedVersion).toBe('v1');
    expect(s.status.candidate).toMatchObject({ version: 'v2', champion: 'v1', phase: 'Shadowing', strategy: 'Shadow', analysis: 'v2@2026-06-01T10:00:00Z/shadow' });
    expect(s.events[0]).toMatchObject({ reason: 'CandidateStarted', message: 'v2 is the candidate: mirroring 100% of requests to it beside v1' });
    // The next round plans the same: no second start.
    const again = plan({ strategy: 'Shadow' }, [v('v1'), v('v2', 'RetrainJob/a')], s.status, { now: at(30) });
    expect(again.status.candidate).toEqual(s.status.candidate);
    expect(again.events).toEqual([]);
  });

  it('a newer version replaces the candidate under analysis', () => {
    const first = plan({ strategy: 'Shadow' }, [v('v1'), v('v2', 'RetrainJob/a')], { promotedVersion: 'v1', specVersion: 'v1' });
    const s = plan({ strategy: 'Shadow' }, [v('v1'), v('v2', 'RetrainJob/a'), v('v3', 'RetrainJob/b')], first.status, { now: at(60) });
    expect(s.status.candidate).toMatchObject({ version: 'v3', phase: 'Shadowing' });
    expect(s.events[0]!.message).toBe('v3 replaces v2 as the candidate');
  });

  it('a pin starts no candidate', () => {
    const s = plan({ strategy: 'Shadow' }, [v('v1'), v('v2', 'RetrainJob/a')], { promotedVersion: 'v1', specVersion: 'v1' }, { pinned: true });
    expect(s.status.candidate).toBeUndefined();
  });

  it('spec.artifact set back to a known file (git revert) serves it at once and holds back the versions after it', () => {
    const versions = [v('v1'), v('v2', 'RetrainJob/a'), v('v3')];
    const s = plan({ strategy: 'Shadow' }, versions, { promotedVersion: 'v3', specVersion: 'v3' }, { spec: 'v1' });
    expect(s.status.promotedVersion).toBe('v1');
    expect(s.status.specVersion).toBe('v1');
    expect(s.status.blockedVersions?.map((b) => [b.version, b.reason])).toEqual([['v2', 'Reverted'], ['v3', 'Reverted']]);
    expect(s.status.candidate).toBeUndefined();
    expect(s.events[0]).toMatchObject({ reason: 'Reverted' });
    expect(s.events[0]!.message).toMatch(/^spec.artifact names v1's file again: serving v1 at once \(was v3\), no analysis; v2, v3 will not be promoted/);
    // A later retrain is a candidate again.
    const later = plan({ strategy: 'Shadow' }, [...versions, v('v4', 'RetrainJob/b')], s.status, { now: at(60) });
    expect(later.status.candidate).toMatchObject({ version: 'v4', champion: 'v1' });
  });
});

describe('judgeCandidate', () => {
  const versions = [v('v1'), v('v2', 'RetrainJob/a')];
  const shadowing = (p: PromotionSpecInput = { strategy: 'Shadow' }) => plan(p, versions, { promotedVersion: 'v1', specVersion: 'v1' });

  it('promotes on good figures, once, and starts the guard with the champion as baseline', () => {
    const p = { strategy: 'Shadow' as const, guard: { window: '10m' } };
    const s = judgeCandidate(shadowing(p), spec(p), good, versions, at(60));
    expect(s.status.promotedVersion).toBe('v2');
    expect(s.status.candidate).toMatchObject({ phase: 'Promoted', verdict: 'Promote', decidedAt: '2026-06-01T10:01:00Z', figures: good });
    expect(s.status.guard).toMatchObject({ version: 'v2', previous: 'v1', until: '2026-06-01T10:11:00Z', verdict: 'Watching', baseline: good });
    expect(s.decisions).toEqual([{ verdict: 'Promote', version: 'v2' }]);
    // Judged again (a retried reconcile, an operator restarted after the write): nothing new.
    const again = judgeCandidate({ ...s, events: [], decisions: [] }, spec(p), bad, versions, at(90));
    expect(again.status).toEqual(s.status);
    expect(again.decisions).toEqual([]);
  });

  it('rejects on a failing figure; the version is never a candidate again', () => {
    const s = judgeCandidate(shadowing(), spec({ strategy: 'Shadow' }), bad, versions, at(60));
    expect(s.status.promotedVersion).toBe('v1');
    expect(s.status.candidate).toMatchObject({ phase: 'Rejected', verdict: 'Reject' });
    expect(s.status.candidate!.message).toContain('agreement 50.00% is below minAgreement 95.00%');
    expect(s.status.blockedVersions).toMatchObject([{ version: 'v2', reason: 'Rejected' }]);
    expect(s.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'Rejected' });
    const next = plan({ strategy: 'Shadow' }, versions, s.status, { now: at(120) });
    expect(next.status.candidate).toMatchObject({ version: 'v2', phase: 'Rejected' });
    expect(next.events).toEqual([]);
  });

  it('extends with too few samples, recording the figures', () => {
    const s = judgeCandidate(shadowing(), spec({ strategy: 'Shadow' }), { ...good, samples: 10 }, versions, at(60));
    expect(s.status.candidate).toMatchObject({ phase: 'Shadowing', verdict: 'Extend', lastAnalysisTime: '2026-06-01T10:01:00Z', figures: { samples: 10 } });
    expect(s.decisions).toEqual([]);
  });

  it('walks the canary steps, each counted afresh, then promotes', () => {
    const p = { strategy: 'Canary' as const, canary: { steps: [{ weight: 10, duration: '1m' }, { weight: 50, duration: '1m' }] } };
    const s0 = shadowing(p);
    expect(s0.status.candidate).toMatchObject({ phase: 'Canary', step: 0, analysis: 'v2@2026-06-01T10:00:00Z/step0' });
    expect(judgeCandidate(s0, spec(p), good, versions, at(30)).status.candidate).toMatchObject({ step: 0, verdict: 'Extend' });
    const s1 = judgeCandidate(s0, spec(p), good, versions, at(61));
    expect(s1.status.candidate).toMatchObject({ phase: 'Canary', step: 1, analysis: 'v2@2026-06-01T10:00:00Z/step1', stepStartedAt: '2026-06-01T10:01:01Z' });
    expect(s1.events.at(-1)).toMatchObject({ reason: 'CanaryStep' });
    const s2 = judgeCandidate(s1, spec(p), good, versions, at(122));
    expect(s2.status).toMatchObject({ promotedVersion: 'v2', candidate: { phase: 'Promoted' } });
  });

  it('policy Manual shows the verdict and waits for a pin', () => {
    const p = { strategy: 'Shadow' as const, policy: 'Manual' as const };
    const s = judgeCandidate(shadowing(p), spec(p), good, versions, at(60));
    expect(s.status.promotedVersion).toBe('v1');
    expect(s.status.candidate).toMatchObject({ phase: 'Pending', verdict: 'Promote' });
    expect(s.status.candidate!.message).toContain('set spec.pinnedVersion to v2');
  });

  it('a candidate whose pods cannot start is rejected with their message', () => {
    const s = rejectCandidate(shadowing(), 'NotFound: s3://m/v2.onnx does not exist', at(20));
    expect(s.status.candidate).toMatchObject({ phase: 'Rejected', message: "the candidate's pods cannot serve: NotFound: s3://m/v2.onnx does not exist" });
  });
});

describe('judgeGuard', () => {
  const versions = [v('v1'), v('v2', 'RetrainJob/a')];
  const p = { strategy: 'Shadow' as const, guard: { window: '10m' } };
  const promoted = () =>
    judgeCandidate(plan(p, versions, { promotedVersion: 'v1', specVersion: 'v1' }), spec(p), good, versions, at(60));

  it('rolls back on a regression, blocks the version, and says why', () => {
    const s = judgeGuard(promoted(), spec(p), { samples: 300, candidateErrorRate: 0.2, championErrorRate: 0 }, at(120));
    expect(s.status.promotedVersion).toBe('v1');
    expect(s.status.guard).toMatchObject({ verdict: 'RolledBack' });
    expect(s.status.candidate?.phase).toBe('RolledBack');
    expect(s.status.blockedVersions).toMatchObject([{ version: 'v2', reason: 'RolledBack' }]);
    expect(s.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'RolledBack' });
    expect(s.events.at(-1)!.message).toMatch(/^v2 regressed after promotion, rolled back to v1: guard over 300 samples: error rate 20.00%/);
    expect(s.decisions.at(-1)).toEqual({ verdict: 'RolledBack', version: 'v2' });
    // Never a candidate again.
    expect(plan(p, versions, s.status, { now: at(200) }).status.candidate?.phase).toBe('RolledBack');
  });

  it('passes at the end of the window', () => {
    const s = judgeGuard(promoted(), spec(p), { samples: 300, candidateErrorRate: 0, championErrorRate: 0 }, at(60 + 600));
    expect(s.status.guard).toMatchObject({ verdict: 'Passed' });
    expect(s.status.promotedVersion).toBe('v2');
  });
});
