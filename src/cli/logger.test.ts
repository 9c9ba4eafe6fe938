// Errors in every log line are {type, message, stack}: the Error's class, its
// message and its stack, whatever a catch block held.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { serializeError } from './logger.js';

class CustomError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CustomError';
  }
}

/** One log line of a logger built like createLogger's, written to memory. */
function logged(value: unknown): Record<string, unknown> {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  pino({ base: {}, serializers: { err: serializeError } }, sink).error({ err: value }, 'failed');
  return JSON.parse(out) as Record<string, unknown>;
}

describe('serializeError', () => {
  it('an Error: its class, message, stack and own fields; a cause nested the same way', () => {
    const err = logged(new CustomError('bad data', 'BadData', { cause: new TypeError('not a number') })).err as Record<string, unknown>;
    expect(err).toMatchObject({ type: 'CustomError', message: 'bad data', code: 'BadData' });
    expect(err.stack).toMatch(/^CustomError: bad data\n\s+at /);
    expect(err.cause).toMatchObject({ type: 'TypeError', message: 'not a number' });
    expect((err.cause as { stack: string }).stack).toMatch(/^TypeError: not a number\n/);
  });

  it('a thrown string or object: its text, and no made-up class or empty stack', () => {
    expect(logged('boom').err).toEqual({ type: 'string', message: 'boom' });
    expect(logged({ message: 'x', code: 1 }).err).toEqual({ type: 'object', message: '{"message":"x","code":1}' });
    expect(logged(null).err).toEqual({ type: 'null', message: 'null' });
  });
});
