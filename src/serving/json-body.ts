// Parsing request bodies: plain JSON, or the binary tensor extension (a JSON
// header of `Inference-Header-Content-Length` bytes followed by raw tensor
// data), which Triton's clients use by default.
import type { Buffer } from 'node:buffer';
import { badRequest } from './http-error.js';

export interface ParsedBody {
  json: unknown;
  /** The bytes after the JSON header, when the binary extension is used. */
  binary: Buffer | undefined;
}

const LITERALS = ['-Infinity', 'Infinity', 'NaN'];

/**
 * Python's json module (and so many clients) writes NaN and Infinity as bare
 * literals, which JSON.parse refuses. Quote them outside strings, so that the
 * element checks can accept or refuse them with a clear message instead of
 * "bad JSON".
 */
export function quoteNonFiniteLiterals(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    if (c !== 'N' && c !== 'I' && c !== '-') continue;
    const lit = LITERALS.find((l) => text.startsWith(l, i));
    if (!lit) continue;
    out += `${text.slice(last, i)}"${lit}"`;
    i += lit.length - 1;
    last = i + 1;
  }
  return last === 0 ? text : out + text.slice(last);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (/NaN|Infinity/.test(text)) {
      try {
        return JSON.parse(quoteNonFiniteLiterals(text));
      } catch {
        // fall through to the original message
      }
    }
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
  }
}

export function parseBody(body: Buffer, headerLength: string | string[] | undefined): ParsedBody {
  if (headerLength === undefined) return { json: parseJson(body.toString('utf8')), binary: undefined };
  const n = Number(headerLength);
  if (typeof headerLength !== 'string' || !Number.isSafeInteger(n) || n < 0 || n > body.length) {
    throw badRequest(`Inference-Header-Content-Length must be an integer from 0 to the body length (${body.length})`);
  }
  return { json: parseJson(body.toString('utf8', 0, n)), binary: body.subarray(n) };
}
