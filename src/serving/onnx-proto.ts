// The subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto)
// Fluxora needs to *write* models: the test fixtures and the built-in trainer
// emit ONNX without a Python toolchain. Field numbers are onnx.proto's; only
// the fields we write are declared, which is valid protobuf (readers skip
// nothing they need, and ONNX readers ignore nothing we send).
import protobuf from 'protobufjs';

/** TensorProto.DataType values we use (onnx.proto numbering). */
export const OnnxDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  DOUBLE: 11,
} as const;
export type OnnxDataTypeCode = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** AttributeProto.AttributeType values. */
export const OnnxAttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: OnnxDataTypeCode;
  /** Little-endian element bytes, as TensorProto.raw_data. */
  rawData: Uint8Array;
}

export interface OnnxAttribute {
  name: string;
  type: (typeof OnnxAttributeType)[keyof typeof OnnxAttributeType];
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: OnnxAttribute[];
}

/** A dimension: a fixed size, or a symbolic name (dynamic, e.g. the batch). */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  elemType: OnnxDataTypeCode;
  shape: OnnxDim[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  docString?: string;
}

export interface OnnxModel {
  /** IR version; 7 goes with opset 13. */
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion?: string;
  docString?: string;
  graph: OnnxGraph;
  metadata?: Record<string, string>;
}

// protobufjs JSON descriptor of the subset; `rule: 'repeated'` scalars of
// proto3-style packed encoding are what onnx.proto (proto2 syntax) also accepts.
const descriptor = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: {
          fields: { tensorType: { type: 'TypeProtoTensor', id: 1 } },
        },
        TypeProtoTensor: {
          fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } },
        },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
      },
    },
  },
};

const ModelProto = protobuf.Root.fromJSON(descriptor).lookupType('onnx.ModelProto');

const tensorMessage = (t: OnnxTensor) => ({ dims: t.dims, dataType: t.dataType, name: t.name, rawData: t.rawData });

const valueInfoMessage = (v: OnnxValueInfo) => ({
  name: v.name,
  type: {
    tensorType: {
      elemType: v.elemType,
      shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});

/** Serializes a model to ONNX bytes; equal input gives byte-identical output. */
export function encodeOnnxModel(m: OnnxModel): Uint8Array {
  const message = ModelProto.fromObject({
    irVersion: m.irVersion,
    producerName: m.producerName,
    ...(m.producerVersion !== undefined ? { producerVersion: m.producerVersion } : {}),
    ...(m.docString !== undefined ? { docString: m.docString } : {}),
    opsetImport: [{ domain: '', version: m.opsetVersion }],
    graph: {
      name: m.graph.name,
      node: m.graph.nodes.map((n) => ({
        input: n.inputs,
        output: n.outputs,
        name: n.name ?? '',
        opType: n.opType,
        domain: n.domain ?? '',
        attribute: (n.attributes ?? []).map((a) => ({ ...a, ...(a.t ? { t: tensorMessage(a.t) } : {}) })),
      })),
      initializer: m.graph.initializers.map(tensorMessage),
      ...(m.graph.docString !== undefined ? { docString: m.graph.docString } : {}),
      input: m.graph.inputs.map(valueInfoMessage),
      output: m.graph.outputs.map(valueInfoMessage),
    },
    // Sorted so that key order in the caller's object cannot change the bytes.
    metadataProps: Object.entries(m.metadata ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => ({ key, value })),
  });
  return ModelProto.encode(message).finish();
}
