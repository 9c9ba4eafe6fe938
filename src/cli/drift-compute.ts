// `fluxora drift compute`: the drift engine on two local files, one JSON
// report on stdout. For laptops and CI; the operator's CronJobs run
// `fluxora drift-check` instead. Exit 0 with a report, 1 when the data cannot
// be used (unreadable file, missing column, non-numeric value, empty sample),
// 2 on a usage error.
import { DriftMonitorSpecSchema, FeatureCheckSchema } from '../api/drift-monitor.js';
import { computeDrift } from '../drift/compute.js';
import { DriftInputError } from '../drift/errors.js';
import { DRIFT_METHODS, type DriftMethodChoice, type DriftReport, type FeatureSpec, type FeatureType } from '../drift/types.js';
import { readTable, TableError, type TableFormat } from '../table/index.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitStatusHelp, parseFlags, UsageError } from './usage.js';

const HELP = `usage: fluxora drift compute --reference PATH --current PATH [flags]

Compares the current data with the reference, feature by feature, and prints
one JSON report. PATH is a local path or a file:// URI; CSV (with a header
line) or JSON Lines, optionally gzipped (.gz).

  --reference PATH                  the reference data set
  --current PATH                    the data set to check for drift
  --format csv|jsonl                format of both files (default: from the file extension)
  --features f1,f2,...              features to check (default: every column of the reference)
  --types f1=numeric,f2=categorical declared feature types (default: numeric when every
                                    value in the reference is a number, else categorical)
  --method M                        method for every feature: auto (default), ks, psi,
                                    jensenshannon, wasserstein, chisquare, zscore
  --threshold X                     threshold for every feature (default: the method's:
                                    p-value 0.05 for ks/chisquare/zscore tests, 0.1 for distances);
                                    at most 1 for ks, chisquare and jensenshannon, as in a DriftMonitor
  --dataset-drift-share S           share of drifted features (0 to 1) at which the data set
                                    counts as drifted (default 0.5)
  -h, --help                        this help

${exitStatusHelp({ [EXIT_OK]: 'report printed', [EXIT_FAILURE]: 'the data cannot be used', [EXIT_USAGE]: 'usage error' }, { signals: true })}`;

export interface Options {
  reference: string;
  current: string;
  format?: TableFormat;
  features?: string[];
  types: Map<string, FeatureType>;
  method: DriftMethodChoice;
  threshold?: number;
  datasetDriftShare?: number;
}

function list(value: string, flag: string): string[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`${flag}: empty name in "${value}"`, HELP);
  return items;
}

function number(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag}: "${value}" is not a number >= 0`, HELP);
  return n;
}

export function parseDriftComputeOptions(argv: string[]): Options | 'help' {
  const values = parseFlags(
    argv,
    {
      reference: { type: 'string' },
      current: { type: 'string' },
      format: { type: 'string' },
      features: { type: 'string' },
      types: { type: 'string' },
      method: { type: 'string' },
      threshold: { type: 'string' },
      'dataset-drift-share': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    HELP,
  );
  if (values.help) return 'help';
  if (!values.reference) throw new UsageError('--reference is required', HELP);
  if (!values.current) throw new UsageError('--current is required', HELP);
  if (values.format !== undefined && values.format !== 'csv' && values.format !== 'jsonl') {
    throw new UsageError(`--format: "${values.format}" is not csv or jsonl`, HELP);
  }
  const method = (values.method ?? 'auto') as DriftMethodChoice;
  if (method !== 'auto' && !(DRIFT_METHODS as readonly string[]).includes(method)) {
    throw new UsageError(`--method: "${method}" is not one of auto, ${DRIFT_METHODS.join(', ')}`, HELP);
  }
  const features = values.features !== undefined ? list(values.features, '--features') : undefined;
  const types = new Map<string, FeatureType>();
  for (const item of values.types !== undefined ? list(values.types, '--types') : []) {
    const [name, type, extra] = item.split('=').map((s) => s.trim());
    if (!name || (type !== 'numeric' && type !== 'categorical') || extra !== undefined) {
      throw new UsageError(`--types: "${item}" is not NAME=numeric or NAME=categorical`, HELP);
    }
    if (features && !features.includes(name)) throw new UsageError(`--types: "${name}" is not one of --features`, HELP);
    types.set(name, type);
  }
  // The same checks as a DriftMonitor's spec.features[] and spec.datasetDriftShare, from the same schema:
  // a threshold the API server refuses in a DriftMonitor is refused here too.
  const threshold = values.threshold !== undefined ? number(values.threshold, '--threshold') : undefined;
  const check = FeatureCheckSchema.safeParse({ name: 'feature', method, ...(threshold !== undefined ? { threshold } : {}) });
  if (!check.success) throw new UsageError(`--threshold ${values.threshold}: ${check.error.issues[0]!.message}`, HELP);
  const share = values['dataset-drift-share'];
  const datasetDriftShare = share !== undefined ? number(share, '--dataset-drift-share') : undefined;
  if (datasetDriftShare !== undefined && !DriftMonitorSpecSchema.shape.datasetDriftShare.safeParse(datasetDriftShare).success) {
    throw new UsageError(`--dataset-drift-share: "${share}" is not a number between 0 and 1`, HELP);
  }
  return {
    reference: values.reference,
    current: values.current,
    ...(values.format !== undefined ? { format: values.format } : {}),
    ...(features ? { features } : {}),
    types,
    method,
    ...(threshold !== undefined ? { threshold } : {}),
    ...(datasetDriftShare !== undefined ? { datasetDriftShare } : {}),
  };
}

async function compute(o: Options): Promise<DriftReport> {
  const reference = await readTable(o.reference, {
    ...(o.format ? { format: o.format } : {}),
    ...(o.features ? { columns: o.features } : {}),
    types: o.types,
  });
  const names = o.features ?? [...reference.names];
  // The current file is read with the reference's types, so a value that does
  // not fit is reported at its line in the current file.
  const current = await readTable(o.current, {
    ...(o.format ? { format: o.format } : {}),
    columns: names,
    types: reference.types,
  });
  // The engine would name only the first feature ("has no values"); the file is what to fix.
  for (const t of [reference, current]) {
    if (t.rows === 0) throw new TableError(`${t.file}: no data rows (only a header line)`, t.file);
  }
  const features: FeatureSpec[] = names.map((name) => ({
    name,
    type: reference.types.get(name) ?? 'numeric',
    method: o.method,
    ...(o.threshold !== undefined ? { threshold: o.threshold } : {}),
  }));
  return computeDrift({
    reference: reference.columns,
    current: current.columns,
    features,
    ...(o.datasetDriftShare !== undefined ? { datasetDriftShare: o.datasetDriftShare } : {}),
  });
}

/** JSON has no Infinity: a chi-square score of +Infinity is written as the largest double, as in DriftMonitor status. */
function toJson(report: DriftReport): string {
  return JSON.stringify(report, (_key, v: unknown) => (typeof v === 'number' && v === Infinity ? Number.MAX_VALUE : v), 2);
}

export async function runDriftComputeCommand(argv: string[]): Promise<number> {
  const options = parseDriftComputeOptions(argv);
  if (options === 'help') {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  try {
    const report = await compute(options);
    process.stdout.write(`${toJson(report)}\n`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof TableError || err instanceof DriftInputError) {
      process.stderr.write(`fluxora drift compute: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    throw err;
  }
}
