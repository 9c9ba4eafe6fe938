// Joins logged prediction rows with their labels by id.
//
// An id logged more than once (a client that reuses ids, or retries a request
// that was answered) is ambiguous: the label is joined to its latest row
// only, and the earlier rows are counted, not judged twice.
import type { LabelValue } from './labels.js';

export interface JoinResult {
  /** Row indexes (into the prediction rows) that have a label, in row order. */
  rows: Int32Array;
  /** The label of each joined row. */
  labels: LabelValue[];
  /** Prediction rows in the window. */
  predictions: number;
  /** Rows not joined because a later row carries the same id. */
  duplicateIds: number;
  /** Labels whose id matches no prediction row of the window (unknown ids, or predictions outside it). */
  unmatchedLabels: number;
  /** Joined rows / distinct prediction ids (0 when there are none). */
  coverage: number;
}

export function joinLabels(ids: readonly string[], labels: ReadonlyMap<string, LabelValue>): JoinResult {
  const latest = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) latest.set(ids[i]!, i);
  const duplicateIds = ids.length - latest.size;
  const rows: number[] = [];
  const joined: LabelValue[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (latest.get(id) !== i) continue;
    const label = labels.get(id);
    if (label === undefined) continue;
    rows.push(i);
    joined.push(label);
  }
  let matchedIds = 0;
  for (const id of labels.keys()) if (latest.has(id)) matchedIds++;
  return {
    rows: Int32Array.from(rows),
    labels: joined,
    predictions: ids.length,
    duplicateIds,
    unmatchedLabels: labels.size - matchedIds,
    coverage: latest.size === 0 ? 0 : rows.length / latest.size,
  };
}
