import { describe, expect, it } from 'vitest';
import type { Model } from '../../api/index.js';
import { followsModel, promotionOutcome } from './promotion-outcome.js';

const model = (promotion: Record<string, unknown>, versions = ['v1', 'v2', 'v3']): Model =>
  ({ metadata: { name: 'churn', namespace: 'ml' }, spec: {}, status: { versions: versions.map((name) => ({ name })), promotion } }) as unknown as Model;

describe("a RetrainJob's Promoted condition after the Model's analysis", () => {
  it('stays Unknown while its version is analysed', () => {
    expect(promotionOutcome(model({ promotedVersion: 'v1', candidate: { version: 'v2', phase: 'Shadowing' } }), 'v2', 'CandidateUnderAnalysis')).toBeUndefined();
  });

  it('is True once promoted, quoting the verdict', () => {
    const m = model({ promotedVersion: 'v2', candidate: { version: 'v2', phase: 'Promoted', message: 'shadow: all thresholds met over 500 samples' } });
    expect(promotionOutcome(m, 'v2', 'CandidateUnderAnalysis')).toEqual({ status: 'True', reason: 'CandidatePromoted', message: 'v2 was promoted on live traffic: shadow: all thresholds met over 500 samples' });
  });

  it('is False when rejected, rolled back by the guard, or superseded by a newer candidate', () => {
    const at = '2026-12-04T00:00:00Z';
    const rejected = model({ promotedVersion: 'v1', blockedVersions: [{ version: 'v2', reason: 'Rejected', message: 'shadow over 300 samples: agreement 80.00% is below minAgreement 95.00%', at }] });
    expect(promotionOutcome(rejected, 'v2', 'CandidateUnderAnalysis')).toMatchObject({ status: 'False', reason: 'CandidateRejected', message: 'v2 is not served: shadow over 300 samples: agreement 80.00% is below minAgreement 95.00%' });
    const rolled = model({ promotedVersion: 'v1', blockedVersions: [{ version: 'v2', reason: 'RolledBack', message: 'v2 regressed after promotion', at }] });
    expect(promotionOutcome(rolled, 'v2', 'CandidatePromoted')).toMatchObject({ status: 'False', reason: 'RolledBack' });
    const superseded = model({ promotedVersion: 'v1', candidate: { version: 'v3', phase: 'Shadowing' } });
    expect(promotionOutcome(superseded, 'v2', 'CandidateUnderAnalysis')).toMatchObject({ status: 'False', reason: 'Superseded', message: 'a newer version, v3, became the candidate before v2 had a verdict' });
  });

  it('a promoted version stays True when a newer one is promoted after it', () => {
    const later = model({ promotedVersion: 'v3', candidate: { version: 'v3', phase: 'Promoted' } });
    expect(promotionOutcome(later, 'v2', 'CandidatePromoted')).toBeUndefined();
  });

  it('follows the Model while analysed, and after promotion only while the guard watches the version', () => {
    const watching = model({ promotedVersion: 'v2', guard: { version: 'v2', verdict: 'Watching' } });
    expect(followsModel('CandidateUnderAnalysis', watching, 'v3')).toBe(true);
    expect(followsModel('CandidatePromoted', watching, 'v2')).toBe(true);
    expect(followsModel('CandidatePromoted', model({ promotedVersion: 'v2', guard: { version: 'v2', verdict: 'Passed' } }), 'v2')).toBe(false);
    expect(followsModel('AutomaticPromotion', watching, 'v2')).toBe(false);
    expect(followsModel('CandidateRejected', watching, 'v2')).toBe(false);
    expect(followsModel('CandidateUnderAnalysis', undefined, 'v2')).toBe(false);
  });
});
