// Turning one request input (JSON `data`, flat or nested row-major, or the
// bytes of the binary tensor extension) into a typed tensor, checking every
// element against the datatype. Messages name the input and the element, so a
// client can fix its request from the 400 alone.
import { Buffer } from 'node:buffer';
import { FP32_MAX, type DatatypeInfo, type NumericArray, type TensorData } from './datatypes.js';
import { badRequest } from './http-error.js';

export interface DecodeOptions {
  /** Accept NaN and ±Infinity in FP32/FP64 inputs (models that impute missing values). */
  allowNonFinite: boolean;
}

const MAX_NESTING = 32;

const show = (v: unknown): string => {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

/** Leaves of a possibly nested array; refuses absurd nesting before walking it. */
export function leafCount(data: readonly unknown[], name: string, depth = 0): number {
  let n = 0;
  for (const v of data) {
    if (Array.isArray(v)) {
      if (depth + 1 >= MAX_NESTING) throw badRequest(`input "${name}": data is nested more than ${MAX_NESTING} levels deep`);
      n += leafCount(v as unknown[], name, depth + 1);
    } else n++;
  }
  return n;
}

function forEachLeaf(data: readonly unknown[], put: (v: unknown, i: number) => void): void {
  let i = 0;
  const walk = (arr: readonly unknown[]) => {
    for (const v of arr) {
      if (Array.isArray(v)) walk(v as unknown[]);
      else put(v, i++);
    }
  };
  walk(data);
}

const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

function floatConverter(info: DatatypeInfo, name: string, o: DecodeOptions, out: Float32Array | Float64Array) {
  const fp32 = info.v2 === 'FP32';
  return (v: unknown, i: number) => {
    let x: number | undefined = typeof v === 'number' ? v : typeof v === 'string' ? NON_FINITE[v] : undefined;
    if (x === undefined) throw badRequest(`input "${name}": element ${i} is not a number (got ${show(v)})`);
    if (fp32 && Number.isFinite(x) && Math.abs(x) > FP32_MAX) {
      if (!o.allowNonFinite) throw badRequest(`input "${name}": element ${i} (${x}) is out of the FP32 range`);
      x = x > 0 ? Infinity : -Infinity;
    }
    if (!o.allowNonFinite && !Number.isFinite(x)) {
      throw badRequest(`input "${name}": element ${i} is ${x}; this server does not accept NaN or infinite values`);
    }
    out[i] = x;
  };
}

const INT_STRING = /^-?[0-9]{1,20}$/;

function intConverter(info: DatatypeInfo, name: string, out: NumericArray) {
  const min = info.min ?? 0;
  const max = info.max ?? 0;
  const big = info.kind === 'bigint';
  const bigOut = out as BigInt64Array | BigUint64Array;
  const numOut = out as Int32Array;
  return (v: unknown, i: number) => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) {
      if (big) bigOut[i] = BigInt(v);
      else numOut[i] = v;
      return;
    }
    // Decimal strings carry INT64/UINT64 values beyond 2^53 exactly.
    if (big && typeof v === 'string' && INT_STRING.test(v)) {
      const b = BigInt(v);
      if (b >= BigInt(min) && b <= BigInt(max)) {
        bigOut[i] = b;
        return;
      }
    }
    const what = typeof v === 'number' && Number.isInteger(v) ? `out of the ${info.v2} range` : `not an integer`;
    throw badRequest(`input "${name}": element ${i} is ${what} (got ${show(v)})`);
  };
}

function boolConverter(name: string, out: Uint8Array) {
  return (v: unknown, i: number) => {
    if (v === true || v === 1) out[i] = 1;
    else if (v === false || v === 0) out[i] = 0;
    else throw badRequest(`input "${name}": element ${i} is not a boolean (got ${show(v)})`);
  };
}

/** Converts JSON `data` whose leaf count the caller has checked against the shape. */
export function decodeJsonData(info: DatatypeInfo, name: string, data: readonly unknown[], count: number, o: DecodeOptions): TensorData {
  if (info.kind === 'bytes') {
    const out: string[] = new Array<string>(count);
    forEachLeaf(data, (v, i) => {
      if (typeof v !== 'string') throw badRequest(`input "${name}": element ${i} is not a string (got ${show(v)})`);
      out[i] = v;
    });
    return out;
  }
  if (!info.alloc) throw badRequest(`input "${name}": datatype ${info.v2} is not supported by this server`);
  const out = info.alloc(count);
  const put =
    info.kind === 'float'
      ? floatConverter(info, name, o, out as Float32Array)
      : info.kind === 'bool'
        ? boolConverter(name, out as Uint8Array)
        : intConverter(info, name, out);
  forEachLeaf(data, put);
  return out;
}

/** Decodes `size`-prefixed BYTES elements (4-byte little-endian length, then the bytes). */
function decodeBinaryBytes(name: string, bytes: Buffer, count: number): string[] {
  const out: string[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (off + 4 > bytes.length) throw badRequest(`input "${name}": binary BYTES data ends inside a length prefix`);
    const len = bytes.readUInt32LE(off);
    off += 4;
    if (off + len > bytes.length) throw badRequest(`input "${name}": binary BYTES element ${out.length} runs past the end of its data`);
    out.push(bytes.toString('utf8', off, off + len));
    off += len;
  }
  if (out.length !== count) throw badRequest(`input "${name}": shape needs ${count} elements, got ${out.length} in binary data`);
  return out;
}

/** Converts binary-extension bytes of one input; `shapeText` is for messages. */
export function decodeBinaryData(info: DatatypeInfo, name: string, bytes: Buffer, count: number, shapeText: string, o: DecodeOptions): TensorData {
  if (info.kind === 'bytes') return decodeBinaryBytes(name, bytes, count);
  if (!info.alloc) throw badRequest(`input "${name}": datatype ${info.v2} is not supported by this server`);
  if (bytes.length !== count * info.size) {
    throw badRequest(
      `input "${name}": shape ${shapeText} needs ${count} elements (${count * info.size} bytes of ${info.v2}), got ${bytes.length} bytes`,
    );
  }
  const out = info.alloc(count);
  // Copy rather than view: the body buffer's offset need not be aligned for the element size.
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  if (info.kind === 'bool') {
    const b = out as Uint8Array;
    for (let i = 0; i < b.length; i++) if (b[i] !== 0) b[i] = 1;
  }
  if (info.kind === 'float' && !o.allowNonFinite) {
    const f = out as Float32Array;
    for (let i = 0; i < f.length; i++) {
      if (!Number.isFinite(f[i])) throw badRequest(`input "${name}": element ${i} is ${f[i]}; this server does not accept NaN or infinite values`);
    }
  }
  return out;
}
