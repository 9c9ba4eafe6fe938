// Capture of live inference rows for drift checks: a sampled, bounded ring
// of recent rows, read back as JSON Lines whose keys are the Model's feature
// names (what the drift engine compares with the reference data set), plus
// `_output` (the model's answer for the row) and `_ts` (when it was served).
//
// The hot path only stores references to the request's tensors and a row
// index; building the JSON happens when the drift check reads the samples.
import { jsonElement, type HostTensor, type Tensors } from './datatypes.js';
import type { ModelSignature } from './model-signature.js';
import { RingBuffer } from './ring-buffer.js';
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

export class SampleCapture {
  private readonly ring: RingBuffer<CapturedRow>;
  private readonly random: () => number;

  constructor(private readonly o: SampleCaptureOptions) {
    this.ring = new RingBuffer(o.bufferSize);
    this.random = o.random ?? Math.random;
  }

  get size(): number {
    return this.ring.size;
  }

  /** Called after a successful inference with the request's inputs and its (full) outputs. */
  capture(inputs: Tensors, outputs: Tensors, ts = Date.now()): void {
    if (this.o.rate <= 0) return;
    const rows = rowsOf(inputs, outputs);
    if (rows === undefined) return;
    for (let row = 0; row < rows; row++) {
      if (this.o.rate >= 1 || this.random() < this.o.rate) this.ring.push({ inputs, outputs, row, ts });
    }
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
    return this.ring.snapshot(limit).map((r) => [r.ts, JSON.stringify(this.record(r)) + '\n']);
  }

  /** The newest `limit` rows (all by default), oldest first, as JSON Lines in chunks of `chunkRows`. */
  *jsonLines(limit?: number, chunkRows = 1000): Generator<string> {
    const rows = this.ring.snapshot(limit);
    for (let i = 0; i < rows.length; i += chunkRows) {
      let chunk = '';
      for (const r of rows.slice(i, i + chunkRows)) chunk += JSON.stringify(this.record(r)) + '\n';
      yield chunk;
    }
  }
}
