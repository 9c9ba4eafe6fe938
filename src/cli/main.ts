#!/usr/bin/env node
// The single `fluxora` entrypoint. Every pod the operator creates runs this
// same image with a different subcommand (see DESIGN.md), so each subcommand
// lives in its own module and is imported lazily: `fluxora serve` never loads
// the operator's code and vice versa.

import { exitOnTerminationSignals } from './exit-on-signal.js';

// onnxruntime persists a telemetry device id under $XDG_CACHE_HOME or
// $HOME/.cache; on a read-only root filesystem it cannot, and prints a warning
// from every process that loads a model. Its telemetry does nothing on Linux.
// Set before any subcommand (and so onnxruntime) is loaded.
process.env.ORT_DISABLE_TELEMETRY ??= '1';

/** ownShutdown: the subcommand handles SIGTERM itself (drains); the others exit on it. */
type Subcommand = { summary: string; run: (argv: string[]) => Promise<number>; ownShutdown?: boolean };

const subcommands: Record<string, Subcommand> = {
  operator: {
    summary: 'reconcile Model, DriftMonitor and RetrainJob resources',
    run: async (argv) => (await import('./operator-command.js')).runOperatorCommand(argv),
    ownShutdown: true,
  },
  'drift compute': {
    summary: 'drift report (JSON) comparing two local CSV / JSON Lines files',
    run: async (argv) => (await import('./drift-compute.js')).runDriftComputeCommand(argv),
  },
  serve: {
    summary: 'serve a model over the Open Inference Protocol (V2 REST)',
    run: async (argv) => (await import('./serve-command.js')).runServeCommand(argv),
    ownShutdown: true,
  },
  train: {
    summary: 'the built-in trainer: fit a tabular model, write model.onnx + metrics.json',
    run: async (argv) => (await import('./train-command.js')).runTrainCommand(argv),
  },
  'drift-check': {
    summary: "one drift check of a DriftMonitor (its CronJob's entrypoint)",
    run: async (argv) => (await import('./drift-check-command.js')).runDriftCheckCommand(argv),
  },
};

function usage(): string {
  const lines = Object.entries(subcommands).map(([name, s]) => `  ${name.padEnd(16)} ${s.summary}`);
  return `usage: fluxora <subcommand> [flags]\n\nsubcommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  // `fluxora drift compute` is a two-word command; look it up as "drift compute" first.
  const twoWord = rest[0] !== undefined ? subcommands[`${name} ${rest[0]}`] : undefined;
  const cmd = twoWord ?? subcommands[name];
  if (!cmd) {
    process.stderr.write(`fluxora: unknown subcommand "${name}"\n\n${usage()}`);
    return 2;
  }
  if (!cmd.ownShutdown) exitOnTerminationSignals();
  return cmd.run(twoWord ? rest.slice(1) : rest);
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
