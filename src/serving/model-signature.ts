// The model's inputs and outputs as V2 metadata, read from the onnxruntime
// session (the artifact is the only source of truth for names, types and
// shapes), and whether requests can be batched along the first dimension.
import type { InferenceSession } from 'onnxruntime-node';
import { v2FromOrt, type V2Datatype } from './datatypes.js';

export interface TensorSpec {
  name: string;
  datatype: V2Datatype;
  /** -1 marks a dynamic dimension; empty with rankKnown false means "any shape". */
  shape: number[];
  rankKnown: boolean;
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Every input and output has a dynamic first dimension: rows of requests can be stacked. */
  batchable: boolean;
}

type Metadata = readonly InferenceSession.ValueMetadata[];

function tensorSpec(m: InferenceSession.TensorValueMetadata, role: string): TensorSpec {
  const datatype = v2FromOrt(m.type);
  if (!datatype) throw new Error(`${role} "${m.name}" has type ${m.type}, which the V2 protocol cannot carry`);
  // onnxruntime reports symbolic or unknown dimensions as strings.
  const shape = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  // onnxruntime reports both scalars and shapeless values as []; treat it as "any shape" (never batched).
  return { name: m.name, datatype, shape, rankKnown: shape.length > 0 };
}

const batchDim = (t: TensorSpec) => t.rankKnown && t.shape[0] === -1;

export function signatureFromMetadata(inputMeta: Metadata, outputMeta: Metadata): ModelSignature {
  const inputs = inputMeta.map((m) => {
    if (!m.isTensor) throw new Error(`input "${m.name}" is not a tensor; fluxora serve only feeds tensors`);
    return tensorSpec(m, 'input');
  });
  // Non-tensor outputs (e.g. the ZipMap of skl2onnx classifiers) are left out
  // of metadata and never fetched, so the tensor outputs stay servable.
  const outputs = outputMeta.flatMap((m) => (m.isTensor ? [tensorSpec(m, 'output')] : []));
  if (inputs.length === 0) throw new Error('the model has no inputs');
  if (outputs.length === 0) throw new Error('the model has no tensor outputs');
  return { inputs, outputs, batchable: inputs.every(batchDim) && outputs.every(batchDim) };
}

export function signatureFromSession(session: InferenceSession): ModelSignature {
  return signatureFromMetadata(session.inputMetadata, session.outputMetadata);
}

/** The V2 metadata form of a tensor: `{name, datatype, shape}`. */
export const tensorMetadata = (t: TensorSpec) => ({ name: t.name, datatype: t.datatype, shape: t.shape });
