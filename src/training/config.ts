// What one training run needs, from the trainer contract's environment
// (FLUXORA_DATASET_URI, FLUXORA_OUTPUT_URI, FLUXORA_SERVING_URI,
// FLUXORA_FEATURES, FLUXORA_MODEL_NAME, FLUXORA_TRAINER_CONFIG: what the
// RetrainJob controller puts in the Job) or the same settings as flags for a
// run on a laptop. The builtin spec is checked with the API's own schema.
import { parseArgs } from 'node:util';
import { BuiltinTrainerSchema, type BuiltinTrainer } from '../api/index.js';
import { parseFeatures, ConfigError } from '../serving/config.js';
import type { Feature } from '../serving/sample-capture.js';

export interface TrainConfig {
  datasetUri: string;
  /** Prefix (ending in "/") that receives model.onnx and metrics.json. */
  outputUri: string;
  servingUri?: string;
  modelName?: string;
  /** The Model's features in serving order; empty when run outside a RetrainJob. */
  modelFeatures: Feature[];
  builtin: BuiltinTrainer;
}

export const TRAIN_HELP = `usage: fluxora train [flags]

The built-in trainer (a RetrainJob with trainer.builtin runs it). Reads a CSV
or JSON Lines data set, fits the model on the training rows, scores the held-out
rows with the exported ONNX model (and with the served model, when given), and
writes model.onnx and metrics.json under the output prefix.

Every flag falls back to the environment variable a RetrainJob's pod gets:
  --dataset URI       FLUXORA_DATASET_URI     data set (s3://, http(s)://, file://, pvc://)
  --output URI        FLUXORA_OUTPUT_URI      prefix for model.onnx and metrics.json
  --serving URI       FLUXORA_SERVING_URI     the served model.onnx, evaluated on the same holdout
  --config JSON       FLUXORA_TRAINER_CONFIG  {"algorithm": "linear"|"logistic"|"mlp", "target": "...",
                                              "features": [...], "seed": 42, "validationSplit": 0.2}
  --features JSON     FLUXORA_FEATURES        the Model's features [{"name","type"}], in serving order
  --model-name NAME   FLUXORA_MODEL_NAME      recorded in the model's metadata
  -h, --help
`;

const FLAGS = {
  dataset: 'FLUXORA_DATASET_URI',
  output: 'FLUXORA_OUTPUT_URI',
  serving: 'FLUXORA_SERVING_URI',
  config: 'FLUXORA_TRAINER_CONFIG',
  features: 'FLUXORA_FEATURES',
  'model-name': 'FLUXORA_MODEL_NAME',
} as const;

export function parseTrainConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): TrainConfig | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { ...Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }])), help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  if (values.help) return 'help';
  const get = (flag: keyof typeof FLAGS): string | undefined => {
    const v = values[flag];
    const s = typeof v === 'string' ? v : env[FLAGS[flag]];
    return s === undefined || s.trim() === '' ? undefined : s.trim();
  };
  const required = (flag: keyof typeof FLAGS): string => {
    const v = get(flag);
    if (v === undefined) throw new ConfigError(`--${flag} (or ${FLAGS[flag]}) is required`);
    return v;
  };
  const datasetUri = required('dataset');
  let outputUri = required('output');
  if (!outputUri.endsWith('/')) outputUri += '/';
  let raw: unknown;
  try {
    raw = JSON.parse(required('config'));
  } catch (e) {
    throw new ConfigError(`--config must be JSON: ${(e as Error).message}`);
  }
  const parsed = BuiltinTrainerSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`--config: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  const features = get('features');
  const servingUri = get('serving');
  const modelName = get('model-name');
  return {
    datasetUri,
    outputUri,
    ...(servingUri ? { servingUri } : {}),
    ...(modelName ? { modelName } : {}),
    modelFeatures: features ? parseFeatures(features) : [],
    builtin: parsed.data,
  };
}
