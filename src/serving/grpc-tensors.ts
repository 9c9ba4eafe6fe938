// gRPC tensors to and from the REST code's forms. A ModelInferRequest becomes
// the request body the REST parser takes: typed `contents` become `data`
// (flat, row-major), `raw_input_contents` become the binary tensor extension
// (one `binary_data_size` per input over the concatenated bytes). So names,
// datatypes, shapes, element counts and values are checked by the same code
// with the same messages, whichever protocol the client speaks. Outputs go
// back raw when the request came raw (as Triton answers), typed otherwise.
import { Buffer } from 'node:buffer';
import { datatypeInfo, type HostTensor, type Tensors, type V2Datatype } from './datatypes.js';
import type { Int64, ModelInferRequestMessage, ModelInferResponseMessage, InferInputTensorMessage, InferOutputTensorMessage, TensorContents } from './grpc-proto.js';
import { badRequest } from './http-error.js';
import { parseInferRequest, type InferRequest, type RequestedOutput } from './infer-request.js';
import { binaryBytes } from './infer-response.js';
import type { ModelSignature } from './model-signature.js';
import type { DecodeOptions } from './tensor-decode.js';

type ContentsField = keyof TensorContents;

/** The typed contents field of each datatype; FP16 has none (raw only, says the protocol). */
const FIELD: Record<V2Datatype, ContentsField | undefined> = {
  BOOL: 'bool_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

const FIELDS: readonly ContentsField[] = [
  'bool_contents',
  'int_contents',
  'int64_contents',
  'uint_contents',
  'uint64_contents',
  'fp32_contents',
  'fp64_contents',
  'bytes_contents',
];

/** int64 text, exact beyond 2^53 (the REST decoder takes decimal strings for INT64/UINT64). */
const int64Text = (v: Int64 | string): string => (typeof v === 'string' ? v : v.toString());

/** A dimension as a number: out-of-range or negative values stay so, for the shape check to refuse. */
const dim = (v: Int64): number => (typeof v === 'number' ? v : v.toNumber());

function filledFields(c: TensorContents | null | undefined): ContentsField[] {
  if (!c) return [];
  return FIELDS.filter((f) => (c[f]?.length ?? 0) > 0);
}

/** The `data` array of a typed input; checks the values sit in the field its datatype uses. */
function typedData(t: InferInputTensorMessage, filled: readonly ContentsField[]): unknown[] {
  const info = datatypeInfo(t.datatype);
  // An unknown datatype: the REST parser names it (after checking the input's name).
  if (!info) return [];
  const field = FIELD[info.v2];
  if (field === undefined) {
    throw badRequest(`input "${t.name}": datatype ${info.v2} has no typed contents field; send it in raw_input_contents`);
  }
  const stray = filled.find((f) => f !== field);
  if (stray) throw badRequest(`input "${t.name}": datatype ${info.v2} takes its values in contents.${field}, got contents.${stray}`);
  const values = t.contents?.[field];
  if (!values) return [];
  if (field === 'int64_contents' || field === 'uint64_contents') return Array.from(values as ArrayLike<Int64 | string>, int64Text);
  if (field === 'bytes_contents') return Array.from(values as ArrayLike<Uint8Array>, (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
  return Array.isArray(values) ? (values as unknown[]) : Array.from(values as ArrayLike<unknown>);
}

export interface GrpcInferRequest {
  request: InferRequest;
  /** The inputs came in raw_input_contents: answer in raw_output_contents. */
  raw: boolean;
}

/** Validates a decoded ModelInferRequest against the model; throws the REST parser's 400s (and a few of gRPC's own). */
export function inferRequestFromGrpc(msg: ModelInferRequestMessage, sig: ModelSignature, o: DecodeOptions): GrpcInferRequest {
  const raw = msg.raw_input_contents;
  const usesRaw = raw.length > 0;
  if (usesRaw && raw.length !== msg.inputs.length) {
    throw badRequest(`raw_input_contents has ${raw.length} entries for ${msg.inputs.length} inputs; give one per input, in the order of "inputs"`);
  }
  const inputs = msg.inputs.map((t, i) => {
    const base = { name: t.name, datatype: t.datatype, shape: t.shape.map(dim) };
    const filled = filledFields(t.contents);
    if (!usesRaw) return { ...base, data: typedData(t, filled) };
    if (filled.length > 0) throw badRequest(`input "${t.name}": has both contents.${filled[0]} and raw_input_contents; use one`);
    return { ...base, parameters: { binary_data_size: (raw[i] as Uint8Array).length } };
  });
  const body = {
    ...(msg.id !== '' ? { id: msg.id } : {}),
    inputs,
    outputs: msg.outputs.map((out) => ({ name: out.name })),
  };
  const tail = usesRaw ? Buffer.concat(raw) : undefined;
  const request = parseInferRequest(body, sig, tail, o);
  return { request: { ...request, outputs: request.outputs.map((r) => ({ ...r, binary: usesRaw })) }, raw: usesRaw };
}

/** A tensor's values in its typed contents field (numeric typed arrays go to the encoder as they are). */
function typedContents(t: HostTensor): TensorContents {
  const field = FIELD[t.datatype] as ContentsField;
  const data = t.data;
  if (Array.isArray(data)) return { bytes_contents: data.map((s) => Buffer.from(s, 'utf8')) };
  // protobufjs cannot write bigint: decimal strings are exact.
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return { [field]: Array.from(data, (v) => v.toString()) };
  return { [field]: data };
}

export interface ResponseHead {
  model_name: string;
  model_version: string;
  id: string;
}

/** The ModelInferResponse of the requested outputs. */
export function inferResponseToGrpc(head: ResponseHead, outputs: Tensors, requested: readonly RequestedOutput[], raw: boolean): ModelInferResponseMessage {
  const tensors = requested.map((r) => [r.name, outputs.get(r.name) as HostTensor] as const);
  // Raw for all or none: FP16 has no typed field, so it turns the whole answer raw.
  const useRaw = raw || tensors.some(([, t]) => FIELD[t.datatype] === undefined);
  const described: InferOutputTensorMessage[] = tensors.map(([name, t]) => ({
    name,
    datatype: t.datatype,
    shape: t.shape,
    ...(useRaw ? {} : { contents: typedContents(t) }),
  }));
  return { ...head, outputs: described, ...(useRaw ? { raw_output_contents: tensors.map(([, t]) => binaryBytes(t)) } : {}) };
}
