// The client side of Open Inference Protocol V2 gRPC that bench:serve needs:
// the messages of ModelInfer (grpc_predict_v2.proto as KServe publishes it;
// MLServer and Triton use the same package, service and field numbers) as a
// protobufjs JSON descriptor, and one unary call over a bare node:http2
// session.
//
// Why not @grpc/grpc-js for the load: like the REST load generator's raw
// sockets, the point is that the client is never what limits the server it
// measures. A unary gRPC call is an HTTP/2 POST of one length-prefixed message
// with three headers, answered by one message and a `grpc-status` trailer;
// node:http2 does the HTTP/2 (flow control, HPACK, multiplexing), and the
// request is encoded once, so a call costs the client one stream and no
// protobuf work. Answers are checked before every measured run (decoded here
// and compared with onnxruntime's), so a server that answers wrongly fails the
// benchmark instead of looking fast.
import { Buffer } from 'node:buffer';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { once } from 'node:events';
import protobuf from 'protobufjs';

export const INFER_PATH = '/inference.GRPCInferenceService/ModelInfer';
export const SERVER_READY_PATH = '/inference.GRPCInferenceService/ServerReady';

const str = (id: number) => ({ type: 'string', id });
const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
// Only the fields the benchmark reads or writes; `parameters` (4) and the
// requested outputs are left out, and protobufjs skips unknown fields.
const tensor = { fields: { name: str(1), datatype: str(2), shape: repeated('int64', 3), contents: { type: 'InferTensorContents', id: 5 } } };
const root = protobuf.Root.fromJSON({
  nested: {
    inference: {
      nested: {
        ServerReadyRequest: { fields: {} },
        ModelInferRequest: {
          fields: { model_name: str(1), model_version: str(2), id: str(3), inputs: repeated('InferInputTensor', 5), raw_input_contents: repeated('bytes', 7) },
          nested: { InferInputTensor: tensor },
        },
        ModelInferResponse: {
          fields: { model_name: str(1), model_version: str(2), id: str(3), outputs: repeated('InferOutputTensor', 5), raw_output_contents: repeated('bytes', 6) },
          nested: { InferOutputTensor: tensor },
        },
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
});
const InferRequest = root.lookupType('inference.ModelInferRequest');
const InferResponse = root.lookupType('inference.ModelInferResponse');

/** A gRPC message on the wire: uncompressed flag, 4-byte big-endian length, the bytes. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** The framed ModelInferRequest for one FP32 tensor in typed contents (what REST's JSON `data` is). */
export function inferRequestFrame(model: string, input: string, shape: number[], data: number[]): Buffer {
  const msg = InferRequest.fromObject({ model_name: model, inputs: [{ name: input, datatype: 'FP32', shape, contents: { fp32_contents: data } }] });
  return frame(InferRequest.encode(msg).finish());
}

/** The framed ModelInferResponse with one FP32 output in typed contents (the gRPC floor's fixed answer). */
export function inferResponseFrame(model: string, output: string, shape: number[], data: number[]): Buffer {
  const msg = InferResponse.fromObject({ model_name: model, outputs: [{ name: output, datatype: 'FP32', shape, contents: { fp32_contents: data } }] });
  return frame(InferResponse.encode(msg).finish());
}

/** Decodes a framed ModelInferRequest (the gRPC floor's only work). */
export function decodeInferRequest(framed: Buffer): unknown {
  if (framed.length < 5) throw new Error('short gRPC message');
  return InferRequest.decode(framed.subarray(5, 5 + framed.readUInt32BE(1)));
}

/** The first output's first value, from typed contents or raw_output_contents. */
export function firstOutputValue(framed: Buffer): number {
  if (framed.length < 5 || framed[0] !== 0) throw new Error('not one uncompressed gRPC message');
  const msg = InferResponse.toObject(InferResponse.decode(framed.subarray(5, 5 + framed.readUInt32BE(1)))) as {
    outputs?: { datatype?: string; contents?: { fp32_contents?: number[]; fp64_contents?: number[] } }[];
    raw_output_contents?: Uint8Array[];
  };
  const out = msg.outputs?.[0];
  const raw = msg.raw_output_contents?.[0];
  const v = raw ? Buffer.from(raw).readFloatLE(0) : (out?.contents?.fp32_contents?.[0] ?? out?.contents?.fp64_contents?.[0]);
  if (v === undefined) throw new Error(`no output value in ${JSON.stringify(msg)}`);
  return v;
}

export function connectSession(port: number): Promise<ClientHttp2Session> {
  const session = connect(`http://127.0.0.1:${port}`);
  return Promise.race([
    once(session, 'connect').then(() => session),
    once(session, 'error').then(([e]) => {
      throw e as Error;
    }),
  ]);
}

const GRPC_HEADERS = { ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' } as const;

export interface UnaryResult {
  /** grpc-status, or -1 when the stream failed before one arrived. */
  status: number;
  message: string;
  body: Buffer;
}

/**
 * One unary call on an open session. `keepBody` collects the answer (checks);
 * the load leaves it unread but drained.
 */
export function unary(session: ClientHttp2Session, path: string, framed: Buffer, keepBody = false): Promise<UnaryResult> {
  return new Promise((resolve) => {
    let status = -1;
    let message = '';
    const chunks: Buffer[] = [];
    const read = (h: IncomingHttpHeaders) => {
      const s = h['grpc-status'];
      const m = h['grpc-message'];
      if (typeof s === 'string') status = Number(s);
      if (typeof m === 'string') message = decodeURIComponent(m);
    };
    const stream = session.request({ ...GRPC_HEADERS, ':path': path });
    stream.on('response', read); // a trailers-only answer (errors) carries grpc-status here
    stream.on('trailers', read);
    if (keepBody) stream.on('data', (c: Buffer) => chunks.push(c));
    else stream.resume();
    stream.on('error', (e: Error) => (message ||= e.message));
    stream.on('close', () => resolve({ status, message, body: Buffer.concat(chunks) }));
    stream.end(framed);
  });
}
