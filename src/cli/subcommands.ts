// The subcommands of `fluxora`. Every pod the operator creates runs the same
// image with a different subcommand (see DESIGN.md), so each lives in its own
// module and is imported lazily: `fluxora serve` never loads the operator's
// code and vice versa. A name with a space ("drift compute") is a subcommand
// of a group ("drift").

/** ownShutdown: the subcommand handles SIGTERM itself (drains); the others exit on it. */
export interface Subcommand {
  summary: string;
  run: (argv: string[]) => Promise<number>;
  ownShutdown?: boolean;
}

export const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
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
  'dataset-build': {
    summary: "a training data set from a Model's prediction log joined with labels (a RetrainJob's first step)",
    run: async (argv) => (await import('./dataset-build-command.js')).runDatasetBuildCommand(argv),
  },
  'drift-check': {
    summary: "one drift check of a DriftMonitor (its CronJob's entrypoint)",
    run: async (argv) => (await import('./drift-check-command.js')).runDriftCheckCommand(argv),
  },
};
