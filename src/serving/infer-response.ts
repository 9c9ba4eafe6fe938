// Encoding a V2 inference response: JSON `data`, or, for outputs the client
// asked for in binary, the binary tensor extension (JSON header, then raw
// little-endian tensor bytes, with Inference-Header-Content-Length).
import { Buffer } from 'node:buffer';
import { jsonElements, type HostTensor, type Tensors } from './datatypes.js';
import type { RequestedOutput } from './infer-request.js';

export interface EncodedResponse {
  body: string | Buffer;
  contentType: string;
  headers: Record<string, string>;
}

/** A tensor in the binary form (little-endian elements; BYTES as 4-byte length + bytes each), as REST binary data and gRPC raw contents carry it. */
export function binaryBytes(t: HostTensor): Buffer {
  if (Array.isArray(t.data)) {
    const parts: Buffer[] = [];
    for (const s of t.data) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(b.length);
      parts.push(len, b);
    }
    return Buffer.concat(parts);
  }
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

export interface ResponseHeader {
  model_name: string;
  model_version: string;
  id: string;
}

/**
 * The JSON text of a tensor's elements, as JSON.stringify(jsonElements(t))
 * writes it. Numbers are joined straight from the typed array: on the REST hot
 * path this skips one array per output and a generic stringify (about 2 % of
 * the throughput at 64 clients, `npm run profile:serve`).
 */
export function jsonDataText(t: HostTensor): string {
  const { data } = t;
  if (Array.isArray(data) || t.datatype === 'BOOL' || data instanceof BigInt64Array || data instanceof BigUint64Array) {
    return JSON.stringify(jsonElements(t));
  }
  let out = '[';
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    // JSON has no NaN or Infinity: JSON.stringify writes null for them, and so do we.
    out += (i === 0 ? '' : ',') + (Number.isFinite(v) ? String(v) : 'null');
  }
  return out + ']';
}

const shapeText = (shape: readonly number[]) => `[${shape.join(',')}]`;

export function encodeInferResponse(head: ResponseHeader, outputs: Tensors, requested: readonly RequestedOutput[]): EncodedResponse {
  const binaries: Buffer[] = [];
  // The same text JSON.stringify({...head, outputs: [...]}) gives, built
  // piecewise so no intermediate objects are made per request.
  let text = `{"model_name":${JSON.stringify(head.model_name)},"model_version":${JSON.stringify(head.model_version)},"id":${JSON.stringify(head.id)},"outputs":[`;
  for (let i = 0; i < requested.length; i++) {
    const r = requested[i] as RequestedOutput;
    const t = outputs.get(r.name) as HostTensor;
    text += `${i === 0 ? '' : ','}{"name":${JSON.stringify(r.name)},"datatype":"${t.datatype}","shape":${shapeText(t.shape)},`;
    if (!r.binary) {
      text += `"data":${jsonDataText(t)}}`;
      continue;
    }
    const bytes = binaryBytes(t);
    binaries.push(bytes);
    text += `"parameters":{"binary_data_size":${bytes.length}}}`;
  }
  text += ']}';
  if (binaries.length === 0) return { body: text, contentType: 'application/json', headers: {} };
  const header = Buffer.from(text, 'utf8');
  return {
    body: Buffer.concat([header, ...binaries]),
    contentType: 'application/octet-stream',
    headers: { 'Inference-Header-Content-Length': String(header.length) },
  };
}
