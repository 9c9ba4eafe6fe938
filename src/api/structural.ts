// zod -> Kubernetes structural OpenAPI v3 schema.
//
// z.toJSONSchema (target openapi-3.0, io input so defaulted fields are not
// required) gets most of the way; the API server additionally requires a
// *structural* schema: a `type` on every node, no anyOf/oneOf that carry
// types (except the int-or-string idiom), no additionalProperties: false,
// no keywords it does not know. Anything this converter does not recognise
// is an error rather than silently dropped, so a new zod construct can never
// produce a CRD that differs from the schema it came from.
import { z } from 'zod';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps the generator emits. */
export interface JSONSchemaProps {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  enum?: JsonValue[];
  default?: JsonValue;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  items?: JSONSchemaProps;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps;
  required?: string[];
  minProperties?: number;
  maxProperties?: number;
  anyOf?: JSONSchemaProps[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: { rule: string; message: string; fieldPath?: string; reason?: string }[];
}

type Node = Record<string, unknown>;

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
/** Formats the API server validates; others (zod's uuid/email/...) are dropped in favour of pattern. */
const KUBE_FORMATS = new Set(['date-time', 'date', 'int32', 'int64', 'byte']);
/** Keywords copied verbatim when present. */
const COPIED = [
  'description',
  'enum',
  'default',
  'nullable',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
  'x-kubernetes-preserve-unknown-fields',
] as const;
/** Keywords handled by dedicated code below, or deliberately dropped. */
const HANDLED = new Set([
  'type',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'properties',
  'additionalProperties',
  'required',
  'items',
  'anyOf',
  'oneOf',
  // zod's record key schema: Kubernetes has no propertyNames, keys are validated in zod only.
  'propertyNames',
  '$schema',
]);

/** z.int() bounds itself to the safe-integer range; that is noise in a CRD. */
const isSafeIntBound = (v: unknown) => v === Number.MAX_SAFE_INTEGER || v === Number.MIN_SAFE_INTEGER;

export class StructuralSchemaError extends Error {}

function fail(path: string, why: string): never {
  throw new StructuralSchemaError(`${path || '<root>'}: ${why}`);
}

/** anyOf [integer, string] -> the x-kubernetes-int-or-string idiom (e.g. resource quantities). */
function intOrString(node: Node, branches: Node[], path: string): JSONSchemaProps | undefined {
  const types = branches.map((b) => b.type).sort();
  if (branches.length !== 2 || types[0] !== 'integer' || types[1] !== 'string') return undefined;
  const str = branches.find((b) => b.type === 'string')!;
  const int = branches.find((b) => b.type === 'integer')!;
  const out: JSONSchemaProps = {
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
  };
  if (typeof node.description === 'string') out.description = node.description;
  // Value validations at the node apply by type: pattern/maxLength to the
  // string form, minimum to the integer form.
  if (typeof str.pattern === 'string') out.pattern = str.pattern;
  if (typeof str.maxLength === 'number') out.maxLength = str.maxLength;
  if (typeof int.minimum === 'number' && !isSafeIntBound(int.minimum)) out.minimum = int.minimum;
  // CEL rules on the value as a whole (type(self) tells the two forms apart).
  const rules = node['x-kubernetes-validations'];
  if (rules !== undefined) out['x-kubernetes-validations'] = structuredClone(rules) as JSONSchemaProps['x-kubernetes-validations'];
  const allowed = new Set(['anyOf', 'oneOf', 'description', 'x-kubernetes-validations']);
  for (const k of Object.keys(node)) if (!allowed.has(k)) fail(path, `unsupported keyword "${k}" on an int-or-string value`);
  return out;
}

/** Converts one JSON Schema node (recursively) into a structural schema node. */
export function toStructural(node: Node, path = ''): JSONSchemaProps {
  const union = (node.anyOf ?? node.oneOf) as Node[] | undefined;
  if (union) {
    return intOrString(node, union, path) ?? fail(path, 'unions (anyOf/oneOf) are not structural; model one-of with optional fields and a CEL rule');
  }
  for (const k of Object.keys(node)) {
    if (!HANDLED.has(k) && !(COPIED as readonly string[]).includes(k)) fail(path, `unsupported keyword "${k}"`);
  }
  const type = node.type;
  if (typeof type !== 'string' || !TYPES.has(type)) fail(path, `every node needs a type, got ${JSON.stringify(type)}`);
  const out: JSONSchemaProps = { type: type as JSONSchemaProps['type'] };
  for (const k of COPIED) {
    if (node[k] !== undefined) (out as Record<string, unknown>)[k] = structuredClone(node[k]);
  }

  // RegExp#source escapes "/" as "\/"; legal for RE2 too, but noise in the CRD.
  if (out.pattern !== undefined) out.pattern = out.pattern.replace(/(?<!\\)((?:\\\\)*)\\\//g, '$1/');

  if (typeof node.format === 'string' && KUBE_FORMATS.has(node.format)) {
    out.format = node.format;
    // zod adds its own (long, non-RE2) date-time regex; the format already validates.
    if (node.format === 'date-time') delete out.pattern;
  }

  for (const side of ['minimum', 'maximum'] as const) {
    const v = node[side];
    if (typeof v === 'number' && !isSafeIntBound(v)) out[side] = v;
    const exclusive = side === 'minimum' ? 'exclusiveMinimum' : 'exclusiveMaximum';
    const ex = node[exclusive];
    // openapi-3.0 spells exclusivity as a boolean next to the bound; newer drafts as a number.
    if (ex === true) out[exclusive] = true;
    else if (typeof ex === 'number') {
      out[side] = ex;
      out[exclusive] = true;
    }
  }

  if (type === 'object') {
    const props = node.properties as Record<string, Node> | undefined;
    if (props) {
      out.properties = {};
      for (const name of Object.keys(props).sort()) out.properties[name] = toStructural(props[name]!, `${path}.${name}`);
    }
    const additional = node.additionalProperties;
    if (additional && typeof additional === 'object') out.additionalProperties = toStructural(additional as Node, `${path}[*]`);
    else if (additional === true) out['x-kubernetes-preserve-unknown-fields'] = true;
    // additionalProperties: false is the default meaning of a structural schema (unknown fields are pruned).
    if (Array.isArray(node.required) && node.required.length > 0) out.required = [...(node.required as string[])].sort();
    if (!props && !out.additionalProperties && !out['x-kubernetes-preserve-unknown-fields']) {
      fail(path, 'an object needs properties or additionalProperties, else every field would be pruned');
    }
  } else if (node.properties || node.additionalProperties || node.required) {
    fail(path, `properties on a non-object (${type})`);
  }

  if (type === 'array') {
    if (!node.items || typeof node.items !== 'object' || Array.isArray(node.items)) fail(path, 'an array needs a single items schema');
    out.items = toStructural(node.items as Node, `${path}[]`);
    if (out.maxItems === undefined) fail(path, 'arrays need maxItems (CEL cost estimation)');
  } else if (node.items) {
    fail(path, `items on a non-array (${type})`);
  }

  if (type === 'string' && out.maxLength === undefined && out.enum === undefined && out.format === undefined) {
    fail(path, 'strings need maxLength, enum or a format (CEL cost estimation)');
  }
  return out;
}

/** The structural schema of a zod schema, as accepted on input (defaulted fields optional). */
export function structuralSchemaOf(schema: z.ZodType): JSONSchemaProps {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' });
  return toStructural(json);
}
