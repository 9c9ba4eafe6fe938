// Validates a spec against its zod schema, applying defaults, so the
// operator can work with a fully typed, defaulted object even when the CRD
// installed in the cluster is older or was applied without validation.
import type { z } from 'zod';
import { DriftMonitorSpecSchema, type DriftMonitorSpec } from './drift-monitor.js';
import { ModelSpecSchema, type ModelSpec } from './model.js';
import { RetrainJobSpecSchema, type RetrainJobSpec } from './retrain-job.js';

const specSchemas = {
  Model: ModelSpecSchema,
  DriftMonitor: DriftMonitorSpecSchema,
  RetrainJob: RetrainJobSpecSchema,
} as const satisfies Record<string, z.ZodType>;

export interface SpecTypes {
  Model: ModelSpec;
  DriftMonitor: DriftMonitorSpec;
  RetrainJob: RetrainJobSpec;
}
export type FluxoraKind = keyof SpecTypes;

export interface SpecIssue {
  /** Path from the object root, as the API server reports it, e.g. "spec.serving.replicas". */
  field: string;
  message: string;
}

export type SpecParseResult<K extends FluxoraKind> =
  | { success: true; spec: SpecTypes[K] }
  | { success: false; issues: SpecIssue[]; message: string };

function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}.${String(p)}`), 'spec');
}

/** Parses `spec` of a `kind`; never throws. `message` is one line, suitable for a condition. */
export function parseSpec<K extends FluxoraKind>(kind: K, spec: unknown): SpecParseResult<K> {
  const result = specSchemas[kind].safeParse(spec);
  if (result.success) return { success: true, spec: result.data as SpecTypes[K] };
  const issues = result.error.issues.map((i) => ({ field: fieldPath(i.path), message: i.message }));
  return { success: false, issues, message: issues.map((i) => `${i.field}: ${i.message}`).join('; ') };
}

/** Like parseSpec, but throws an Error carrying the one-line message. */
export function assertSpec<K extends FluxoraKind>(kind: K, spec: unknown): SpecTypes[K] {
  const result = parseSpec(kind, spec);
  if (!result.success) throw new Error(`invalid ${kind} spec: ${result.message}`);
  return result.spec;
}
