// Validation of a V2 inference request against the model's signature:
// names, datatypes, shapes and element counts, with a 400 naming the problem.
import type { Buffer } from 'node:buffer';
import { datatypeInfo, elementCount, type HostTensor } from './datatypes.js';
import { badRequest } from './http-error.js';
import type { ModelSignature, TensorSpec } from './model-signature.js';
import { decodeBinaryData, decodeJsonData, leafCount, type DecodeOptions } from './tensor-decode.js';

export interface RequestedOutput {
  name: string;
  /** Return this output in the binary tensor extension instead of JSON `data`. */
  binary: boolean;
}

export interface InferRequest {
  id: string | undefined;
  /** Inputs keyed by name, in the model's input order. */
  inputs: Map<string, HostTensor>;
  outputs: RequestedOutput[];
  /** Rows along the batch dimension, or undefined when the request must run alone. */
  rows: number | undefined;
  /** Requests may share a batch only if their non-batch dimensions agree. */
  batchKey: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const shapeText = (s: readonly number[]) => `[${s.join(',')}]`;

function parseShape(spec: TensorSpec, raw: unknown): number[] {
  const name = spec.name;
  if (!Array.isArray(raw) || !raw.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw badRequest(`input "${name}": "shape" must be an array of non-negative integers`);
  }
  const shape = raw as number[];
  if (!spec.rankKnown) return shape;
  if (shape.length !== spec.shape.length) {
    throw badRequest(`input "${name}": shape ${shapeText(shape)} has rank ${shape.length}; the model expects rank ${spec.shape.length} (${shapeText(spec.shape)})`);
  }
  spec.shape.forEach((want, i) => {
    if (want !== -1 && shape[i] !== want) {
      throw badRequest(`input "${name}": dimension ${i} of shape ${shapeText(shape)} is ${shape[i]}; the model expects ${want} (${shapeText(spec.shape)})`);
    }
  });
  return shape;
}

interface BinaryCursor {
  tail: Buffer | undefined;
  offset: number;
}

function binarySize(name: string, parameters: unknown): number | undefined {
  if (parameters === undefined) return undefined;
  if (!isObject(parameters)) throw badRequest(`input "${name}": "parameters" must be an object`);
  const size = parameters.binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw badRequest(`input "${name}": parameters.binary_data_size must be a non-negative integer`);
  }
  return size;
}

function parseInput(raw: unknown, index: number, sig: ModelSignature, cursor: BinaryCursor, o: DecodeOptions): HostTensor & { name: string } {
  if (!isObject(raw)) throw badRequest(`inputs[${index}] must be an object`);
  const name = raw.name;
  if (typeof name !== 'string') throw badRequest(`inputs[${index}]: "name" must be a string`);
  const spec = sig.inputs.find((s) => s.name === name);
  if (!spec) throw badRequest(`unknown input "${name}"; the model's inputs are: ${sig.inputs.map((s) => s.name).join(', ')}`);
  if (typeof raw.datatype !== 'string') throw badRequest(`input "${name}": "datatype" must be a string`);
  const info = datatypeInfo(raw.datatype);
  if (!info) throw badRequest(`input "${name}": unknown datatype "${raw.datatype}"`);
  if (info.v2 !== spec.datatype) throw badRequest(`input "${name}": datatype ${info.v2} does not match the model's ${spec.datatype}`);
  const shape = parseShape(spec, raw.shape);
  const count = elementCount(shape);
  const size = binarySize(name, raw.parameters);
  if (size !== undefined) {
    if (raw.data !== undefined) throw badRequest(`input "${name}": has both "data" and parameters.binary_data_size`);
    const tail = cursor.tail;
    if (!tail || cursor.offset + size > tail.length) {
      throw badRequest(`input "${name}": parameters.binary_data_size is ${size} but the binary part of the body has ${(tail?.length ?? 0) - cursor.offset} bytes left`);
    }
    const bytes = tail.subarray(cursor.offset, cursor.offset + size);
    cursor.offset += size;
    return { name, datatype: info.v2, shape, data: decodeBinaryData(info, name, bytes, count, shapeText(shape), o) };
  }
  if (!Array.isArray(raw.data)) throw badRequest(`input "${name}": "data" must be an array`);
  const data = raw.data as unknown[];
  const got = leafCount(data, name);
  if (got !== count) throw badRequest(`input "${name}": shape ${shapeText(shape)} needs ${count} elements, got ${got}`);
  return { name, datatype: info.v2, shape, data: decodeJsonData(info, name, data, count, o) };
}

function parseOutputs(raw: unknown, sig: ModelSignature, binaryDefault: boolean): RequestedOutput[] {
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
    return sig.outputs.map((s) => ({ name: s.name, binary: binaryDefault }));
  }
  if (!Array.isArray(raw)) throw badRequest('"outputs" must be an array');
  const seen = new Set<string>();
  return raw.map((o, i) => {
    if (!isObject(o) || typeof o.name !== 'string') throw badRequest(`outputs[${i}] must be an object with a string "name"`);
    const name = o.name;
    if (!sig.outputs.some((s) => s.name === name)) {
      throw badRequest(`unknown output "${name}"; the model's outputs are: ${sig.outputs.map((s) => s.name).join(', ')}`);
    }
    if (seen.has(name)) throw badRequest(`output "${name}" is requested twice`);
    seen.add(name);
    let binary = binaryDefault;
    if (o.parameters !== undefined) {
      if (!isObject(o.parameters)) throw badRequest(`output "${name}": "parameters" must be an object`);
      const b = o.parameters.binary_data;
      if (b !== undefined && typeof b !== 'boolean') throw badRequest(`output "${name}": parameters.binary_data must be a boolean`);
      if (b !== undefined) binary = b;
    }
    return { name, binary };
  });
}

/**
 * Validates a parsed request body. `binaryTail` is the part after the JSON
 * header when the client used the binary tensor extension.
 */
export function parseInferRequest(body: unknown, sig: ModelSignature, binaryTail: Buffer | undefined, o: DecodeOptions): InferRequest {
  if (!isObject(body)) throw badRequest('the request body must be a JSON object');
  const id = body.id;
  if (id !== undefined && typeof id !== 'string') throw badRequest('"id" must be a string');
  let binaryDefault = false;
  if (body.parameters !== undefined) {
    if (!isObject(body.parameters)) throw badRequest('"parameters" must be an object');
    const b = body.parameters.binary_data_output;
    if (b !== undefined && typeof b !== 'boolean') throw badRequest('parameters.binary_data_output must be a boolean');
    binaryDefault = b ?? false;
  }
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw badRequest('"inputs" must be a non-empty array');
  const cursor: BinaryCursor = { tail: binaryTail, offset: 0 };
  const given = new Map<string, HostTensor>();
  (body.inputs as unknown[]).forEach((raw, i) => {
    const t = parseInput(raw, i, sig, cursor, o);
    if (given.has(t.name)) throw badRequest(`input "${t.name}" is given twice`);
    given.set(t.name, { datatype: t.datatype, shape: t.shape, data: t.data });
  });
  const left = (binaryTail?.length ?? 0) - cursor.offset;
  if (left > 0) throw badRequest(`the binary part of the body has ${left} bytes that no input claims`);
  const inputs = new Map<string, HostTensor>();
  for (const spec of sig.inputs) {
    const t = given.get(spec.name);
    if (!t) throw badRequest(`missing input "${spec.name}" (the model's inputs are: ${sig.inputs.map((s) => s.name).join(', ')})`);
    inputs.set(spec.name, t);
  }
  const outputs = parseOutputs(body.outputs, sig, binaryDefault);
  const tensors = [...inputs.values()];
  const rows0 = tensors[0]?.shape[0];
  const stackable = sig.batchable && rows0 !== undefined && rows0 > 0 && tensors.every((t) => t.shape[0] === rows0);
  return {
    id,
    inputs,
    outputs,
    rows: stackable ? rows0 : undefined,
    batchKey: tensors.map((t) => t.shape.slice(1).join(',')).join(';'),
  };
}
