// The one way a subcommand makes its pino logger. Errors are logged as the
// Error itself under `err` (`log.error({ err }, '...')`): pino's serializer
// writes its type (the class), message, stack, own fields (code, reason,
// status...) and its cause, nested the same way. Logging `err.message`,
// `err.stack` or a hand-built `{ type, message }` instead loses them: pino
// treats anything with a string `message` as an error and writes
// {"type":"Object","stack":""}. An ESLint rule (eslint.config.js) refuses
// such call sites; this serializer makes thrown values that are not Errors
// readable too.
import { pino, stdSerializers, type Logger } from 'pino';

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  [key: string]: unknown;
}

/** pino's `err` serializer for anything a catch block can hold. */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) return stdSerializers.errWithCause(e);
  // Not an Error (a thrown string, a rejected plain object): no class and no stack to report.
  let message: string;
  try {
    message = typeof e === 'string' ? e : (JSON.stringify(e) ?? String(e));
  } catch {
    message = String(e);
  }
  return { type: e === null ? 'null' : typeof e, message };
}

export function createLogger(level: string, base: Record<string, unknown>): Logger {
  return pino({ level, base, serializers: { err: serializeError } });
}
