// What became of a RetrainJob's version once the Model's Shadow or Canary
// analysis has spoken. The gate accepted the version and recorded it as the
// candidate (Promoted=Unknown, CandidateUnderAnalysis); the run's Promoted
// condition then follows the Model's status.promotion, so `kubectl get
// retrainjob` tells the end of the story, not only its middle.
import type { Model } from '../../api/index.js';

export interface PromotedCondition {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * Whether the run's Promoted condition (reason `reason`) still follows the
 * Model: while the analysis runs, and after a promotion while the guard
 * watches the version (it may yet roll it back).
 */
export function followsModel(reason: string | undefined, model: Model | undefined, version: string | undefined): boolean {
  if (!model || !version) return false;
  if (reason === 'CandidateUnderAnalysis') return true;
  const guard = model.status?.promotion?.guard;
  return reason === 'CandidatePromoted' && guard?.version === version && guard.verdict === 'Watching';
}

/**
 * The Promoted condition of the run that recorded `version`, given its
 * current reason; undefined while there is nothing new to say.
 */
export function promotionOutcome(model: Model, version: string, reason: string): PromotedCondition | undefined {
  const p = model.status?.promotion;
  if (!p) return undefined;
  const blocked = p.blockedVersions?.find((b) => b.version === version);
  if (blocked) {
    return {
      status: 'False',
      reason: blocked.reason === 'Rejected' ? 'CandidateRejected' : blocked.reason,
      message: `${version} is not served: ${blocked.message}`,
    };
  }
  // Once promoted, only the guard (a block, above) changes the story.
  if (reason !== 'CandidateUnderAnalysis') return undefined;
  const c = p.candidate;
  if (p.promotedVersion === version || (c?.version === version && c.phase === 'Promoted')) {
    return { status: 'True', reason: 'CandidatePromoted', message: `${version} was promoted on live traffic: ${c?.version === version ? (c.message ?? 'the analysis passed') : 'promotion chose it'}` };
  }
  if (c && c.version !== version && isNewer(model, c.version, version)) {
    return { status: 'False', reason: 'Superseded', message: `a newer version, ${c.version}, became the candidate before ${version} had a verdict` };
  }
  return undefined;
}

/** `a` was recorded after `b` in the Model's versions. */
function isNewer(model: Model, a: string, b: string): boolean {
  const names = (model.status?.versions ?? []).map((v) => v.name);
  const ia = names.indexOf(a);
  const ib = names.indexOf(b);
  return ia >= 0 && ib >= 0 && ia > ib;
}
