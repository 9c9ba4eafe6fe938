// The Model's Promotion condition: where the newest candidate stands, in words
// a person can act on. Present once a Model has had a candidate.
//   Unknown  analysing (Shadowing, Canary), waiting for the candidate's pods,
//            or passed and waiting for a pin (policy Manual)
//   True     promoted (with the guard's state when one watches)
//   False    rejected or rolled back, with the figure that decided
import type { PromotionStatus } from '../../api/index.js';
import { setCondition, type Condition } from '../../runtime/conditions.js';

export const PROMOTION_CONDITION = 'Promotion';

type Verdict = Pick<Condition, 'status' | 'reason' | 'message'>;

export function promotionCondition(s: PromotionStatus, o: { pinned?: string; waiting?: string }): Verdict | undefined {
  const c = s.candidate;
  if (!c) return undefined;
  const g = s.guard?.version === c.version ? s.guard : undefined;
  if (o.pinned && !c.decidedAt) {
    return { status: 'Unknown', reason: 'Paused', message: `spec.pinnedVersion serves ${o.pinned}; the analysis of ${c.version} resumes when the pin is removed` };
  }
  switch (c.phase) {
    case 'Shadowing':
    case 'Canary': {
      const what = c.phase === 'Canary' ? `canary step ${(c.step ?? 0) + 1}${c.trafficPercent !== undefined ? ` (${c.trafficPercent}% of pods)` : ''}` : 'shadow';
      return { status: 'Unknown', reason: c.phase === 'Canary' ? 'CanaryStep' : 'Shadowing', message: `${c.version} vs ${c.champion}, ${what}: ${o.waiting ?? c.message ?? 'analysis starting'}` };
    }
    case 'Pending':
      return { status: 'Unknown', reason: 'AwaitingManualPromotion', message: c.message ?? `${c.version} passed; pin it to serve it` };
    case 'Promoted':
      if (g?.verdict === 'Watching') return { status: 'True', reason: 'GuardWatching', message: `${c.version} promoted (${c.message ?? ''}); guard until ${g.until}: ${g.message ?? ''}` };
      if (g?.verdict === 'Passed') return { status: 'True', reason: 'GuardPassed', message: g.message ?? `${c.version} promoted` };
      return { status: 'True', reason: 'Promoted', message: `${c.version} promoted: ${c.message ?? ''}` };
    case 'Rejected':
      return { status: 'False', reason: 'Rejected', message: `${c.version} rejected, ${c.champion} keeps serving: ${c.message ?? ''}` };
    case 'RolledBack':
      return { status: 'False', reason: 'RolledBack', message: g?.message ?? c.message ?? `${c.version} rolled back` };
  }
}

export function withPromotionCondition(conditions: Condition[], v: Verdict | undefined, generation: number, now: Date): Condition[] {
  if (!v) return conditions.filter((c) => c.type !== PROMOTION_CONDITION);
  return setCondition(conditions, { type: PROMOTION_CONDITION, ...v, observedGeneration: generation }, now);
}
