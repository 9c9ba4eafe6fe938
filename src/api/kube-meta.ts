// Kubernetes-only schema annotations, attached to zod schemas as metadata so
// the CRD generator (structural.ts) can copy them into the OpenAPI schema.
//
// A CEL rule is declared once, with its zod twin: the API server enforces the
// rule, and parseSpec() (parse.ts) enforces the same invariant in-process so
// the operator never trusts an object that slipped past an older CRD.
import { z } from 'zod';

/** `reason` values the API server accepts on x-kubernetes-validations. */
export type CelReason = 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';

/** One entry of x-kubernetes-validations, as it appears in the CRD. */
export interface CelValidation {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: CelReason;
}

/**
 * A CEL rule plus the same check in TypeScript. `check` is omitted only for
 * transition rules (oldSelf), which cannot be evaluated on a single object.
 * `path` is where zod reports the issue, relative to the annotated value; it
 * mirrors `fieldPath` so both report the same field.
 */
export interface CelRule<T> extends CelValidation {
  check?: (value: T) => boolean;
  path?: (string | number)[];
}

export const VALIDATIONS_KEY = 'x-kubernetes-validations';

/** Attaches CEL rules to a schema (one metadata write, so rules never overwrite each other). */
export function withRules<S extends z.ZodType>(schema: S, rules: CelRule<z.output<S>>[]): S {
  let out = schema;
  for (const r of rules) {
    const check = r.check;
    if (!check) continue;
    out = out.superRefine((value, ctx) => {
      if (!check(value)) ctx.addIssue({ code: 'custom', message: r.message, path: r.path ?? [] });
    });
  }
  const validations: CelValidation[] = rules.map(({ rule, message, fieldPath, reason }) => ({
    rule,
    message,
    ...(fieldPath ? { fieldPath } : {}),
    ...(reason ? { reason } : {}),
  }));
  return out.meta({ [VALIDATIONS_KEY]: validations });
}

/**
 * A list whose items are identified by `keys`: the API server rejects
 * duplicate keys, and server-side apply merges items by key instead of
 * replacing the whole list (so two GitOps field managers can share it).
 */
export function listMap<S extends z.ZodArray>(schema: S, keys: string[]): S {
  return schema.meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': keys });
}

/** A list of unique scalars (the API server rejects duplicates). */
export function listSet<S extends z.ZodArray>(schema: S): S {
  return schema
    .refine((items) => new Set(items).size === items.length, { message: 'items must be unique' })
    .meta({ 'x-kubernetes-list-type': 'set' });
}

/** Bounds a map's size; zod has no maxProperties, so the check is added here. */
export function maxProperties<S extends z.ZodRecord>(schema: S, max: number): S {
  return schema
    .refine((v) => Object.keys(v as object).length <= max, { message: `at most ${max} entries` })
    .meta({ maxProperties: max });
}

/**
 * A regex check expressed as a CEL rule instead of an OpenAPI `pattern`, for
 * patterns too long to be a useful error message: the API server then says
 * `message` rather than echoing the expression.
 */
export function matchesRule(schema: z.ZodString, pattern: string, message: string): z.ZodString {
  if (pattern.includes("'")) throw new Error(`pattern ${pattern} cannot be a CEL raw string literal`);
  const re = new RegExp(pattern);
  return withRules(schema, [{ rule: `self.matches(r'${pattern}')`, message, check: (s) => re.test(s) }]);
}
