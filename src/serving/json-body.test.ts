import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { parseBody, quoteNonFiniteLiterals } from './json-body.js';

describe('request bodies', () => {
  it("quotes Python's NaN/Infinity literals outside strings only", () => {
    expect(quoteNonFiniteLiterals('[NaN, -Infinity, Infinity, "NaN", "a\\"NaN"]')).toBe('["NaN", "-Infinity", "Infinity", "NaN", "a\\"NaN"]');
    expect(quoteNonFiniteLiterals('[1, -2]')).toBe('[1, -2]');
    expect(parseBody(Buffer.from('{"data": [NaN, 1]}'), undefined).json).toEqual({ data: ['NaN', 1] });
  });

  it('reports bad JSON as a 400 with the parser message', () => {
    expect(() => parseBody(Buffer.from('{"inputs": ['), undefined)).toThrow(/not valid JSON/);
    expect(() => parseBody(Buffer.from('{NaNa}'), undefined)).toThrow(/not valid JSON/);
  });

  it('splits the binary extension at Inference-Header-Content-Length', () => {
    const body = Buffer.concat([Buffer.from('{"a":1}'), Buffer.from([1, 2, 3])]);
    const p = parseBody(body, '7');
    expect(p.json).toEqual({ a: 1 });
    expect([...(p.binary ?? [])]).toEqual([1, 2, 3]);
    expect(() => parseBody(body, '99')).toThrow(/Inference-Header-Content-Length/);
    expect(() => parseBody(body, ['7', '7'])).toThrow(/Inference-Header-Content-Length/);
  });
});
