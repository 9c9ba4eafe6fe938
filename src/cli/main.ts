#!/usr/bin/env node
// The single `fluxora` entrypoint: finds the subcommand (src/cli/subcommands.ts)
// and runs it. A subcommand reports bad flags by throwing UsageError, printed
// here the same way for all: one line, the subcommand's usage, exit 2.

import { exitOnTerminationSignals } from './exit-on-signal.js';
import { SUBCOMMANDS } from './subcommands.js';
import { EXIT_USAGE, UsageError } from './usage.js';

function usage(): string {
  const lines = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(16)} ${s.summary}`);
  return `usage: fluxora <subcommand> [flags]\n\nsubcommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  // `fluxora drift compute` is a two-word command; look it up as "drift compute" first.
  const twoWord = rest[0] !== undefined ? SUBCOMMANDS[`${name} ${rest[0]}`] : undefined;
  const cmd = twoWord ?? SUBCOMMANDS[name];
  if (!cmd) {
    process.stderr.write(`fluxora: unknown subcommand "${name}"\n\n${usage()}`);
    return EXIT_USAGE;
  }
  const command = twoWord ? `${name} ${rest[0]}` : name;
  if (!cmd.ownShutdown) exitOnTerminationSignals();
  try {
    return await cmd.run(twoWord ? rest.slice(1) : rest);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`fluxora ${command}: ${e.message}\n\n${e.usage}`);
    return EXIT_USAGE;
  }
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
