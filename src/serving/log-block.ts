// One future prediction log object while it fills: the records of up to
// maxBatchRecords requests of one UTC hour, copied out of the requests.
//
// A record keeps no object of its request. Its id (as JSON text) and the raw
// bytes of its tensors' data go into one growable byte buffer per block;
// names, datatypes and shapes go into a layout that consecutive requests of
// the same form share; its time into a typed array. Holding the requests'
// tensors themselves until their batch was written (up to maxBufferedRecords
// of them, for a flush interval) promoted them all to V8's old generation,
// where collecting them costs far more than a copy of a few bytes per request
// (the same cost sample-capture.ts avoids). It also held on to whatever the
// tensors were views of: a batch's whole output, a gRPC message.
//
// The JSON lines are built from these bytes when the block is written, off
// the request path, the same as JSON.stringify of the record would give.
import type { HostTensor, NumericArray, Tensors, V2Datatype } from './datatypes.js';

/** UTC hours since the epoch: a record's date/hour partition, compared as a number. */
export const hourOf = (ms: number) => Math.floor(ms / 3_600_000);

type NumericArrayConstructor = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
};

/** Element access common to every typed array (a value read from one array goes into another of its type). */
type Indexable = { [i: number]: number | bigint };

/** One tensor's form: what every record of a layout has in common. */
interface TensorLayout {
  name: string;
  datatype: V2Datatype;
  shape: number[];
  /** Elements of its data. */
  length: number;
  /** The typed array its data came in, or undefined for BYTES (kept as the JSON text of its strings). */
  type: NumericArrayConstructor | undefined;
  /** The record's JSON for this tensor up to its data: {"name":…,"datatype":…,"shape":[…],"data": */
  head: string;
}

interface RecordLayout {
  inputs: TensorLayout[];
  outputs: TensorLayout[];
}

/** Data is stored aligned for its typed array (8 covers BigInt64 and Float64). */
const ALIGN = 8;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const INITIAL_BYTES = 64 * 1024;
/** New layouts are looked for among this many recent ones: traffic of varied forms costs a bounded search. */
const LAYOUT_SEARCH = 8;

function tensorLayout(name: string, t: HostTensor): TensorLayout {
  const head = `{"name":${JSON.stringify(name)},"datatype":${JSON.stringify(t.datatype)},"shape":${JSON.stringify(t.shape)},"data":`;
  const type = Array.isArray(t.data) ? undefined : (t.data.constructor as NumericArrayConstructor);
  return { name, datatype: t.datatype, shape: [...t.shape], length: t.data.length, type, head };
}

function sameTensors(layout: readonly TensorLayout[], tensors: Tensors): boolean {
  if (layout.length !== tensors.size) return false;
  let i = 0;
  for (const [name, t] of tensors) {
    const l = layout[i++] as TensorLayout;
    if (l.name !== name || l.datatype !== t.datatype || l.length !== t.data.length || l.shape.length !== t.shape.length) return false;
    if (l.type !== (Array.isArray(t.data) ? undefined : t.data.constructor)) return false;
    for (let k = 0; k < l.shape.length; k++) if (l.shape[k] !== t.shape[k]) return false;
  }
  return true;
}

/** A typed array's elements as a JSON array, as JSON.stringify(jsonElements(t)) writes them. */
function numericJson(datatype: V2Datatype, view: NumericArray): string {
  if (datatype === 'BOOL') {
    let s = '[';
    for (let i = 0; i < view.length; i++) s += (i ? ',' : '') + (view[i] !== 0 ? 'true' : 'false');
    return s + ']';
  }
  if (view instanceof BigInt64Array || view instanceof BigUint64Array) {
    // As JSON numbers, through Number (exact up to 2^53), as the V2 JSON answers write them.
    let s = '[';
    for (let i = 0; i < view.length; i++) s += (i ? ',' : '') + JSON.stringify(Number(view[i]));
    return s + ']';
  }
  // join writes each number as String() does, which is JSON's form for finite
  // numbers; only NaN and ±Infinity (with --allow-nan) differ: JSON has null.
  const joined = view.join(',');
  if (!/[NI]/.test(joined)) return `[${joined}]`;
  let s = '[';
  for (let i = 0; i < view.length; i++) s += (i ? ',' : '') + JSON.stringify(view[i]);
  return s + ']';
}

export class LogBlock {
  count = 0;
  private times: Float64Array;
  /** Where each record's bytes start. */
  private starts: Float64Array;
  private layoutOf: Uint32Array;
  private readonly layouts: RecordLayout[] = [];
  private bytes: Buffer;
  /** Typed views of `bytes`, one per array type copied so far (made again when `bytes` grows). */
  private views = new Map<NumericArrayConstructor, NumericArray>();
  private used = 0;
  /** Where lines() reads next. */
  private at = 0;

  constructor(
    /** hourOf() of its records. */
    readonly hour: number,
    readonly capacity: number,
  ) {
    this.times = new Float64Array(capacity);
    this.starts = new Float64Array(capacity);
    this.layoutOf = new Uint32Array(capacity);
    // A Buffer of its own (not a slice of Node's pool): views of it start aligned.
    this.bytes = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  get firstTime(): number {
    return this.times[0] as number;
  }

  /** Copies one record in; the caller checks `full` and the hour first. */
  append(id: string, time: number, inputs: Tensors, outputs: Tensors): void {
    const i = this.count;
    this.times[i] = time;
    this.layoutOf[i] = this.layoutFor(inputs, outputs);
    this.starts[i] = this.used;
    this.writeText(JSON.stringify(id));
    this.writeTensors(inputs);
    this.writeTensors(outputs);
    this.count = i + 1;
  }

  /** Records [from, to) as JSON lines. */
  lines(from: number, to: number, modelJson: string, versionJson: string): string {
    let out = '';
    // Consecutive records often share a millisecond: one ISO string for them.
    let lastMs = NaN;
    let time = '';
    for (let i = from; i < to; i++) {
      const layout = this.layouts[this.layoutOf[i] as number] as RecordLayout;
      this.at = this.starts[i] as number;
      const idJson = this.readText();
      const inputs = this.readTensors(layout.inputs);
      const outputs = this.readTensors(layout.outputs);
      const ms = this.times[i] as number;
      if (ms !== lastMs) [lastMs, time] = [ms, new Date(ms).toISOString()];
      out += `{"id":${idJson},"model":${modelJson},"version":${versionJson},"time":"${time}","inputs":[${inputs}],"outputs":[${outputs}]}\n`;
    }
    return out;
  }

  /** Lets go of the memory once the block is encoded (a write may still be retried for a while). */
  release(): void {
    this.bytes = Buffer.alloc(0);
    this.views.clear();
    this.times = new Float64Array(0);
    this.starts = new Float64Array(0);
    this.layoutOf = new Uint32Array(0);
    this.layouts.length = 0;
  }

  private layoutFor(inputs: Tensors, outputs: Tensors): number {
    for (let k = this.layouts.length - 1; k >= Math.max(0, this.layouts.length - LAYOUT_SEARCH); k--) {
      const l = this.layouts[k] as RecordLayout;
      if (sameTensors(l.inputs, inputs) && sameTensors(l.outputs, outputs)) return k;
    }
    const layout = { inputs: [...inputs].map(([n, t]) => tensorLayout(n, t)), outputs: [...outputs].map(([n, t]) => tensorLayout(n, t)) };
    return this.layouts.push(layout) - 1;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.bytes.byteLength) return;
    let size = this.bytes.byteLength * 2;
    while (size < this.used + n) size *= 2;
    const bigger = Buffer.allocUnsafeSlow(size);
    this.bytes.copy(bigger, 0, 0, this.used);
    this.bytes = bigger;
    this.views.clear();
  }

  /** A view of `bytes` as `type` (its byteOffset is 0: allocUnsafeSlow gives a buffer of its own). */
  private view(type: NumericArrayConstructor): NumericArray {
    let v = this.views.get(type);
    if (!v) {
      v = new type(this.bytes.buffer as ArrayBuffer, this.bytes.byteOffset, Math.floor(this.bytes.byteLength / type.BYTES_PER_ELEMENT));
      this.views.set(type, v);
    }
    return v;
  }

  /** A string as its UTF-8 length (4 bytes) and bytes, then padding to the alignment. */
  private writeText(s: string): void {
    this.reserve(4 + 3 * s.length + ALIGN);
    const n = this.bytes.write(s, this.used + 4, 'utf8');
    this.bytes.writeUInt32LE(n, this.used);
    this.used = align(this.used + 4 + n);
  }

  private readText(): string {
    const n = this.bytes.readUInt32LE(this.at);
    const s = this.bytes.toString('utf8', this.at + 4, this.at + 4 + n);
    this.at = align(this.at + 4 + n);
    return s;
  }

  private writeTensors(tensors: Tensors): void {
    for (const t of tensors.values()) {
      if (Array.isArray(t.data)) {
        this.writeText(JSON.stringify(t.data));
        continue;
      }
      const d = t.data;
      this.reserve(d.byteLength + ALIGN);
      // Same type on both sides: a plain copy of the bytes, and no view object made per request.
      const v = this.view(d.constructor as NumericArrayConstructor);
      const at = this.used / d.BYTES_PER_ELEMENT;
      if (d.length <= 16) for (let k = 0; k < d.length; k++) (v as Indexable)[at + k] = (d as Indexable)[k] as number | bigint;
      else (v as Float64Array).set(d as Float64Array, at);
      this.used = align(this.used + d.byteLength);
    }
  }

  private readTensors(layout: readonly TensorLayout[]): string {
    let out = '';
    for (let k = 0; k < layout.length; k++) {
      const l = layout[k] as TensorLayout;
      let data: string;
      if (l.type === undefined) data = this.readText();
      else {
        data = numericJson(l.datatype, new l.type(this.bytes.buffer as ArrayBuffer, this.bytes.byteOffset + this.at, l.length));
        this.at = align(this.at + l.length * l.type.BYTES_PER_ELEMENT);
      }
      out += `${k ? ',' : ''}${l.head}${data}}`;
    }
    return out;
  }
}
