// Capture of live inference rows for drift checks: a sampled, bounded ring
// of recent rows, read back as JSON Lines whose keys are the Model's feature
// names (what the drift engine compares with the reference data set), plus
// `_output` (the model's answer for the row) and `_ts` (when it was served).
//
// The hot path copies a numeric row's values into preallocated typed arrays
// (the common tabular case) and keeps no object of the request. Keeping the
// last 10,000 requests' tensors by reference moved them all into V8's old
// generation: at 64 concurrent clients that cost 17 % of the throughput and
// took the p99 from 4.3 to 11.3 ms (`npm run profile:serve`: garbage
// collection 9.7 % of the CPU, 3.8 % after). Rows of other kinds (strings,
// booleans, 64-bit integers, more than one output) keep references.
// The JSON is built when the drift check reads the samples.
import { infoOf, jsonElement, type HostTensor, type Tensors } from './datatypes.js';
import type { ModelSignature } from './model-signature.js';
import { rowJson, rowStride } from './tensor-ops.js';

export interface Feature {
  name: string;
  type: 'numeric' | 'categorical';
}

/** Where a feature's value sits in a request: a column of an input, or the whole row of it. */
export interface FeatureColumn {
  key: string;
  input: string;
  column: number | 'row';
}

export interface FeatureLayout {
  columns: FeatureColumn[];
  /** Set when the features do not fit the model and input names are used instead. */
  warning?: string;
}

/**
 * Maps the Model's features onto the model's inputs: one 2-D input whose
 * columns are the features in order (the common tabular layout), or one
 * input per feature named after it. Anything else falls back to input names.
 */
export function resolveFeatureLayout(features: readonly Feature[], sig: ModelSignature): FeatureLayout {
  const only = sig.inputs.length === 1 ? sig.inputs[0] : undefined;
  const width = only?.rankKnown && only.shape.length === 2 ? only.shape[1] : undefined;
  if (only && features.length > 0 && width !== undefined && (width === -1 || width === features.length)) {
    return { columns: features.map((f, i) => ({ key: f.name, input: only.name, column: i })) };
  }
  const names = new Set(sig.inputs.map((s) => s.name));
  if (features.length > 0 && features.every((f) => names.has(f.name))) {
    return { columns: features.map((f) => ({ key: f.name, input: f.name, column: 0 })) };
  }
  const columns = sig.inputs.map((s) => ({ key: s.name, input: s.name, column: 'row' as const }));
  if (features.length === 0) return { columns };
  return {
    columns,
    warning:
      `the ${features.length} features (${features.map((f) => f.name).join(', ')}) match neither the columns of a single 2-D input ` +
      `nor the input names (${sig.inputs.map((s) => s.name).join(', ')}); samples use input names as keys`,
  };
}

interface CapturedRow {
  inputs: Tensors;
  outputs: Tensors;
  row: number;
  ts: number;
}

export interface SampleCaptureOptions {
  /** Fraction of rows kept, 0..1. */
  rate: number;
  bufferSize: number;
  layout: FeatureLayout;
  random?: () => number;
}

/** Rows a request holds, if inputs and outputs agree on dimension 0; undefined otherwise. */
function rowsOf(inputs: Tensors, outputs: Tensors): number | undefined {
  let rows: number | undefined;
  for (const t of [...inputs.values(), ...outputs.values()]) {
    const r = t.shape[0];
    if (r === undefined || (rows !== undefined && r !== rows)) return undefined;
    rows = r;
  }
  return rows;
}

function rowValue(t: HostTensor, row: number, column: number | 'row'): unknown {
  return column === 'row' ? rowJson(t, row) : jsonElement(t.data, t.datatype, row * rowStride(t.shape) + column);
}

/** Numeric rows, copied: per slot, each layout column's elements, then the output row's. */
interface NumericStore {
  /** Elements per layout column: 1 for a column of an input, the row's size for a whole-row column. */
  columnWidths: number[];
  /** The single output's elements per row. */
  outputStride: number;
  width: number;
  values: Float64Array;
}

/** Elements that read as plain numbers (not BOOL, 64-bit integers or BYTES), so a Float64Array holds them exactly as rowJson would write them. */
const isPlainNumeric = (t: HostTensor) => {
  const kind = infoOf(t.datatype).kind;
  return kind === 'float' || kind === 'int';
};

/** A whole row of `width` elements as rowJson writes it: a number when the row has one element. */
const rowValueOf = (values: Float64Array, at: number, width: number) => (width === 1 ? values[at] : Array.from(values.subarray(at, at + width)));

export class SampleCapture {
  readonly capacity: number;
  private readonly random: () => number;
  private next = 0;
  private count = 0;
  private readonly ts: Float64Array;
  /** Rows kept by reference; undefined where the slot's row is in `numeric`. */
  private readonly refs: (CapturedRow | undefined)[];
  private numeric: NumericStore | undefined;

  constructor(private readonly o: SampleCaptureOptions) {
    const capacity = o.bufferSize;
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`sample buffer size must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.ts = new Float64Array(capacity);
    this.refs = new Array<CapturedRow | undefined>(capacity);
    this.random = o.random ?? Math.random;
  }

  get size(): number {
    return this.count;
  }

  /** Called after a successful inference with the request's inputs and its (full) outputs. */
  capture(inputs: Tensors, outputs: Tensors, ts = Date.now()): void {
    if (this.o.rate <= 0) return;
    const rows = rowsOf(inputs, outputs);
    if (rows === undefined) return;
    const store = this.numericStoreFor(inputs, outputs);
    for (let row = 0; row < rows; row++) {
      if (this.o.rate < 1 && this.random() >= this.o.rate) continue;
      const slot = this.next;
      this.next = (slot + 1) % this.capacity;
      if (this.count < this.capacity) this.count++;
      this.ts[slot] = ts;
      if (store) {
        this.refs[slot] = undefined;
        this.copyRow(store, slot, inputs, outputs, row);
      } else this.refs[slot] = { inputs, outputs, row, ts };
    }
  }

  /** The store a request's rows can be copied into, or undefined when they must be kept by reference. */
  private numericStoreFor(inputs: Tensors, outputs: Tensors): NumericStore | undefined {
    if (outputs.size !== 1) return undefined;
    const out = outputs.values().next().value as HostTensor;
    if (!isPlainNumeric(out)) return undefined;
    const columnWidths: number[] = [];
    for (const c of this.o.layout.columns) {
      const t = inputs.get(c.input);
      if (!t || !isPlainNumeric(t)) return undefined;
      const stride = rowStride(t.shape);
      if (c.column !== 'row' && c.column >= stride) return undefined;
      columnWidths.push(c.column === 'row' ? stride : 1);
    }
    const outputStride = rowStride(out.shape);
    if (!this.numeric) {
      const width = columnWidths.reduce((n, w) => n + w, outputStride);
      this.numeric = { columnWidths, outputStride, width, values: new Float64Array(this.capacity * width) };
    }
    const n = this.numeric;
    // The first copied request fixes the widths; a request of other widths is kept by reference.
    return n.outputStride === outputStride && n.columnWidths.every((w, i) => w === columnWidths[i]) ? n : undefined;
  }

  private copyRow(store: NumericStore, slot: number, inputs: Tensors, outputs: Tensors, row: number): void {
    const { values, width, outputStride, columnWidths } = store;
    let at = slot * width;
    const columns = this.o.layout.columns;
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i] as FeatureColumn;
      const t = inputs.get(c.input) as HostTensor;
      if (c.column === 'row') {
        const w = columnWidths[i] as number;
        for (let j = 0; j < w; j++) values[at++] = t.data[row * w + j] as number;
      } else values[at++] = t.data[row * rowStride(t.shape) + c.column] as number;
    }
    const out = (outputs.values().next().value as HostTensor).data;
    for (let i = 0; i < outputStride; i++) values[at++] = out[row * outputStride + i] as number;
  }

  /** Slots of the newest `limit` rows (all by default), oldest first. */
  private slots(limit = this.count): number[] {
    const n = Math.max(0, Math.min(limit, this.count));
    const start = (this.next - n + this.capacity) % this.capacity;
    return Array.from({ length: n }, (_, i) => (start + i) % this.capacity);
  }

  private recordAt(slot: number): Record<string, unknown> {
    const ref = this.refs[slot];
    if (ref) return this.record(ref);
    const { values, width, outputStride, columnWidths } = this.numeric as NumericStore;
    const rec: Record<string, unknown> = {};
    let at = slot * width;
    const columns = this.o.layout.columns;
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i] as FeatureColumn;
      const w = columnWidths[i] as number;
      rec[c.key] = c.column === 'row' ? rowValueOf(values, at, w) : values[at];
      at += w;
    }
    rec._output = rowValueOf(values, at, outputStride);
    rec._ts = new Date(this.ts[slot] as number).toISOString();
    return rec;
  }

  private record(r: CapturedRow): Record<string, unknown> {
    const rec: Record<string, unknown> = {};
    for (const c of this.o.layout.columns) {
      const t = r.inputs.get(c.input);
      if (t) rec[c.key] = rowValue(t, r.row, c.column);
    }
    if (r.outputs.size === 1) {
      const only = r.outputs.values().next().value as HostTensor;
      rec._output = rowValue(only, r.row, 'row');
    } else {
      const out: Record<string, unknown> = {};
      for (const [name, t] of r.outputs) out[name] = rowValue(t, r.row, 'row');
      rec._output = out;
    }
    rec._ts = new Date(r.ts).toISOString();
    return rec;
  }

  /** The newest `limit` rows (all by default), oldest first, each as [capture time (ms), JSON line]: a pod merges its workers' rows by time. */
  timedLines(limit?: number): [number, string][] {
    return this.slots(limit).map((slot) => [this.ts[slot] as number, JSON.stringify(this.recordAt(slot)) + '\n']);
  }

  /** The newest `limit` rows (all by default), oldest first, as JSON Lines in chunks of `chunkRows`. */
  *jsonLines(limit?: number, chunkRows = 1000): Generator<string> {
    const slots = this.slots(limit);
    for (let i = 0; i < slots.length; i += chunkRows) {
      let chunk = '';
      for (const slot of slots.slice(i, i + chunkRows)) chunk += JSON.stringify(this.recordAt(slot)) + '\n';
      yield chunk;
    }
  }
}
