// Which serving version a streak of drifted verdicts belongs to. Pure logic.
//
// consecutiveDriftChecks counts verdicts in a row that found drift (or
// degraded performance). Those verdicts judge the version that served while
// they were taken: after a promotion or a rollback, the old version's streak
// says nothing about the new one, so a verdict while another version serves
// starts a new streak. Without this, the streak that started a retrain would
// carry over to the retrained version, and its first drifted check would
// start another retrain at once.
import type { DriftMonitorStatus } from '../api/index.js';

/**
 * `prev` as the base of a verdict taken while `servingVersion` serves: the
 * streak of another version does not carry over (consecutiveDriftChecks 0),
 * and streakVersion names the version the streak now belongs to. A status
 * without streakVersion (written before it existed) keeps its streak.
 */
export function streakBase(prev: DriftMonitorStatus, servingVersion: string | undefined): DriftMonitorStatus {
  const base: DriftMonitorStatus = { ...prev };
  if (prev.streakVersion !== undefined && prev.streakVersion !== servingVersion) base.consecutiveDriftChecks = 0;
  if (servingVersion) base.streakVersion = servingVersion;
  else delete base.streakVersion;
  return base;
}
