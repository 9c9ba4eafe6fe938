// metav1.Condition helpers. lastTransitionTime changes only when status
// flips, so an unchanged condition produces an identical status and the
// operator can skip the write entirely.

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** Kubernetes timestamps have second precision (RFC 3339, no fraction). */
export const kubeTime = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/** Returns a new list with `next` set, keeping lastTransitionTime when the status is unchanged. */
export function setCondition(conditions: readonly Condition[] | undefined, next: ConditionInput, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const merged: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : kubeTime(now),
    ...(next.observedGeneration !== undefined ? { observedGeneration: next.observedGeneration } : {}),
  };
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/**
 * kstatus (Flux) and Argo CD read Reconciling/Stalled as "present only while
 * True": set the condition when true, drop it otherwise.
 */
export function setAbnormalCondition(
  conditions: readonly Condition[] | undefined,
  type: 'Reconciling' | 'Stalled',
  active: boolean,
  reason: string,
  message: string,
  observedGeneration: number | undefined,
  now: Date,
): Condition[] {
  if (!active) return removeCondition(conditions, type);
  return setCondition(conditions, { type, status: 'True', reason, message, observedGeneration }, now);
}
