// Builders for the small tabular models Fluxora writes itself: the test
// fixtures, and the built-in trainer's linear and logistic models. They emit
// plain opset-13 ONNX (MatMul, Add, Sigmoid) that any ONNX runtime can load.
import { encodeOnnxModel, OnnxDataType, type OnnxNode, type OnnxTensor } from './onnx-proto.js';

export const ONNX_OPSET = 13;
/** The IR version that goes with opset 13 (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;
/** Name of the dynamic batch dimension in the models we write. */
export const BATCH_DIM = 'batch';

export interface LinearModelOptions {
  /** weights[i][j]: weight of input column i for output j; every row has the same length. */
  weights: number[][];
  /** One bias per output column. */
  bias: number[];
  inputName?: string;
  outputName?: string;
  /** 'sigmoid' makes it a logistic model (probabilities); default 'none'. */
  activation?: 'none' | 'sigmoid';
  graphName?: string;
  producerVersion?: string;
  docString?: string;
  /** Stored as ONNX metadata_props (e.g. feature names, training metrics). */
  metadata?: Record<string, string>;
}

/** An FP32 initializer, little-endian, every value finite. */
export function float32Tensor(name: string, dims: number[], values: readonly number[]): OnnxTensor {
  const data = new Float32Array(values);
  for (const v of data) {
    if (!Number.isFinite(v)) throw new Error(`tensor ${name}: every value must be finite in FP32, got ${v}`);
  }
  // raw_data is little-endian; copy through a DataView so big-endian hosts write the same bytes.
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims, dataType: OnnxDataType.FLOAT, rawData: raw };
}

/** y = x·W + b, optionally followed by a sigmoid; input [batch, n], output [batch, k], FP32. */
export function buildLinearModel(o: LinearModelOptions): Uint8Array {
  const n = o.weights.length;
  const k = o.bias.length;
  if (n === 0) throw new Error('weights must have at least one row (one per input column)');
  if (k === 0) throw new Error('bias must have at least one value (one per output column)');
  o.weights.forEach((row, i) => {
    if (row.length !== k) throw new Error(`weights row ${i} has ${row.length} values; the bias has ${k}`);
  });
  const inputName = o.inputName ?? 'x';
  const outputName = o.outputName ?? 'y';
  const sigmoid = o.activation === 'sigmoid';
  const nodes: OnnxNode[] = [
    { opType: 'MatMul', inputs: [inputName, 'W'], outputs: ['xW'], name: 'matmul' },
    { opType: 'Add', inputs: ['xW', 'b'], outputs: [sigmoid ? 'logits' : outputName], name: 'add_bias' },
  ];
  return encodeTabular(o, nodes, [float32Tensor('W', [n, k], o.weights.flat()), float32Tensor('b', [k], o.bias)], n, k, sigmoid ? 'logistic' : 'linear');
}

/**
 * The model around a graph body: the optional Sigmoid head, the [batch, n] -> [batch, k] FP32 signature and
 * the model-level fields every builder sets the same way.
 */
function encodeTabular(o: Omit<LinearModelOptions, 'weights' | 'bias'>, body: OnnxNode[], initializers: OnnxTensor[], n: number, k: number, defaultGraphName: string): Uint8Array {
  const inputName = o.inputName ?? 'x';
  const outputName = o.outputName ?? 'y';
  const nodes = o.activation === 'sigmoid' ? [...body, { opType: 'Sigmoid', inputs: ['logits'], outputs: [outputName], name: 'sigmoid' }] : body;
  return encodeOnnxModel({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'fluxora',
    ...(o.producerVersion !== undefined ? { producerVersion: o.producerVersion } : {}),
    ...(o.docString !== undefined ? { docString: o.docString } : {}),
    graph: {
      name: o.graphName ?? defaultGraphName,
      nodes,
      initializers,
      inputs: [{ name: inputName, elemType: OnnxDataType.FLOAT, shape: [BATCH_DIM, n] }],
      outputs: [{ name: outputName, elemType: OnnxDataType.FLOAT, shape: [BATCH_DIM, k] }],
    },
    ...(o.metadata ? { metadata: o.metadata } : {}),
  });
}

/** Logistic regression: sigmoid(x·W + b), outputs probabilities (default output name "probability"). */
export function buildLogisticModel(o: Omit<LinearModelOptions, 'activation'>): Uint8Array {
  return buildLinearModel({ ...o, outputName: o.outputName ?? 'probability', activation: 'sigmoid' });
}

export interface MlpModelOptions extends Omit<LinearModelOptions, 'weights' | 'bias'> {
  /** Hidden layer: w1[i][u] weight of input i for hidden unit u, b1[u] its bias; tanh activation. */
  w1: number[][];
  b1: number[];
  /** Output layer: w2[u][j] weight of hidden unit u for output j, b2[j] its bias. */
  w2: number[][];
  b2: number[];
}

/** One tanh hidden layer: act(tanh(x·W1 + b1)·W2 + b2), act = identity or sigmoid; input [batch, n], FP32. */
export function buildMlpModel(o: MlpModelOptions): Uint8Array {
  const n = o.w1.length;
  const h = o.b1.length;
  const k = o.b2.length;
  if (n === 0 || h === 0 || k === 0) throw new Error('an MLP needs at least one input, one hidden unit and one output');
  o.w1.forEach((row, i) => {
    if (row.length !== h) throw new Error(`w1 row ${i} has ${row.length} values; b1 has ${h}`);
  });
  if (o.w2.length !== h) throw new Error(`w2 has ${o.w2.length} rows; it needs one per hidden unit (${h})`);
  o.w2.forEach((row, i) => {
    if (row.length !== k) throw new Error(`w2 row ${i} has ${row.length} values; b2 has ${k}`);
  });
  const inputName = o.inputName ?? 'x';
  const outputName = o.outputName ?? 'y';
  const sigmoid = o.activation === 'sigmoid';
  const nodes: OnnxNode[] = [
    { opType: 'MatMul', inputs: [inputName, 'W1'], outputs: ['xW1'], name: 'hidden_matmul' },
    { opType: 'Add', inputs: ['xW1', 'b1'], outputs: ['hidden_pre'], name: 'hidden_bias' },
    { opType: 'Tanh', inputs: ['hidden_pre'], outputs: ['hidden'], name: 'hidden_tanh' },
    { opType: 'MatMul', inputs: ['hidden', 'W2'], outputs: ['hW2'], name: 'output_matmul' },
    { opType: 'Add', inputs: ['hW2', 'b2'], outputs: [sigmoid ? 'logits' : outputName], name: 'output_bias' },
  ];
  const initializers = [float32Tensor('W1', [n, h], o.w1.flat()), float32Tensor('b1', [h], o.b1), float32Tensor('W2', [h, k], o.w2.flat()), float32Tensor('b2', [k], o.b2)];
  return encodeTabular(o, nodes, initializers, n, k, 'mlp');
}
