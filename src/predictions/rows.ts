// Logged requests as rows: the Model's features as columns (what the drift
// engine and the trainer take), a model output as a column, and an id per
// row for joining labels.
//
// Features are found in a request the way the server's sample capture finds
// them (src/serving/sample-capture.ts resolveFeatureLayout): the columns of a
// single 2-D input, in the Model's feature order, or one input per feature,
// named after it. Here only the logged tensors are known (no model file), so
// the layout is read from each record.
import { ProblemList, rowsOfRecord, type LoggedRecord, type LoggedTensor } from './log-reader.js';

export interface FeatureSpec {
  name: string;
  type: 'numeric' | 'categorical';
}

export type Column = Float64Array | (string | null)[];

export interface RowTable {
  columns: Record<string, Column>;
  rows: number;
  /** Per row: the request id, or "<id>/<row>" for row `row` of a request of several rows. */
  ids: string[];
  /** Per row: the request's time (ms since the epoch). */
  times: Float64Array;
  /** Per row: the version that answered. */
  versions: string[];
  /** Requests whose tensors do not fit the features or the output asked for (skipped, counted). */
  problems: ProblemList;
}

/** The id of row `row` of a request of `rows` rows: a label for a single-row request uses the request id as is. */
export const rowId = (id: string, row: number, rows: number): string => (rows === 1 ? id : `${id}/${row}`);

/** Elements per row of a tensor (product of the dimensions after the first). */
const stride = (t: LoggedTensor) => t.shape.slice(1).reduce((a, b) => a * b, 1);

type Getter = (r: LoggedRecord, row: number) => unknown;

/** How to read each feature from a record, or why the record does not hold them. */
function featureGetters(r: LoggedRecord, features: readonly FeatureSpec[]): Getter[] | string {
  const only = r.inputs.length === 1 ? r.inputs[0]! : undefined;
  if (only && only.shape.length === 2 && only.shape[1] === features.length) {
    return features.map((_, i) => (rec: LoggedRecord, row: number) => rec.inputs[0]!.data[row * features.length + i]);
  }
  const byName = new Map(r.inputs.map((t, i) => [t.name, i]));
  if (features.every((f) => byName.has(f.name))) {
    return features.map((f) => {
      const i = byName.get(f.name)!;
      return (rec: LoggedRecord, row: number) => rec.inputs[i]!.data[row * stride(rec.inputs[i]!)];
    });
  }
  const inputs = r.inputs.map((t) => `${t.name}${JSON.stringify(t.shape)}`).join(', ');
  return (
    `its inputs (${inputs}) hold the ${features.length} features (${features.map((f) => f.name).join(', ')}) ` +
    'neither as the columns of a single 2-D input nor as inputs named after them'
  );
}

/** Where a model output's value sits: the output tensor's name and the element of its row (e.g. 1 for P(class 1) of [N, 2] probabilities). */
export interface OutputSelector {
  output: string;
  index?: number;
}

function outputGetter(r: LoggedRecord, sel: OutputSelector): Getter | string {
  const i = r.outputs.findIndex((t) => t.name === sel.output);
  if (i < 0) return `it has no output "${sel.output}" (outputs: ${r.outputs.map((t) => t.name).join(', ') || 'none'})`;
  const index = sel.index ?? 0;
  const width = stride(r.outputs[i]!);
  if (index >= width) return `output "${sel.output}" has ${width} value(s) per row, so index ${index} does not exist`;
  return (rec, row) => rec.outputs[i]!.data[row * width + index];
}

const numeric = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : Number.NaN);
const label = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
};

export interface RowTableOptions {
  features?: readonly FeatureSpec[];
  /** Model outputs to add as columns, keyed by the column name to give them. */
  outputs?: ReadonlyMap<string, OutputSelector & { type: 'numeric' | 'categorical' }>;
}

/**
 * The records as rows. A record that lacks a feature or an output asked for
 * (e.g. from a version with other inputs) is skipped whole and counted in
 * `problems`, so every column has the same rows.
 */
export function toRowTable(records: readonly LoggedRecord[], o: RowTableOptions): RowTable {
  const features = o.features ?? [];
  type NamedOutput = [string, OutputSelector & { type: 'numeric' | 'categorical' }];
  const outputs: NamedOutput[] = o.outputs ? [...o.outputs] : [];
  const problems = new ProblemList();
  const usable: { r: LoggedRecord; get: Getter[] }[] = [];
  let rows = 0;
  for (const r of records) {
    const feats = features.length ? featureGetters(r, features) : [];
    const outs = outputs.map(([, sel]) => outputGetter(r, sel));
    const problem = typeof feats === 'string' ? feats : outs.find((g): g is string => typeof g === 'string');
    if (problem !== undefined) {
      problems.add({ uri: `request ${r.id}`, message: `skipped: ${problem}` });
      continue;
    }
    usable.push({ r, get: [...(feats as Getter[]), ...(outs as Getter[])] });
    rows += rowsOfRecord(r);
  }
  const specs: { key: string; type: 'numeric' | 'categorical' }[] = [...features.map((f) => ({ key: f.name, type: f.type })), ...outputs.map(([key, sel]) => ({ key, type: sel.type }))];
  const columns: Record<string, Column> = {};
  for (const s of specs) columns[s.key] = s.type === 'numeric' ? new Float64Array(rows) : new Array<string | null>(rows);
  const ids = new Array<string>(rows);
  const times = new Float64Array(rows);
  const versions = new Array<string>(rows);
  let at = 0;
  for (const { r, get } of usable) {
    const n = rowsOfRecord(r);
    for (let row = 0; row < n; row++, at++) {
      ids[at] = rowId(r.id, row, n);
      times[at] = r.time;
      versions[at] = r.version;
      for (let c = 0; c < specs.length; c++) {
        const v = get[c]!(r, row);
        const col = columns[specs[c]!.key]!;
        if (col instanceof Float64Array) col[at] = numeric(v);
        else col[at] = label(v);
      }
    }
  }
  return { columns, rows, ids, times, versions, problems };
}
