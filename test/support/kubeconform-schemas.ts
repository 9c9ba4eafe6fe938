// Offline JSON schemas for kubeconform, in the layout its -schema-location
// template below expects: built-in kinds from the running kube-apiserver's
// /openapi/v2, custom resources from CRD manifests (ours from crds/). No
// schema is downloaded, so validation works without internet and always
// matches the API server the tests run against.
//
// kubeconform's -strict only selects "-strict" files: strictness lives in the
// schemas, so every object schema that lists its properties gets
// additionalProperties: false (except where Kubernetes itself preserves
// unknown fields), as the published kubernetes-json-schema strict set does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type JsonSchema = { [key: string]: unknown };

/** kubeconform -schema-location template relative to the schema directory. */
export const SCHEMA_LOCATION = '{{ .Group }}/{{ .ResourceAPIVersion }}/{{ .ResourceKind }}{{ .StrictSuffix }}.json';

/** Where the schema of a kind lives; mirrors kubeconform's template variables (the core group is named after its version). */
export function schemaFile(group: string, version: string, kind: string): string {
  return join(group || version, version, `${kind.toLowerCase()}-strict.json`);
}

const INT_OR_STRING: JsonSchema = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
const QUANTITY: JsonSchema = { oneOf: [{ type: 'string' }, { type: 'number' }] };

// Definitions whose published type ("string") is narrower than what the API server accepts.
const REPLACED_DEFINITIONS: Record<string, JsonSchema> = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': INT_OR_STRING,
  'io.k8s.apimachinery.pkg.api.resource.Quantity': QUANTITY,
};

const isObject = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Makes a schema strict and draft-4 compatible, recursively: closes objects, expands int-or-string and nullable. */
export function strictSchema(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' || key === 'patternProperties' || key === 'definitions') {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, strictSchema(v)]));
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = isObject(value) ? strictSchema(value) : Array.isArray(value) ? value.map((v) => strictSchema(v as JsonSchema)) : value;
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = (value as JsonSchema[]).map(strictSchema);
    } else if (!key.startsWith('x-kubernetes-') && key !== 'nullable') {
      out[key] = value;
    }
  }
  const preserveUnknown = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties && out.additionalProperties === undefined && !preserveUnknown) out.additionalProperties = false;
  if (schema['x-kubernetes-int-or-string'] === true || schema.format === 'int-or-string') {
    delete out.type;
    delete out.format;
    if (!out.anyOf && !out.oneOf) Object.assign(out, INT_OR_STRING);
  }
  if (schema.nullable === true) {
    // Draft 4 has no `nullable`: null is allowed by widening the type, or around a $ref.
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (out.$ref) return { anyOf: [{ type: 'null' }, { $ref: out.$ref }] };
  }
  return out;
}

interface OpenApiV2 {
  definitions: Record<string, JsonSchema & { 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[] }>;
}

function refsIn(schema: unknown, into: Set<string>): void {
  if (Array.isArray(schema)) for (const s of schema) refsIn(s, into);
  else if (isObject(schema)) {
    for (const [k, v] of Object.entries(schema)) {
      if (k === '$ref' && typeof v === 'string') into.add(v.replace('#/definitions/', ''));
      else refsIn(v, into);
    }
  }
}

/** The definitions a schema needs, transitively. */
function closure(defs: OpenApiV2['definitions'], root: string): string[] {
  const seen = new Set<string>();
  const queue = [root];
  while (queue.length) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const refs = new Set<string>();
    refsIn(REPLACED_DEFINITIONS[name] ?? defs[name], refs);
    queue.push(...refs);
  }
  return [...seen].sort();
}

/** One standalone strict schema per kind the API server publishes. */
export function schemasFromOpenApiV2(doc: OpenApiV2): Map<string, JsonSchema> {
  const out = new Map<string, JsonSchema>();
  for (const [name, def] of Object.entries(doc.definitions)) {
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      const definitions = Object.fromEntries(closure(doc.definitions, name).map((n) => [n, REPLACED_DEFINITIONS[n] ?? doc.definitions[n]!]));
      out.set(schemaFile(gvk.group, gvk.version, gvk.kind), strictSchema({ ...def, definitions }));
    }
  }
  return out;
}

export interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string }; versions: { name: string; schema?: { openAPIV3Schema?: JsonSchema } }[] };
}

/** One strict schema per served version of a CustomResourceDefinition. */
export function schemasFromCrd(crd: Crd): Map<string, JsonSchema> {
  if (crd.kind !== 'CustomResourceDefinition') throw new Error(`expected a CustomResourceDefinition, got ${crd.kind}`);
  const out = new Map<string, JsonSchema>();
  for (const v of crd.spec.versions) {
    const schema = v.schema?.openAPIV3Schema;
    if (!schema) throw new Error(`CRD ${crd.spec.names.kind} version ${v.name} has no openAPIV3Schema`);
    const strict = strictSchema(schema);
    // apiVersion, kind and metadata are implicit in a CRD schema; spell them out so strict mode accepts them.
    // A CRD may constrain a few metadata fields (name), but the API server
    // validates the rest as ObjectMeta: that object must stay open.
    const { additionalProperties: _closed, ...metadata } = ((strict.properties as JsonSchema | undefined)?.metadata as JsonSchema | undefined) ?? { type: 'object' };
    const properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, ...(strict.properties as JsonSchema | undefined), metadata };
    out.set(schemaFile(crd.spec.group, v.name, crd.spec.names.kind), { ...strict, properties, additionalProperties: false });
  }
  return out;
}

export function writeSchemas(dir: string, schemas: Map<string, JsonSchema>): void {
  for (const [file, schema] of schemas) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), JSON.stringify(schema));
  }
}
