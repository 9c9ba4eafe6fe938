#!/usr/bin/env node
// The single `fluxora` entrypoint: finds the subcommand (src/cli/subcommands.ts)
// and runs it. A subcommand reports bad flags by throwing UsageError, printed
// here the same way for all: one line, the subcommand's usage, exit 2.
// `fluxora <group>` (e.g. `fluxora drift`) lists the group's subcommands.

import { VERSION } from '../version.js';
import { exitOnTerminationSignals } from './exit-on-signal.js';
import { SUBCOMMANDS, type Subcommand } from './subcommands.js';
import { CommandFailure, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './usage.js';

// onnxruntime persists a telemetry device id under $XDG_CACHE_HOME or
// $HOME/.cache; on a read-only root filesystem it cannot, and prints a warning
// from every process that loads a model. Its telemetry does nothing on Linux.
// Set before any subcommand (and so onnxruntime) is loaded.
process.env.ORT_DISABLE_TELEMETRY ??= '1';

const HELP_ARGS = new Set(['-h', '--help', 'help']);

/** Usage of `fluxora` (prefix '') or of a group (prefix 'drift'): the subcommands under it. */
function usage(prefix: string): string {
  const entries = Object.entries(SUBCOMMANDS)
    .filter(([name]) => prefix === '' || name.startsWith(`${prefix} `))
    .map(([name, s]) => [prefix === '' ? name : name.slice(prefix.length + 1), s.summary] as const);
  const lines = entries.map(([name, summary]) => `  ${name.padEnd(16)} ${summary}`);
  const command = prefix === '' ? 'fluxora' : `fluxora ${prefix}`;
  const flags = prefix === '' ? '\n  -h, --help       this help\n  --version        print the version\n' : '';
  return `usage: ${command} <subcommand> [flags]\n\nsubcommands:\n${lines.join('\n')}\n${flags}\nRun '${command} <subcommand> --help' for its flags.\n`;
}

/** The first words of multi-word subcommands ("drift" of "drift compute"). */
const GROUPS = new Set(Object.keys(SUBCOMMANDS).flatMap((n) => (n.includes(' ') ? [n.split(' ')[0]!] : [])));

async function run(command: string, cmd: Subcommand, argv: string[]): Promise<number> {
  if (!cmd.ownShutdown) exitOnTerminationSignals();
  try {
    return await cmd.run(argv);
  } catch (e) {
    if (e instanceof CommandFailure) {
      process.stderr.write(`fluxora ${command}: ${e.message}\n`);
      return EXIT_FAILURE;
    }
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`fluxora ${command}: ${e.message}\n\n${e.usage}`);
    return EXIT_USAGE;
  }
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(usage(''));
    return EXIT_USAGE;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT_OK;
  }
  // `fluxora help train` is `fluxora train --help`.
  if (name === 'help' && rest.length > 0) return main([...rest, '--help']);
  if (HELP_ARGS.has(name)) {
    process.stdout.write(usage(''));
    return EXIT_OK;
  }
  // `fluxora drift compute` is a two-word command; look it up as "drift compute" first.
  const twoWord = rest[0] !== undefined ? SUBCOMMANDS[`${name} ${rest[0]}`] : undefined;
  if (twoWord) return run(`${name} ${rest[0]}`, twoWord, rest.slice(1));
  const cmd = SUBCOMMANDS[name];
  if (cmd) return run(name, cmd, rest);
  if (GROUPS.has(name)) {
    const [sub] = rest;
    if (sub !== undefined && HELP_ARGS.has(sub)) {
      process.stdout.write(usage(name));
      return EXIT_OK;
    }
    process.stderr.write(`${sub === undefined ? '' : `fluxora ${name}: unknown subcommand "${sub}"\n\n`}${usage(name)}`);
    return EXIT_USAGE;
  }
  process.stderr.write(`fluxora: unknown subcommand "${name}"\n\n${usage('')}`);
  return EXIT_USAGE;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fluxora: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
