// Open Inference Protocol (V2) tensor datatypes and how each maps onto
// onnxruntime's tensor types and JavaScript typed arrays.
import type { Tensor } from 'onnxruntime-node';

export type V2Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** BOOL is a Uint8Array of 0/1 (what onnxruntime takes), BYTES a string array. */
export type TensorData = NumericArray | string[];

/** A tensor in host memory, row-major. */
export interface HostTensor {
  datatype: V2Datatype;
  shape: number[];
  data: TensorData;
}

/** Named tensors: a model's feeds or its outputs. */
export type Tensors = Map<string, HostTensor>;

/** How JSON elements of a datatype are checked and converted. */
export type ElementKind = 'float' | 'int' | 'bigint' | 'bool' | 'bytes' | 'unsupported';

export interface DatatypeInfo {
  v2: V2Datatype;
  ort: Tensor.Type;
  kind: ElementKind;
  /** Bytes per element in the binary tensor extension (0: length-prefixed BYTES). */
  size: number;
  /** Inclusive integer range for 'int' and 'bigint' kinds. */
  min?: number;
  max?: number;
  alloc?: (n: number) => NumericArray;
}

const table: DatatypeInfo[] = [
  { v2: 'BOOL', ort: 'bool', kind: 'bool', size: 1, alloc: (n) => new Uint8Array(n) },
  { v2: 'UINT8', ort: 'uint8', kind: 'int', size: 1, min: 0, max: 255, alloc: (n) => new Uint8Array(n) },
  { v2: 'UINT16', ort: 'uint16', kind: 'int', size: 2, min: 0, max: 65535, alloc: (n) => new Uint16Array(n) },
  { v2: 'UINT32', ort: 'uint32', kind: 'int', size: 4, min: 0, max: 4294967295, alloc: (n) => new Uint32Array(n) },
  { v2: 'UINT64', ort: 'uint64', kind: 'bigint', size: 8, min: 0, max: 2 ** 64 - 1, alloc: (n) => new BigUint64Array(n) },
  { v2: 'INT8', ort: 'int8', kind: 'int', size: 1, min: -128, max: 127, alloc: (n) => new Int8Array(n) },
  { v2: 'INT16', ort: 'int16', kind: 'int', size: 2, min: -32768, max: 32767, alloc: (n) => new Int16Array(n) },
  { v2: 'INT32', ort: 'int32', kind: 'int', size: 4, min: -2147483648, max: 2147483647, alloc: (n) => new Int32Array(n) },
  // JSON numbers are doubles: INT64 values beyond ±2^53 cannot be sent exactly in JSON (use binary data).
  { v2: 'INT64', ort: 'int64', kind: 'bigint', size: 8, min: -(2 ** 63), max: 2 ** 63 - 1, alloc: (n) => new BigInt64Array(n) },
  // FP16 models load and report metadata; tensors of it are refused (no Float16Array in Node 20).
  { v2: 'FP16', ort: 'float16', kind: 'unsupported', size: 2 },
  { v2: 'FP32', ort: 'float32', kind: 'float', size: 4, alloc: (n) => new Float32Array(n) },
  { v2: 'FP64', ort: 'float64', kind: 'float', size: 8, alloc: (n) => new Float64Array(n) },
  { v2: 'BYTES', ort: 'string', kind: 'bytes', size: 0 },
];

const byV2 = new Map<string, DatatypeInfo>(table.map((t) => [t.v2, t]));
const byOrt = new Map<string, DatatypeInfo>(table.map((t) => [t.ort, t]));

/** The datatype named in a request, or undefined if it is not a V2 datatype. */
export const datatypeInfo = (v2: string): DatatypeInfo | undefined => byV2.get(v2);

/** The V2 datatype of an onnxruntime tensor type, or undefined (e.g. int4) if V2 has none. */
export const v2FromOrt = (t: string): V2Datatype | undefined => byOrt.get(t)?.v2;

export function infoOf(v2: V2Datatype): DatatypeInfo {
  const info = byV2.get(v2);
  if (!info) throw new Error(`unknown datatype ${v2}`);
  return info;
}

/** FP32's largest finite value: larger JSON numbers would silently become Infinity. */
export const FP32_MAX = 3.4028234663852886e38;

/** Number of elements a shape holds; the caller has checked the dims are non-negative integers. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A plain-JSON element of a tensor (BigInt converted to number, BOOL to boolean). */
export function jsonElement(data: TensorData, datatype: V2Datatype, i: number): number | string | boolean {
  const v = data[i];
  if (datatype === 'BOOL') return v !== 0;
  if (typeof v === 'bigint') return Number(v);
  return v as number | string;
}

/** All elements of a tensor as a plain JSON array (flat, row-major). */
export function jsonElements(t: HostTensor, start = 0, end = t.data.length): (number | string | boolean)[] {
  const { data } = t;
  if (Array.isArray(data)) return data.slice(start, end);
  // A plain loop: cheaper than subarray + Array.from for the few elements of a row.
  const out = new Array<number | string | boolean>(end - start);
  if (t.datatype === 'BOOL') for (let i = start; i < end; i++) out[i - start] = data[i] !== 0;
  else if (data instanceof BigInt64Array || data instanceof BigUint64Array) for (let i = start; i < end; i++) out[i - start] = Number(data[i]);
  else for (let i = start; i < end; i++) out[i - start] = data[i] as number;
  return out;
}
