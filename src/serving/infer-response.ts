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

export function encodeInferResponse(head: ResponseHeader, outputs: Tensors, requested: readonly RequestedOutput[]): EncodedResponse {
  const binaries: Buffer[] = [];
  const described = requested.map((r) => {
    const t = outputs.get(r.name) as HostTensor;
    if (!r.binary) return { name: r.name, datatype: t.datatype, shape: t.shape, data: jsonElements(t) };
    const bytes = binaryBytes(t);
    binaries.push(bytes);
    return { name: r.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: bytes.length } };
  });
  const json = JSON.stringify({ ...head, outputs: described });
  if (binaries.length === 0) return { body: json, contentType: 'application/json', headers: {} };
  const header = Buffer.from(json, 'utf8');
  return {
    body: Buffer.concat([header, ...binaries]),
    contentType: 'application/octet-stream',
    headers: { 'Inference-Header-Content-Length': String(header.length) },
  };
}
