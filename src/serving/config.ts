// Configuration of `fluxora serve`. The operator sets the FLUXORA_* variables
// on the serving Deployment (src/controllers/model/children.ts); flags
// override them for local runs. The samples token is read from the
// environment only: a flag would show it in `ps` and in the pod spec.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
// uri.js and errors.js, not the storage index: the primary of a pod must not load the S3 SDK to parse flags.
import { isStorageError } from '../storage/errors.js';
import { parseStorageUri } from '../storage/uri.js';
import type { Feature } from './sample-capture.js';

/**
 * The operator passes the prediction log's own credentials Secret with this prefix (envFrom prefix):
 * FLUXORA_PREDICTION_LOG_AWS_ACCESS_KEY_ID and so on, beside the artifact's AWS_* variables.
 */
export const PREDICTION_LOG_CREDENTIALS_PREFIX = 'FLUXORA_PREDICTION_LOG_';

/** The durable prediction log (prediction-log.ts); absent when --prediction-log-uri is not set. */
export interface PredictionLogConfig {
  /** Prefix the objects go under: s3:// in a cluster; file:// and pvc:// work too (local runs). */
  uri: string;
  /** Fraction of requests logged, (0, 1]. */
  sampleRate: number;
  flushIntervalSeconds: number;
  maxBatchRecords: number;
  /** Memory bound of each serving process: requests beyond it are dropped (and counted), never waited for. */
  maxBufferedRecords: number;
}

export interface ServeConfig {
  modelName: string;
  modelUri: string;
  modelSha256: string | undefined;
  modelVersion: string;
  features: Feature[];
  /** Listen address; undefined means every interface. */
  host: string | undefined;
  port: number;
  adminPort: number;
  /** Open Inference Protocol V2 gRPC (inference.GRPCInferenceService). */
  grpcPort: number;
  maxBatchSize: number;
  maxBatchDelayMs: number;
  samplingRate: number;
  sampleBufferSize: number;
  samplesToken: string | undefined;
  maxBodyBytes: number;
  intraOpThreads: number;
  allowNonFinite: boolean;
  drainTimeoutSeconds: number;
  /** Worker processes, each with its own model session and batcher; 0: from the CPU limit (see workers.ts). */
  workers: number;
  logLevel: string;
  predictionLog: PredictionLogConfig | undefined;
  /** Names this pod's prediction log objects (the Deployment sets it from the downward API; else the host name). */
  podName: string;
}

/** Flag name, environment variable and default of every setting (the help text is built from it). */
const SETTINGS = {
  'model-name': { env: 'FLUXORA_MODEL_NAME', help: 'name the model is served under (required)' },
  'model-uri': { env: 'FLUXORA_MODEL_URI', help: 'ONNX artifact: file://, s3://, http(s)://, pvc:// (required)' },
  'model-sha256': { env: 'FLUXORA_MODEL_SHA256', help: 'refuse an artifact with another SHA-256' },
  'model-version': { env: 'FLUXORA_MODEL_VERSION', default: '1', help: 'version name reported by the V2 API' },
  features: { env: 'FLUXORA_FEATURES', default: '[]', help: 'JSON [{"name","type"}] from the Model spec (sample keys)' },
  host: { env: 'FLUXORA_HOST', help: 'listen address (default: all interfaces)' },
  port: { env: 'FLUXORA_PORT', default: '8080', help: 'public port: V2/V1 inference, health, /metrics' },
  'admin-port': { env: 'FLUXORA_ADMIN_PORT', default: '8081', help: 'admin port: samples, prediction-log state, promotion analysis' },
  'grpc-port': { env: 'FLUXORA_GRPC_PORT', default: '8085', help: 'gRPC port: V2 inference.GRPCInferenceService' },
  'max-batch-size': { env: 'FLUXORA_MAX_BATCH_SIZE', default: '32', help: 'most rows per model run' },
  'max-batch-delay-ms': { env: 'FLUXORA_MAX_BATCH_DELAY_MS', default: '2', help: 'most a request waits for a batch; 0 disables batching' },
  'sampling-rate': { env: 'FLUXORA_SAMPLING_RATE', default: '1', help: 'fraction of rows captured for drift (0..1)' },
  'sample-buffer-size': { env: 'FLUXORA_SAMPLE_BUFFER_SIZE', default: '10000', help: 'captured rows kept (ring buffer)' },
  'max-body-bytes': { env: 'FLUXORA_MAX_BODY_BYTES', default: String(16 * 1024 * 1024), help: 'larger request bodies get 413 (gRPC: RESOURCE_EXHAUSTED)' },
  'intra-op-threads': { env: 'FLUXORA_INTRA_OP_THREADS', default: '1', help: "onnxruntime intra-op threads (0: onnxruntime's default)" },
  'allow-nan': { env: 'FLUXORA_ALLOW_NAN', default: 'false', help: 'accept NaN/Infinity in FP32/FP64 inputs' },
  'drain-timeout-seconds': { env: 'FLUXORA_DRAIN_TIMEOUT_SECONDS', default: '25', help: 'on SIGTERM, most time to finish in-flight requests' },
  workers: { env: 'FLUXORA_WORKERS', default: '0', help: "worker processes; 0: as many as the container's CPU limit allows" },
  'log-level': { env: 'FLUXORA_LOG_LEVEL', default: 'info', help: 'debug|info|warn|error' },
  'prediction-log-uri': { env: 'FLUXORA_PREDICTION_LOG_URI', help: 'write a prediction log under this prefix (s3://bucket/prefix); unset: no log' },
  'prediction-log-sample-rate': { env: 'FLUXORA_PREDICTION_LOG_SAMPLE_RATE', default: '1', help: 'fraction of requests logged (greater than 0, at most 1)' },
  'prediction-log-flush-interval-seconds': { env: 'FLUXORA_PREDICTION_LOG_FLUSH_INTERVAL_SECONDS', default: '10', help: 'most seconds a logged request waits before it is written' },
  'prediction-log-max-batch-records': { env: 'FLUXORA_PREDICTION_LOG_MAX_BATCH_RECORDS', default: '1000', help: 'most requests per log object' },
  'prediction-log-max-buffered-records': { env: 'FLUXORA_PREDICTION_LOG_MAX_BUFFERED_RECORDS', default: '10000', help: 'most requests held in memory per process; more are dropped and counted' },
  'pod-name': { env: 'FLUXORA_POD_NAME', help: 'pod name in prediction log object names (default: the host name)' },
} as const satisfies Record<string, { env: string; default?: string; help: string }>;

type SettingName = keyof typeof SETTINGS;

export const SERVE_HELP = `usage: fluxora serve [flags]

Flags override the environment variables named in brackets.

${Object.entries(SETTINGS)
  .map(([flag, s]) => `  --${`${flag} ${'default' in s ? `(default ${s.default})` : ''}`.padEnd(40)} ${s.help} [$${s.env}]`)
  .join('\n')}
  FLUXORA_SAMPLES_TOKEN (environment only)  bearer token the samples and promotion endpoints require; unset: 503
`;

export class ConfigError extends Error {}

function int(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(`--${flag} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

function bool(flag: string, v: string): boolean {
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no|)$/i.test(v)) return false;
  throw new ConfigError(`--${flag} must be true or false, got "${v}"`);
}

/** The Model's features as JSON ([{"name","type"}]), as the operator passes them to serving, drift-check and trainer pods. */
export function parseFeatures(v: string): Feature[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (e) {
    throw new ConfigError(`--features must be JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError('--features must be a JSON array of {"name", "type"}');
  return parsed.map((f: unknown, i) => {
    const o = f as { name?: unknown; type?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.name !== 'string' || o.name === '') {
      throw new ConfigError(`--features[${i}] needs a non-empty string "name"`);
    }
    const type = o.type ?? 'numeric';
    if (type !== 'numeric' && type !== 'categorical') throw new ConfigError(`--features[${i}].type must be numeric or categorical`);
    return { name: o.name, type };
  });
}

/** Reads flags over environment over defaults; throws ConfigError with a message for the user. */
export function parseServeConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig | 'help' {
  const options = Object.fromEntries(Object.keys(SETTINGS).map((k) => [k, { type: 'string' as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  if (values.help) return 'help';
  const get = (name: SettingName): string | undefined => {
    const s: { env: string; default?: string } = SETTINGS[name];
    const flag = values[name];
    return typeof flag === 'string' ? flag : (env[s.env] ?? s.default);
  };
  const required = (name: SettingName): string => {
    const v = get(name);
    if (!v) throw new ConfigError(`--${name} (or $${SETTINGS[name].env}) is required`);
    return v;
  };
  const modelName = required('model-name');
  if (!/^[A-Za-z0-9_.-]{1,253}$/.test(modelName)) throw new ConfigError(`--model-name "${modelName}" must be letters, digits, "_", "." or "-"`);
  const modelVersion = required('model-version');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(modelVersion)) throw new ConfigError(`--model-version "${modelVersion}" must be letters, digits, "_", "." or "-"`);
  const rate = Number(get('sampling-rate'));
  if (!(rate >= 0 && rate <= 1)) throw new ConfigError(`--sampling-rate must be a number from 0 to 1, got "${get('sampling-rate')}"`);
  const sha = get('model-sha256') || undefined;
  if (sha !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha)) throw new ConfigError('--model-sha256 must be 64 hexadecimal digits');
  const token = env.FLUXORA_SAMPLES_TOKEN;
  const logUri = get('prediction-log-uri') || undefined;
  let predictionLog: PredictionLogConfig | undefined;
  if (logUri !== undefined) {
    let scheme: string;
    try {
      scheme = parseStorageUri(logUri).scheme;
    } catch (e) {
      throw new ConfigError(`--prediction-log-uri: ${isStorageError(e) ? e.message : String(e)}`);
    }
    if (scheme === 'http') throw new ConfigError(`--prediction-log-uri must be writable (s3://, pvc:// or file://), got "${logUri}"`);
    const logRate = Number(get('prediction-log-sample-rate'));
    if (!(logRate > 0 && logRate <= 1)) {
      throw new ConfigError(`--prediction-log-sample-rate must be a number greater than 0 and at most 1, got "${get('prediction-log-sample-rate')}"`);
    }
    const maxBatchRecords = int('prediction-log-max-batch-records', required('prediction-log-max-batch-records'), 1, 100_000);
    const maxBufferedRecords = int('prediction-log-max-buffered-records', required('prediction-log-max-buffered-records'), 1, 1_000_000);
    if (maxBufferedRecords < maxBatchRecords) {
      throw new ConfigError(`--prediction-log-max-buffered-records (${maxBufferedRecords}) must be at least --prediction-log-max-batch-records (${maxBatchRecords})`);
    }
    predictionLog = {
      uri: logUri,
      sampleRate: logRate,
      flushIntervalSeconds: int('prediction-log-flush-interval-seconds', required('prediction-log-flush-interval-seconds'), 1, 3600),
      maxBatchRecords,
      maxBufferedRecords,
    };
  }
  const podName = get('pod-name') || hostname();
  if (!/^[A-Za-z0-9_.-]{1,253}$/.test(podName)) throw new ConfigError(`--pod-name "${podName}" must be letters, digits, "_", "." or "-"`);
  return {
    modelName,
    modelUri: required('model-uri'),
    modelSha256: sha,
    modelVersion,
    features: parseFeatures(required('features')),
    host: get('host') || undefined,
    port: int('port', required('port'), 0, 65535),
    adminPort: int('admin-port', required('admin-port'), 0, 65535),
    grpcPort: int('grpc-port', required('grpc-port'), 0, 65535),
    maxBatchSize: int('max-batch-size', required('max-batch-size'), 1, 65536),
    maxBatchDelayMs: int('max-batch-delay-ms', required('max-batch-delay-ms'), 0, 60_000),
    samplingRate: rate,
    sampleBufferSize: int('sample-buffer-size', required('sample-buffer-size'), 1, 10_000_000),
    samplesToken: token ? token : undefined,
    maxBodyBytes: int('max-body-bytes', required('max-body-bytes'), 1024, 2 ** 31 - 1),
    intraOpThreads: int('intra-op-threads', required('intra-op-threads'), 0, 1024),
    allowNonFinite: bool('allow-nan', get('allow-nan') ?? ''),
    drainTimeoutSeconds: int('drain-timeout-seconds', required('drain-timeout-seconds'), 0, 3600),
    workers: int('workers', required('workers'), 0, 256),
    logLevel: required('log-level'),
    predictionLog,
    podName,
  };
}
