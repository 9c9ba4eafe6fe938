// The loaded ONNX model: an onnxruntime session, its V2 signature, and a run
// function over host tensors (the batcher's unit of work).
import * as ort from 'onnxruntime-node';
import { elementCount, infoOf, v2FromOrt, type HostTensor, type Tensors } from './datatypes.js';
import { InvalidModelError } from './load-failure.js';
import { signatureFromSession, type ModelSignature } from './model-signature.js';

export { InvalidModelError };

export interface OnnxModelOptions {
  /** Where the bytes came from (the artifact URI), named in errors. */
  source?: string;
  /**
   * Threads of onnxruntime's intra-op pool. 1 by default: serving pods scale
   * out by replicas under CPU limits, a pool sized to the node's cores
   * oversubscribes the pod, and small tabular models gain nothing from it.
   */
  intraOpThreads?: number;
}

export interface OnnxModel {
  signature: ModelSignature;
  run(feeds: Tensors): Promise<Tensors>;
  release(): Promise<void>;
}

export async function loadOnnxModel(bytes: Uint8Array, o: OnnxModelOptions = {}): Promise<OnnxModel> {
  const source = o.source ?? 'the artifact';
  if (bytes.length === 0) throw new InvalidModelError(`${source} is empty (0 bytes), not an ONNX model`);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: o.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Run failures reach the client as a 500 and our JSON log; onnxruntime's
      // own plain-text copy on stderr would only break log parsing.
      logSeverityLevel: 4,
    });
  } catch (e) {
    // Some onnxruntime messages start with its C++ source location and function signature; the sentence after is the news.
    const why = (e instanceof Error ? e.message : String(e)).replace(/^\S+\.(?:cc|cpp|h):\d+ [^\n]*?\) (?=[A-Z])/, '').trim();
    throw new InvalidModelError(`${source} is not a valid ONNX model (${bytes.length} bytes; truncated, or another kind of file?): onnxruntime: ${why}`);
  }
  let signature: ModelSignature;
  try {
    signature = signatureFromSession(session);
  } catch (e) {
    await session.release();
    throw new InvalidModelError(`${source}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const fetches = signature.outputs.map((t) => t.name);
  return {
    signature,
    async run(feeds: Tensors): Promise<Tensors> {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of feeds) {
        // The datatype was checked against the session's metadata, so the data array matches ort's type.
        ortFeeds[name] = new ort.Tensor(ortTypeOf(t), t.data, t.shape);
      }
      const results = await session.run(ortFeeds, fetches);
      const out: Tensors = new Map();
      for (const name of fetches) {
        const r = results[name];
        if (!r) throw new Error(`the model did not return output "${name}"`);
        const datatype = v2FromOrt(r.type);
        if (!datatype) throw new Error(`output "${name}" has type ${r.type}, which the V2 protocol cannot carry`);
        out.set(name, { datatype, shape: [...r.dims], data: r.data });
      }
      return out;
    },
    release: () => session.release(),
  };
}

const ortTypeOf = (t: HostTensor): ort.Tensor.Type => infoOf(t.datatype).ort;

/** A one-row input of zeros per model input, to warm the session up before going ready; undefined if shapes are unknown. */
export function warmupFeeds(sig: ModelSignature): Tensors | undefined {
  const feeds: Tensors = new Map();
  for (const spec of sig.inputs) {
    if (!spec.rankKnown) return undefined;
    const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
    const n = elementCount(shape);
    const info = infoOf(spec.datatype);
    const data = info.kind === 'bytes' ? new Array<string>(n).fill('') : info.alloc?.(n);
    if (!data) return undefined;
    feeds.set(spec.name, { datatype: spec.datatype, shape, data });
  }
  return feeds;
}
