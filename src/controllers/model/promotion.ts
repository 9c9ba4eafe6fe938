// Which version promotion serves, and where the newest candidate stands.
// Pure logic over status.promotion: the controller reads pods and writes
// status; everything it does follows from the state this returns, so an
// operator killed at any point repeats no decision (the decision is in status
// before anything acts on it) and loses no figure (the pods keep counting).
//
//   promotedVersion  the champion promotion chose; served unless pinned.
//   specVersion      the version spec.artifact named last time. When the
//                    spec names another version that was already known, a
//                    person reverted the artifact (git revert): that version
//                    is served at once, and the versions after it are held
//                    back from automatic promotion (reason Reverted).
//   candidate        the newest eligible version newer than the champion:
//                    Direct promotes it at once; Shadow and Canary analyse it.
//   guard            after a Shadow/Canary promotion, the new version watched
//                    against its predecessor's figures; a regression rolls back.
//   blockedVersions  rejected, rolled back or reverted: never candidates again
//                    (a pin or a spec revert can still serve them).
import type { CandidatePhase, PromotionFigures, PromotionSpec, PromotionStatus } from '../../api/index.js';
import { durationMs } from '../../api/index.js';
import { kubeTime } from '../../runtime/conditions.js';
import { decide, type Decision } from '../../promotion/decide.js';
import { versionNumberOf, type VersionRecord } from './versions.js';

export type Candidate = NonNullable<PromotionStatus['candidate']>;
export type Guard = NonNullable<PromotionStatus['guard']>;
type Blocked = NonNullable<PromotionStatus['blockedVersions']>[number];

/** Bound of status.promotion.blockedVersions (the CRD's maxItems); the oldest go first. */
const MAX_BLOCKED = 20;

export interface PromotionEvent {
  type: 'Normal' | 'Warning';
  reason: 'CandidateStarted' | 'CanaryStep' | 'Promoted' | 'Rejected' | 'RolledBack' | 'Reverted' | 'GuardPassed' | 'AwaitingManualPromotion';
  message: string;
}

export interface PromotionState {
  status: PromotionStatus;
  events: PromotionEvent[];
  /** Decisions taken in this round, for metrics (counted once the status holding them is written). */
  decisions: { verdict: 'Promote' | 'Reject' | 'RolledBack'; version: string }[];
}

export interface PromotionInputs {
  spec: PromotionSpec;
  versions: readonly VersionRecord[];
  specVersion: VersionRecord;
  /** spec.artifact was new this round. */
  specRecorded: boolean;
  /** A pin serves its version and pauses promotion (no analysis runs against a pinned champion). */
  pinned: boolean;
  prev: PromotionStatus | undefined;
  /** status.servingVersion of a Model from before status.promotion existed. */
  legacyServing?: string;
  now: Date;
}

/** Under analysis: Shadowing or Canary without a decision (Pending with a decision waits for a pin, policy Manual). */
const isActive = (c: Candidate | undefined): c is Candidate => c !== undefined && (c.phase === 'Shadowing' || c.phase === 'Canary') && !c.decidedAt;
export const candidateActive = isActive;
export const guardWatching = (g: Guard | undefined): g is Guard => g?.verdict === 'Watching';

function block(list: readonly Blocked[] | undefined, entry: Blocked): Blocked[] {
  const out = (list ?? []).filter((b) => b.version !== entry.version);
  out.push(entry);
  return out.slice(-MAX_BLOCKED);
}

/** The analysis id the pods count under: unique per candidate, step and guard window. */
export const analysisId = (version: string, startedAt: string, part: string): string => `${version}@${startedAt}/${part}`;

/** A retrained version waits for a pin under policy Manual; a spec version is the person's own choice. */
const promotable = (spec: PromotionSpec, v: VersionRecord) => spec.policy === 'Automatic' || v.source === 'Spec';

/**
 * The first half of a round, without figures: follow the spec (a revert), pick
 * or replace the candidate, promote at once under Direct. What it returns says
 * which analysis is running, so the controller knows which pods to read.
 */
export function planPromotion(i: PromotionInputs): PromotionState {
  const now = kubeTime(i.now);
  const events: PromotionEvent[] = [];
  const decisions: PromotionState['decisions'] = [];
  const known = new Set(i.versions.map((v) => v.name));
  let st: PromotionStatus = { ...(i.prev ?? {}) };
  st.promotedVersion = st.promotedVersion && known.has(st.promotedVersion) ? st.promotedVersion : firstChampion(i);

  // A revert: the spec names, again, a version it had moved away from.
  if (st.specVersion && st.specVersion !== i.specVersion.name && !i.specRecorded) {
    const target = i.specVersion.name;
    const later = i.versions.filter((v) => versionNumberOf(v.name) > versionNumberOf(target));
    let blocked = (st.blockedVersions ?? []).filter((b) => b.version !== target);
    for (const v of later) {
      blocked = block(blocked, { version: v.name, reason: 'Reverted', message: `spec.artifact was set back to ${target}'s file`, at: now });
    }
    events.push({
      type: 'Normal',
      reason: 'Reverted',
      message: `spec.artifact names ${target}'s file again: serving ${target} at once${st.promotedVersion !== target ? ` (was ${st.promotedVersion})` : ''}, no analysis; ${later.length ? `${later.map((v) => v.name).join(', ')} will not be promoted automatically` : 'no later version'}`,
    });
    st = { ...st, promotedVersion: target, blockedVersions: blocked, guard: undefined };
    if (isActive(st.candidate)) st.candidate = { ...st.candidate, phase: 'Rejected', verdict: 'Reject', message: `superseded: spec.artifact was set back to ${target}`, decidedAt: now };
  }
  st.specVersion = i.specVersion.name;

  const blocked = new Set((st.blockedVersions ?? []).map((b) => b.version));
  const champion = st.promotedVersion!;
  const newest = [...i.versions]
    .filter((v) => versionNumberOf(v.name) > versionNumberOf(champion) && !blocked.has(v.name))
    .filter((v) => i.spec.strategy !== 'Direct' || promotable(i.spec, v))
    .sort((a, b) => versionNumberOf(b.name) - versionNumberOf(a.name))[0];

  if (!i.pinned && newest && (!st.candidate || st.candidate.version !== newest.name)) {
    if (isActive(st.candidate)) {
      events.push({ type: 'Normal', reason: 'CandidateStarted', message: `${newest.name} replaces ${st.candidate.version} as the candidate` });
    }
    st.candidate = startCandidate(i.spec, newest, champion, now);
    st.guard = undefined;
    if (i.spec.strategy === 'Direct') {
      st.candidate = { ...st.candidate, phase: 'Promoted', verdict: 'Promote', message: 'strategy Direct: rolled out at once', decidedAt: now };
      st.promotedVersion = newest.name;
      decisions.push({ verdict: 'Promote', version: newest.name });
    } else {
      events.push({ type: 'Normal', reason: 'CandidateStarted', message: startMessage(i.spec, st.candidate) });
    }
  }
  // A candidate the spec no longer allows to run (strategy switched to Direct mid-analysis): promote it now.
  if (isActive(st.candidate) && i.spec.strategy === 'Direct' && !i.pinned) {
    const v = i.versions.find((x) => x.name === st.candidate!.version);
    if (v && promotable(i.spec, v)) {
      st.candidate = { ...st.candidate, phase: 'Promoted', verdict: 'Promote', message: 'strategy changed to Direct: rolled out at once', decidedAt: now };
      st.promotedVersion = v.name;
      decisions.push({ verdict: 'Promote', version: v.name });
    }
  }
  if (st.candidate && !known.has(st.candidate.version)) st.candidate = undefined;
  if (st.guard && (!known.has(st.guard.version) || !known.has(st.guard.previous))) st.guard = undefined;
  return { status: clean(st), events, decisions };
}

function firstChampion(i: PromotionInputs): string {
  const known = (n: string | undefined) => (n && i.versions.some((v) => v.name === n) ? n : undefined);
  // An upgraded Model keeps what it served; a new one starts with its spec artifact.
  return known(i.legacyServing) ?? i.specVersion.name;
}

function startCandidate(spec: PromotionSpec, v: VersionRecord, champion: string, now: string): Candidate {
  const phase: CandidatePhase = spec.strategy === 'Canary' ? 'Canary' : 'Shadowing';
  return {
    version: v.name,
    champion,
    strategy: spec.strategy,
    phase,
    analysis: analysisId(v.name, now, spec.strategy === 'Canary' ? 'step0' : 'shadow'),
    ...(spec.strategy === 'Canary' ? { step: 0, stepStartedAt: now } : {}),
    startedAt: now,
  };
}

function startMessage(spec: PromotionSpec, c: Candidate): string {
  if (spec.strategy === 'Shadow') return `${c.version} is the candidate: mirroring ${spec.shadow?.mirrorPercent ?? 100}% of requests to it beside ${c.champion}`;
  const step = canarySteps(spec)[0]!;
  return `${c.version} is the candidate: canary step 1 of ${canarySteps(spec).length}, ${step.weight}% of the pods for ${step.duration}`;
}

export const canarySteps = (spec: PromotionSpec) => spec.canary?.steps ?? [{ weight: 10, duration: '5m' }, { weight: 50, duration: '5m' }];

/** The analysis round is due: the interval has passed since the last one. */
export function analysisDue(lastAnalysisTime: string | undefined, spec: PromotionSpec, now: Date): boolean {
  if (!lastAnalysisTime) return true;
  return now.getTime() - Date.parse(lastAnalysisTime) >= durationMs(spec.analysis.interval) - 50;
}

/** Milliseconds until the next round is due. */
export function nextAnalysisInMs(lastAnalysisTime: string | undefined, spec: PromotionSpec, now: Date): number {
  if (!lastAnalysisTime) return 0;
  return Math.max(0, Date.parse(lastAnalysisTime) + durationMs(spec.analysis.interval) - now.getTime());
}

/**
 * The second half: a verdict on the candidate from this round's figures.
 * Promote under policy Manual for a retrained version shows the verdict and
 * waits for a pin; otherwise it makes the candidate the champion and, with a
 * guard, starts watching it.
 */
export function judgeCandidate(state: PromotionState, spec: PromotionSpec, figures: PromotionFigures, versions: readonly VersionRecord[], nowDate: Date): PromotionState {
  const c = state.status.candidate;
  if (!isActive(c)) return state;
  const now = kubeTime(nowDate);
  const steps = canarySteps(spec);
  const step = c.step ?? 0;
  const elapsedMs = nowDate.getTime() - Date.parse(c.startedAt);
  const d: Decision = decide(figures, spec.analysis, {
    strategy: c.strategy === 'Canary' ? 'Canary' : 'Shadow',
    elapsedMs,
    deadlineMs: durationMs(spec.analysis.deadline),
    onDeadline: spec.analysis.onDeadline,
    ...(c.strategy === 'Canary'
      ? {
          stepElapsedMs: nowDate.getTime() - Date.parse(c.stepStartedAt ?? c.startedAt),
          stepMs: durationMs(steps[step]!.duration),
          stepLabel: `canary step ${step + 1} of ${steps.length} (${steps[step]!.weight}%)`,
        }
      : {}),
  });
  const events = [...state.events];
  const decisions = [...state.decisions];
  const st: PromotionStatus = { ...state.status };
  let next: Candidate = { ...c, lastAnalysisTime: now, figures, verdict: d.verdict, message: d.message };

  if (d.verdict === 'Reject') {
    next = { ...next, phase: 'Rejected', decidedAt: now };
    st.blockedVersions = block(st.blockedVersions, { version: c.version, reason: 'Rejected', message: d.message, at: now });
    events.push({ type: 'Warning', reason: 'Rejected', message: `${c.version} rejected, ${c.champion} keeps serving: ${d.message}` });
    decisions.push({ verdict: 'Reject', version: c.version });
  } else if (d.verdict === 'Promote' && c.strategy === 'Canary' && step + 1 < steps.length && elapsedMs < durationMs(spec.analysis.deadline)) {
    // The step passed: the next one, counted afresh.
    next = { ...next, verdict: 'Extend', step: step + 1, stepStartedAt: now, analysis: analysisId(c.version, c.startedAt, `step${step + 1}`) };
    events.push({ type: 'Normal', reason: 'CanaryStep', message: `${c.version} passed canary step ${step + 1} (${d.message}); step ${step + 2} of ${steps.length}: ${steps[step + 1]!.weight}% for ${steps[step + 1]!.duration}` });
  } else if (d.verdict === 'Promote') {
    const v = versions.find((x) => x.name === c.version);
    if (v && !promotable(spec, v)) {
      // Policy Manual: the verdict is shown, a person pins the version; the analysis is over (the candidate's pods go).
      next = { ...next, phase: 'Pending', decidedAt: now, message: `${d.message}; policy Manual: set spec.pinnedVersion to ${c.version} (or its sha256:) to serve it` };
      events.push({ type: 'Normal', reason: 'AwaitingManualPromotion', message: `${c.version} passed the analysis: ${next.message}` });
      decisions.push({ verdict: 'Promote', version: c.version });
      return { status: clean({ ...st, candidate: next }), events, decisions };
    }
    next = { ...next, phase: 'Promoted', decidedAt: now };
    st.promotedVersion = c.version;
    events.push({ type: 'Normal', reason: 'Promoted', message: `${c.version} promoted, replacing ${c.champion}: ${d.message}` });
    decisions.push({ verdict: 'Promote', version: c.version });
    if (spec.guard) {
      st.guard = {
        version: c.version,
        previous: c.champion,
        analysis: analysisId(c.version, now, 'guard'),
        until: kubeTime(new Date(nowDate.getTime() + durationMs(spec.guard.window))),
        baseline: figures,
        verdict: 'Watching',
        message: `watching ${c.version} for ${spec.guard.window} against ${c.champion}'s figures`,
      };
    }
  }
  st.candidate = next;
  return { status: clean(st), events, decisions };
}

/** A guard round: roll back on a regression, pass at the end of the window. */
export function judgeGuard(state: PromotionState, spec: PromotionSpec, figures: PromotionFigures, nowDate: Date): PromotionState {
  const g = state.status.guard;
  if (!guardWatching(g)) return state;
  const now = kubeTime(nowDate);
  const windowMs = durationMs(spec.guard?.window ?? '10m');
  const watchedMs = windowMs - (Date.parse(g.until) - nowDate.getTime());
  const d = decide(figures, spec.analysis, { strategy: 'Guard', elapsedMs: watchedMs, deadlineMs: windowMs, onDeadline: 'Promote', stepElapsedMs: watchedMs, stepMs: windowMs });
  const events = [...state.events];
  const decisions = [...state.decisions];
  let st: PromotionStatus = { ...state.status, guard: { ...g, figures } };
  if (d.verdict === 'Reject') {
    const message = `${g.version} regressed after promotion, rolled back to ${g.previous}: ${d.message}`;
    st = {
      ...st,
      promotedVersion: g.previous,
      guard: { ...g, figures, verdict: 'RolledBack', message },
      blockedVersions: block(st.blockedVersions, { version: g.version, reason: 'RolledBack', message, at: now }),
      ...(st.candidate?.version === g.version ? { candidate: { ...st.candidate, phase: 'RolledBack' as const, message } } : {}),
    };
    events.push({ type: 'Warning', reason: 'RolledBack', message });
    decisions.push({ verdict: 'RolledBack', version: g.version });
  } else if (d.verdict === 'Promote') {
    const message = `${g.version} held up for the guard window: ${d.message}`;
    st = { ...st, guard: { ...g, figures, verdict: 'Passed', message } };
    events.push({ type: 'Normal', reason: 'GuardPassed', message });
  } else {
    st = { ...st, guard: { ...g, figures, message: d.message } };
  }
  return { status: clean(st), events, decisions };
}

function clean(st: PromotionStatus): PromotionStatus {
  return Object.fromEntries(Object.entries(st).filter(([, v]) => v !== undefined));
}

/** The candidate's own server cannot start (a bad artifact): rejected with its message, without waiting for the deadline. */
export function rejectCandidate(state: PromotionState, message: string, nowDate: Date): PromotionState {
  const c = state.status.candidate;
  if (!isActive(c)) return state;
  const now = kubeTime(nowDate);
  const why = `the candidate's pods cannot serve: ${message}`;
  return {
    status: clean({
      ...state.status,
      candidate: { ...c, phase: 'Rejected', verdict: 'Reject', message: why, decidedAt: now, lastAnalysisTime: now },
      blockedVersions: block(state.status.blockedVersions, { version: c.version, reason: 'Rejected', message: why, at: now }),
    }),
    events: [...state.events, { type: 'Warning', reason: 'Rejected', message: `${c.version} rejected, ${c.champion} keeps serving: ${why}` }],
    decisions: [...state.decisions, { verdict: 'Reject', version: c.version }],
  };
}

/** Versions status.versions must keep while promotion refers to them. */
export function promotionKeeps(state: PromotionState): string[] {
  const s = state.status;
  return [s.candidate?.version, s.candidate?.champion, s.guard?.version, s.guard?.previous].filter((x): x is string => x !== undefined);
}
