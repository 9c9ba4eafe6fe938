// KServe's V1 protocol (`{instances: [...]}` → `{predictions: [...]}`) on
// top of the V2 path: instances become a V2 request body, so validation and
// batching are the same code with the same messages.
import type { Tensors } from './datatypes.js';
import { badRequest } from './http-error.js';
import type { ModelSignature, TensorSpec } from './model-signature.js';
import type { Feature } from './sample-capture.js';
import { rowJson } from './tensor-ops.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Dimensions of a nested array, following first elements: [[1,2],[3,4]] → [2,2]. */
function nestedDims(v: unknown): number[] {
  const dims: number[] = [];
  let cur = v;
  while (Array.isArray(cur) && dims.length < 32) {
    dims.push(cur.length);
    cur = cur[0];
  }
  return dims;
}

interface V2InputBody {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

/** A V2 request body, and the number of instances (rows) it carries. */
export interface V1AsV2 {
  body: { inputs: V2InputBody[] };
  rows: number;
}

function v2Input(spec: TensorSpec, rows: unknown[]): V2InputBody {
  const inferred = nestedDims(rows[0]);
  const trailing = spec.rankKnown ? spec.shape.slice(1).map((d, i) => (d === -1 ? (inferred[i] ?? 1) : d)) : inferred;
  return { name: spec.name, datatype: spec.datatype, shape: [rows.length, ...trailing], data: rows };
}

/** The V2 body equivalent to a V1 predict body. */
export function v1ToV2Body(body: unknown, sig: ModelSignature, features: readonly Feature[]): V1AsV2 {
  if (!isObject(body)) throw badRequest('the request body must be a JSON object');
  const instances = body.instances;
  if (!Array.isArray(instances) || instances.length === 0) throw badRequest('"instances" must be a non-empty array');
  const only = sig.inputs.length === 1 ? sig.inputs[0] : undefined;
  if (only) {
    // An instance is a row of the single input, or an object keyed by feature names.
    const rows = instances.map((inst: unknown, i) => {
      if (!isObject(inst)) return inst;
      if (features.length === 0) throw badRequest(`instances[${i}] is an object, but the server knows no feature names; send arrays`);
      return features.map((f) => {
        if (!(f.name in inst)) throw badRequest(`instances[${i}]: missing feature "${f.name}"`);
        return inst[f.name];
      });
    });
    return { body: { inputs: [v2Input(only, rows)] }, rows: rows.length };
  }
  // Several inputs: every instance is an object keyed by input name.
  const inputs = sig.inputs.map((spec) =>
    v2Input(
      spec,
      instances.map((inst: unknown, i) => {
        if (!isObject(inst) || !(spec.name in inst)) throw badRequest(`instances[${i}] must be an object with a value for input "${spec.name}"`);
        return inst[spec.name];
      }),
    ),
  );
  return { body: { inputs }, rows: instances.length };
}

/** One prediction per instance: the output's row, or an object of outputs when there are several. */
export function v1Predictions(outputs: Tensors, rows: number): unknown[] {
  const entries = [...outputs];
  const predictions = new Array<unknown>(rows);
  for (let r = 0; r < rows; r++) {
    const only = entries.length === 1 ? entries[0] : undefined;
    if (only) predictions[r] = rowJson(only[1], r);
    else predictions[r] = Object.fromEntries(entries.map(([name, t]) => [name, rowJson(t, r)]));
  }
  return predictions;
}
