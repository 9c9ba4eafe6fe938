// The messages of the Open Inference Protocol V2 gRPC service
// (`inference.GRPCInferenceService`, grpc_predict_v2.proto as KServe publishes
// it; Triton's grpc_service.proto is a superset with the same numbers) that
// `fluxora serve` implements: health, metadata and ModelInfer. Declared here
// as a protobufjs JSON descriptor, as onnx-proto.ts does for ONNX: no .proto
// file to ship next to dist/, no code generation step. Field names and
// numbers are the protocol's; names stay snake_case as on the wire's schema,
// so the decoded objects read like the spec (raw_input_contents, ...).
import { Buffer } from 'node:buffer';
import protobuf from 'protobufjs';

export const GRPC_SERVICE = 'inference.GRPCInferenceService';

const str = (id: number) => ({ type: 'string', id });
const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const parameters = (id: number) => ({ keyType: 'string', type: 'InferParameter', id });
// InferInputTensor and InferOutputTensor have the same fields.
const tensor = {
  fields: {
    name: str(1),
    datatype: str(2),
    shape: repeated('int64', 3),
    parameters: parameters(4),
    contents: { type: 'InferTensorContents', id: 5 },
  },
};

const descriptor = {
  nested: {
    inference: {
      nested: {
        ServerLiveRequest: { fields: {} },
        ServerLiveResponse: { fields: { live: { type: 'bool', id: 1 } } },
        ServerReadyRequest: { fields: {} },
        ServerReadyResponse: { fields: { ready: { type: 'bool', id: 1 } } },
        ModelReadyRequest: { fields: { name: str(1), version: str(2) } },
        ModelReadyResponse: { fields: { ready: { type: 'bool', id: 1 } } },
        ServerMetadataRequest: { fields: {} },
        ServerMetadataResponse: { fields: { name: str(1), version: str(2), extensions: repeated('string', 3) } },
        ModelMetadataRequest: { fields: { name: str(1), version: str(2) } },
        ModelMetadataResponse: {
          fields: {
            name: str(1),
            versions: repeated('string', 2),
            platform: str(3),
            inputs: repeated('TensorMetadata', 4),
            outputs: repeated('TensorMetadata', 5),
          },
          nested: {
            TensorMetadata: { fields: { name: str(1), datatype: str(2), shape: repeated('int64', 3) } },
          },
        },
        ModelInferRequest: {
          fields: {
            model_name: str(1),
            model_version: str(2),
            id: str(3),
            parameters: parameters(4),
            inputs: repeated('InferInputTensor', 5),
            outputs: repeated('InferRequestedOutputTensor', 6),
            raw_input_contents: repeated('bytes', 7),
          },
          nested: {
            InferInputTensor: tensor,
            InferRequestedOutputTensor: { fields: { name: str(1), parameters: parameters(2) } },
          },
        },
        ModelInferResponse: {
          fields: {
            model_name: str(1),
            model_version: str(2),
            id: str(3),
            parameters: parameters(4),
            outputs: repeated('InferOutputTensor', 5),
            raw_output_contents: repeated('bytes', 6),
          },
          nested: {
            InferOutputTensor: tensor,
          },
        },
        // double_param and uint64_param are Triton's additions; declared so they decode, unused.
        InferParameter: {
          oneofs: { parameter_choice: { oneof: ['bool_param', 'int64_param', 'string_param', 'double_param', 'uint64_param'] } },
          fields: {
            bool_param: { type: 'bool', id: 1 },
            int64_param: { type: 'int64', id: 2 },
            string_param: str(3),
            double_param: { type: 'double', id: 4 },
            uint64_param: { type: 'uint64', id: 5 },
          },
        },
        // One repeated field per family of datatypes (no oneof: oneofs cannot hold repeated fields).
        InferTensorContents: {
          fields: {
            bool_contents: repeated('bool', 1),
            int_contents: repeated('int32', 2),
            int64_contents: repeated('int64', 3),
            uint_contents: repeated('uint32', 4),
            uint64_contents: repeated('uint64', 5),
            fp32_contents: repeated('float', 6),
            fp64_contents: repeated('double', 7),
            bytes_contents: repeated('bytes', 8),
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
const type = (name: string) => root.lookupType(`inference.${name}`);

/** A Long of the `long` package, which protobufjs depends on and decodes int64/uint64 fields to (exact beyond 2^53). */
export interface LongValue {
  toString(radix?: number): string;
  toNumber(): number;
}

/** An int64/uint64 as protobufjs decodes it (a LongValue) or as we write it (a number or decimal string). */
export type Int64 = number | LongValue;

/** InferTensorContents; typed arrays are accepted where the encoder only indexes (numeric fields). */
export interface TensorContents {
  bool_contents?: ArrayLike<boolean | number>;
  int_contents?: ArrayLike<number>;
  int64_contents?: ArrayLike<Int64 | string>;
  uint_contents?: ArrayLike<number>;
  uint64_contents?: ArrayLike<Int64 | string>;
  fp32_contents?: ArrayLike<number>;
  fp64_contents?: ArrayLike<number>;
  bytes_contents?: ArrayLike<Uint8Array>;
}

export interface InferParameterMessage {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
}

export interface InferInputTensorMessage {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters: Record<string, InferParameterMessage>;
  contents?: TensorContents | null;
}

/** A decoded ModelInferRequest: absent scalars are "", absent repeated fields []. */
export interface ModelInferRequestMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameterMessage>;
  inputs: InferInputTensorMessage[];
  outputs: { name: string; parameters: Record<string, InferParameterMessage> }[];
  raw_input_contents: Uint8Array[];
}

export interface InferOutputTensorMessage {
  name: string;
  datatype: string;
  shape: number[];
  contents?: TensorContents;
}

export interface ModelInferResponseMessage {
  model_name: string;
  model_version: string;
  id: string;
  outputs: InferOutputTensorMessage[];
  raw_output_contents?: Uint8Array[];
}

export interface NameVersionMessage {
  name: string;
  version: string;
}

export interface TensorMetadataMessage {
  name: string;
  datatype: string;
  shape: number[];
}

/** Message types by role; decode throws on bytes that are not a valid encoding. */
export const messages = {
  ServerLiveRequest: type('ServerLiveRequest'),
  ServerLiveResponse: type('ServerLiveResponse'),
  ServerReadyRequest: type('ServerReadyRequest'),
  ServerReadyResponse: type('ServerReadyResponse'),
  ModelReadyRequest: type('ModelReadyRequest'),
  ModelReadyResponse: type('ModelReadyResponse'),
  ServerMetadataRequest: type('ServerMetadataRequest'),
  ServerMetadataResponse: type('ServerMetadataResponse'),
  ModelMetadataRequest: type('ModelMetadataRequest'),
  ModelMetadataResponse: type('ModelMetadataResponse'),
  ModelInferRequest: type('ModelInferRequest'),
  ModelInferResponse: type('ModelInferResponse'),
} as const;

export type MessageName = keyof typeof messages;

/** Encodes a plain object of the named message (no verification: the callers build well-typed objects). */
export function encodeMessage(name: MessageName, value: object): Buffer {
  const bytes = messages[name].encode(value).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes bytes of the named message; throws (protobufjs' Error) on a malformed encoding. */
export function decodeMessage<T>(name: MessageName, bytes: Uint8Array): T {
  return messages[name].decode(bytes) as unknown as T;
}
