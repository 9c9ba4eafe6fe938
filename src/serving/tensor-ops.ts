// Stacking tensors along the first dimension and slicing them back: the
// data movement of dynamic batching. Row-major layout makes both contiguous.
import { jsonElement, jsonElements, type HostTensor, type NumericArray, type TensorData } from './datatypes.js';

/** Elements per row: the product of every dimension after the first. */
export function rowStride(shape: readonly number[]): number {
  let n = 1;
  for (let i = 1; i < shape.length; i++) n *= shape[i] ?? 1;
  return n;
}

/** Concatenates tensors of equal datatype and trailing dimensions along dimension 0. */
export function concatRows(parts: readonly HostTensor[]): HostTensor {
  const first = parts[0];
  if (!first) throw new Error('concatRows needs at least one tensor');
  if (parts.length === 1) return first;
  const rows = parts.reduce((n, p) => n + (p.shape[0] ?? 0), 0);
  const shape = [rows, ...first.shape.slice(1)];
  let data: TensorData;
  if (Array.isArray(first.data)) {
    data = parts.flatMap((p) => p.data as string[]);
  } else {
    const total = parts.reduce((n, p) => n + p.data.length, 0);
    const Ctor = first.data.constructor as new (n: number) => NumericArray;
    const out = new Ctor(total);
    let off = 0;
    for (const p of parts) {
      // Every part has the first part's datatype, so the element types agree.
      (out as Float32Array).set(p.data as Float32Array, off);
      off += p.data.length;
    }
    data = out;
  }
  return { datatype: first.datatype, shape, data };
}

/** Rows [start, start + rows) of a tensor; numeric data is a view, not a copy. */
export function sliceRows(t: HostTensor, start: number, rows: number): HostTensor {
  const stride = rowStride(t.shape);
  const from = start * stride;
  const to = (start + rows) * stride;
  const data = Array.isArray(t.data) ? t.data.slice(from, to) : t.data.subarray(from, to);
  return { datatype: t.datatype, shape: [rows, ...t.shape.slice(1)], data };
}

/** One row as plain JSON: a scalar when a row has one element, else the row's elements flat. */
export function rowJson(t: HostTensor, row: number): number | string | boolean | (number | string | boolean)[] {
  const stride = rowStride(t.shape);
  return stride === 1 ? jsonElement(t.data, t.datatype, row) : jsonElements(t, row * stride, (row + 1) * stride);
}
