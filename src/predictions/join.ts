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
  // Newest row first: the first time an id is seen is its latest row, and a
  // distinct id with a label is one matched label, so one set and one lookup
  // per row do the whole join (this is the hot loop of a large window).
  const seen = new Set<string>();
  const rowsNewestFirst: number[] = [];
  const labelsNewestFirst: LabelValue[] = [];
  for (let i = ids.length - 1; i >= 0; i--) {
    const id = ids[i]!;
    const before = seen.size;
    seen.add(id);
    if (seen.size === before) continue; // a later row carries this id
    const label = labels.get(id);
    if (label === undefined) continue;
    rowsNewestFirst.push(i);
    labelsNewestFirst.push(label);
  }
  const n = rowsNewestFirst.length;
  const rows = new Int32Array(n);
  const joined = new Array<LabelValue>(n);
  for (let k = 0; k < n; k++) {
    rows[k] = rowsNewestFirst[n - 1 - k]!;
    joined[k] = labelsNewestFirst[n - 1 - k]!;
  }
  return {
    rows,
    labels: joined,
    predictions: ids.length,
    duplicateIds: ids.length - seen.size,
    unmatchedLabels: labels.size - n,
    coverage: seen.size === 0 ? 0 : n / seen.size,
  };
}
