import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from './datatypes.js';
import { parseInferRequest } from './infer-request.js';
import { signatureFromMetadata, type ModelSignature } from './model-signature.js';

const sig: ModelSignature = signatureFromMetadata(
  [{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 3] }],
  [{ name: 'y', isTensor: true, type: 'float32', shape: ['batch', 1] }],
);
const multi: ModelSignature = signatureFromMetadata(
  [
    { name: 'ids', isTensor: true, type: 'int64', shape: ['n', 2] },
    { name: 'flag', isTensor: true, type: 'bool', shape: ['n'] },
    { name: 'label', isTensor: true, type: 'string', shape: ['n'] },
    { name: 'small', isTensor: true, type: 'int8', shape: ['n'] },
  ],
  [{ name: 'out', isTensor: true, type: 'float64', shape: ['n'] }],
);
const strict = { allowNonFinite: false };
const x = (shape: unknown, data: unknown, datatype = 'FP32') => ({ inputs: [{ name: 'x', datatype, shape, data }] });
const err = (body: unknown, s = sig, tail?: Buffer) => {
  try {
    parseInferRequest(body, s, tail, strict);
  } catch (e) {
    return `${(e as { status: number }).status} ${(e as Error).message}`;
  }
  return 'ok';
};

describe('parseInferRequest', () => {
  it('accepts flat and nested row-major data', () => {
    const flat = parseInferRequest(x([2, 3], [1, 2, 3, 4, 5, 6]), sig, undefined, strict);
    const nested = parseInferRequest(x([2, 3], [[1, 2, 3], [4, 5, 6]]), sig, undefined, strict);
    expect(Array.from(flat.inputs.get('x')?.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(nested.inputs.get('x')).toEqual(flat.inputs.get('x'));
    expect(flat.rows).toBe(2);
    expect(flat.batchKey).toBe('3');
    expect(flat.outputs).toEqual([{ name: 'y', binary: false }]);
  });

  it('names the problem in every 400', () => {
    expect(err(x([2, 3], [1, 2, 3, 4, 5]))).toBe('400 input "x": shape [2,3] needs 6 elements, got 5');
    expect(err(x([2, 4], [1, 2, 3, 4, 5, 6, 7, 8]))).toMatch(/^400 input "x": dimension 1 of shape \[2,4\] is 4; the model expects 3/);
    expect(err(x([6], [1, 2, 3, 4, 5, 6]))).toMatch(/has rank 1; the model expects rank 2/);
    expect(err(x([1, 3], [1, 2, 3], 'INT64'))).toBe('400 input "x": datatype INT64 does not match the model\'s FP32');
    expect(err(x([1, 3], [1, 2, 3], 'FLOAT'))).toBe('400 input "x": unknown datatype "FLOAT"');
    expect(err(x([1, 3], [1, 'a', 3]))).toBe('400 input "x": element 1 is not a number (got "a")');
    expect(err(x([1, 3], [1, null, 3]))).toMatch(/element 1 is not a number \(got null\)/);
    expect(err(x([1, 3], [1, 'NaN', 3]))).toMatch(/element 1 is NaN; this server does not accept NaN/);
    expect(err(x([1, 3], [1, Infinity, 3]))).toMatch(/element 1 is Infinity/);
    expect(err(x([1, 3], [1, 1e39, 3]))).toMatch(/out of the FP32 range/);
    expect(err(x([1, -3], [1, 2, 3]))).toMatch(/"shape" must be an array of non-negative integers/);
    expect(err(x('1,3', [1, 2, 3]))).toMatch(/"shape" must be an array/);
    expect(err(x([1, 3], 'abc'))).toMatch(/"data" must be an array/);
    expect(err({ inputs: [{ name: 'z', datatype: 'FP32', shape: [1], data: [1] }] })).toBe('400 unknown input "z"; the model\'s inputs are: x');
    expect(err({ inputs: [] })).toBe('400 "inputs" must be a non-empty array');
    expect(err([1, 2])).toBe('400 the request body must be a JSON object');
    expect(err({ ...x([1, 3], [1, 2, 3]), id: 5 })).toBe('400 "id" must be a string');
    expect(err({ ...x([1, 3], [1, 2, 3]), outputs: [{ name: 'nope' }] })).toBe('400 unknown output "nope"; the model\'s outputs are: y');
    expect(err({ inputs: [x([1, 3], [1, 2, 3]).inputs[0], x([1, 3], [1, 2, 3]).inputs[0]] })).toBe('400 input "x" is given twice');
    const deep = JSON.parse('['.repeat(100) + '1' + ']'.repeat(100)) as unknown;
    expect(err(x([1, 3], deep))).toMatch(/nested more than/);
  });

  it('accepts NaN and infinities when configured to', () => {
    const r = parseInferRequest(x([1, 3], ['NaN', 'Infinity', '-Infinity']), sig, undefined, { allowNonFinite: true });
    expect(Array.from(r.inputs.get('x')?.data as Float32Array)).toEqual([NaN, Infinity, -Infinity]);
  });

  it('checks integer ranges, booleans and strings; reports missing inputs', () => {
    const ok = {
      inputs: [
        { name: 'ids', datatype: 'INT64', shape: [1, 2], data: [[9007199254740993n.toString(), -5]] },
        { name: 'flag', datatype: 'BOOL', shape: [1], data: [true] },
        { name: 'label', datatype: 'BYTES', shape: [1], data: ['gold'] },
        { name: 'small', datatype: 'INT8', shape: [1], data: [-128] },
      ],
    };
    const r = parseInferRequest(ok, multi, undefined, strict);
    expect(Array.from(r.inputs.get('ids')?.data as BigInt64Array)).toEqual([9007199254740993n, -5n]);
    expect((r.inputs.get('label') as HostTensor).data).toEqual(['gold']);
    expect(r.rows).toBe(1);
    const withSmall = (v: unknown) => ({ inputs: ok.inputs.map((i) => (i.name === 'small' ? { ...i, data: [v] } : i)) });
    expect(err(withSmall(128), multi)).toBe('400 input "small": element 0 is out of the INT8 range (got 128)');
    expect(err(withSmall(1.5), multi)).toBe('400 input "small": element 0 is not an integer (got 1.5)');
    expect(err({ inputs: ok.inputs.map((i) => (i.name === 'flag' ? { ...i, data: ['yes'] } : i)) }, multi)).toMatch(/not a boolean/);
    expect(err({ inputs: ok.inputs.map((i) => (i.name === 'label' ? { ...i, data: [3] } : i)) }, multi)).toMatch(/not a string/);
    expect(err({ inputs: ok.inputs.slice(1) }, multi)).toBe('400 missing input "ids" (the model\'s inputs are: ids, flag, label, small)');
  });

  it('reads the binary tensor extension and checks its byte counts', () => {
    const data = Buffer.from(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer);
    const body = {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } }],
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
    };
    const r = parseInferRequest(body, sig, data, strict);
    expect(Array.from(r.inputs.get('x')?.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.outputs).toEqual([{ name: 'y', binary: true }]);
    expect(err(body, sig, data.subarray(0, 20))).toMatch(/binary_data_size is 24 but the binary part of the body has 20 bytes/);
    expect(err({ ...body, inputs: [{ ...body.inputs[0], parameters: { binary_data_size: 20 } }] }, sig, data)).toMatch(
      /needs 6 elements \(24 bytes of FP32\), got 20 bytes/,
    );
    expect(err(body, sig, Buffer.concat([data, Buffer.alloc(3)]))).toMatch(/3 bytes that no input claims/);
  });

  it('does not stack requests whose inputs disagree on rows, or models without a batch dimension', () => {
    const fixed = signatureFromMetadata(
      [{ name: 'x', isTensor: true, type: 'float32', shape: [1, 3] }],
      [{ name: 'y', isTensor: true, type: 'float32', shape: [1, 1] }],
    );
    expect(fixed.batchable).toBe(false);
    expect(parseInferRequest(x([1, 3], [1, 2, 3]), fixed, undefined, strict).rows).toBeUndefined();
  });
});
