// What every subcommand does with its flags: a bad flag or value is one line
// naming it ("fluxora <subcommand>: --workers must be ..."), then the
// subcommand's usage, on stderr, and exit status 2; `--help` prints the usage
// on stdout and exits 0. Subcommands throw UsageError; main.ts prints it.
import { constants } from 'node:os';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** Exit statuses shared by every subcommand; a subcommand may add its own above 2 (see EXIT_STATUS in each). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Bad flags or flag values: main.ts prints the message, then `usage`, and exits EXIT_USAGE. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A subcommand cannot do its work for a reason the user can act on (no
 * kubeconfig to load, ...): main.ts prints the message as one line, without
 * the usage, and exits EXIT_FAILURE.
 */
export class CommandFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailure';
  }
}

/** node:util parseArgs in strict mode (unknown flags and positionals refused), its errors as UsageError. */
export function parseFlags<O extends ParseArgsOptionsConfig>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message, usage);
  }
}

/**
 * The "Exit status" section of a help text, from the constants the
 * subcommand returns, so the help cannot drift from the code. `signals`: the
 * subcommand exits on SIGTERM/SIGINT at once (src/cli/exit-on-signal.ts).
 */
export function exitStatusHelp(codes: Readonly<Record<number, string>>, o: { signals?: boolean } = {}): string {
  const rows = Object.entries(codes).map(([code, meaning]) => `  ${code.padEnd(5)}${meaning}`);
  if (o.signals) rows.push(`  ${`${128 + constants.signals.SIGTERM}`.padEnd(5)}stopped by SIGTERM (${128 + constants.signals.SIGINT}: SIGINT)`);
  return `Exit status:\n${rows.join('\n')}\n`;
}

/** pino's level names. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** A log level from a flag or FLUXORA_LOG_LEVEL; pino would throw "unknown level" with a stack trace. */
export function logLevel(value: string, source: string, usage: string): string {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new UsageError(`${source}: "${value}" is not one of ${LOG_LEVELS.join(', ')}`, usage);
  }
  return value;
}

/** A number of seconds, or a count, from a flag: finite, within [min, max], an integer when `integer`. */
export function numberFlag(
  flag: string,
  value: string,
  usage: string,
  o: { min: number; max?: number; integer?: boolean; minExclusive?: boolean },
): number {
  const n = Number(value);
  const ok =
    value.trim() !== '' &&
    Number.isFinite(n) &&
    (o.minExclusive ? n > o.min : n >= o.min) &&
    (o.max === undefined || n <= o.max) &&
    (!o.integer || Number.isInteger(n));
  if (!ok) {
    const what = o.integer ? 'an integer' : 'a number';
    const range =
      o.max !== undefined
        ? `from ${o.min} to ${o.max}`
        : o.minExclusive
          ? `greater than ${o.min}`
          : `of at least ${o.min}`;
    throw new UsageError(`--${flag} must be ${what} ${range}, got "${value}"`, usage);
  }
  return n;
}
