// What the REST and gRPC front ends share once a request is decoded: which
// model and version it names, the loaded model (or why there is none), the
// run through the batcher with sample capture, and the metadata answers. Both
// protocols call these, so their checks, messages and side effects are one.
import { VERSION } from '../version.js';
import type { ServeConfig } from './config.js';
import type { Tensors } from './datatypes.js';
import { HttpError, notFound } from './http-error.js';
import type { InferRequest } from './infer-request.js';
import { tensorMetadata, type ModelSignature } from './model-signature.js';
import type { Exchange } from './promotion.js';
import type { ServedModel, ServerState } from './server-state.js';

/** Protocol extensions we implement (Triton's names). */
const EXTENSIONS = ['binary_tensor_data'];

/** The server metadata answer (GET /v2, ServerMetadata). */
export const serverMetadata = () => ({ name: 'fluxora', version: VERSION, extensions: [...EXTENSIONS] });

/** The model metadata answer (GET /v2/models/{name}, ModelMetadata). */
export function modelMetadata(config: ServeConfig, sig: ModelSignature) {
  return {
    name: config.modelName,
    versions: [config.modelVersion],
    platform: 'onnxruntime_onnx',
    inputs: sig.inputs.map(tensorMetadata),
    outputs: sig.outputs.map(tensorMetadata),
  };
}

/** 404 unless the request names the served model (and, if it names one, the served version). */
export function checkModel(s: ServerState, name: string, version: string | undefined): void {
  const c = s.config;
  if (name !== c.modelName) throw notFound(`unknown model "${name}"; this server serves "${c.modelName}"`);
  if (version !== undefined && version !== c.modelVersion) {
    throw notFound(`model "${name}" has no version "${version}"; this server serves version "${c.modelVersion}"`);
  }
}

/** The loaded model, or 503 with the reason there is none yet. */
export function loadedModel(s: ServerState): ServedModel {
  const m = s.model;
  if (!m) throw new HttpError(503, `model "${s.config.modelName}" is not ready: ${s.notReadyReason}`, 'not_ready');
  return m;
}

/**
 * Runs a validated request through the batcher, captures its rows for drift and offers it to the
 * prediction log under `id` (the id the answer carries); a model failure is a 500.
 */
export async function runInference(s: ServerState, model: ServedModel, r: InferRequest, id: string): Promise<Tensors> {
  let outputs: Tensors;
  try {
    outputs = await model.batcher.submit(r.inputs, r.rows, r.batchKey);
  } catch (e) {
    s.logger.warn({ err: e }, 'inference failed');
    throw new HttpError(500, `inference failed: ${e instanceof Error ? e.message : String(e)}`, 'inference');
  }
  model.capture.capture(r.inputs, outputs);
  s.predictionLog?.record(id, r.inputs, outputs);
  return outputs;
}

/** What promotion analysis needs of an answered request (promotion.ts): its id, inputs and the model's first output. */
export function exchangeOf(model: ServedModel, r: InferRequest, id: string, outputs: Tensors): Exchange {
  return { id, inputs: r.inputs, output: outputs.get((model.signature.outputs[0] as { name: string }).name) };
}
