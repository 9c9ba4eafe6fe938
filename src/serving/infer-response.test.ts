import { describe, expect, it } from 'vitest';
import { jsonElements, type HostTensor, type Tensors } from './datatypes.js';
import { encodeInferResponse, type ResponseHeader } from './infer-response.js';

const head: ResponseHeader = { model_name: 'm"odel', model_version: 'v\\1', id: 'id-\u2028-"x"' };

/** What the encoder must produce for JSON outputs: exactly JSON.stringify of the V2 response object. */
function reference(h: ResponseHeader, outputs: Tensors): string {
  return JSON.stringify({
    ...h,
    outputs: [...outputs].map(([name, t]) => ({ name, datatype: t.datatype, shape: t.shape, data: jsonElements(t) })),
  });
}

const cases: [string, HostTensor][] = [
  ['fp32', { datatype: 'FP32', shape: [2, 3], data: new Float32Array([0.1, -0, 4.099999904632568, 1e-7, 3.4e38, -2.5]) }],
  ['fp64 non-finite', { datatype: 'FP64', shape: [5], data: new Float64Array([NaN, Infinity, -Infinity, 1e21, 5e-324]) }],
  ['fp32 non-finite', { datatype: 'FP32', shape: [1, 3], data: new Float32Array([NaN, Infinity, -Infinity]) }],
  ['int32', { datatype: 'INT32', shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) }],
  ['uint8', { datatype: 'UINT8', shape: [2], data: new Uint8Array([0, 255]) }],
  ['int64', { datatype: 'INT64', shape: [2], data: new BigInt64Array([-9007199254740991n, 42n]) }],
  ['bool', { datatype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) }],
  ['bytes', { datatype: 'BYTES', shape: [3], data: ['plain', 'quote " and \\ backslash', 'line\nbreak \u0000'] }],
  ['empty', { datatype: 'FP32', shape: [0, 3], data: new Float32Array(0) }],
];

describe('encodeInferResponse', () => {
  it.each(cases)('writes %s outputs exactly as JSON.stringify would', (name, t) => {
    const outputs: Tensors = new Map([[name, t]]);
    const enc = encodeInferResponse(head, outputs, [{ name, binary: false }]);
    expect(enc.contentType).toBe('application/json');
    expect(enc.body).toBe(reference(head, outputs));
  });

  it('writes several outputs in the requested order', () => {
    const outputs: Tensors = new Map(cases.slice(0, 4));
    const order = ['int32', 'fp32', 'fp64 non-finite'];
    const enc = encodeInferResponse(head, outputs, order.map((name) => ({ name, binary: false })));
    expect(enc.body).toBe(reference(head, new Map(order.map((n) => [n, outputs.get(n) as HostTensor]))));
  });

  it('puts binary outputs after the JSON header, with their sizes, and JSON ones in the header', () => {
    const outputs: Tensors = new Map(cases.slice(0, 2));
    const enc = encodeInferResponse(head, outputs, [
      { name: 'fp32', binary: true },
      { name: 'fp64 non-finite', binary: false },
    ]);
    expect(enc.contentType).toBe('application/octet-stream');
    const body = enc.body as Buffer;
    const headerLength = Number(enc.headers['Inference-Header-Content-Length']);
    const json = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as { outputs: { parameters?: unknown; data?: unknown }[] };
    expect(json.outputs[0]).toEqual({ name: 'fp32', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } });
    expect(json.outputs[1]?.data).toEqual([null, null, null, 1e21, 5e-324]);
    const raw = body.subarray(headerLength);
    expect(raw.length).toBe(24);
    expect([...new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + 24))]).toEqual([...(cases[0]?.[1].data as Float32Array)]);
  });
});
