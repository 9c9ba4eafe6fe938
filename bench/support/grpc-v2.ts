// The client side of Open Inference Protocol V2 gRPC that bench:serve needs:
// ModelInfer messages, encoded with the server's own descriptor
// (src/serving/grpc-proto.ts: grpc_predict_v2.proto as KServe publishes it;
// MLServer and Triton use the same package, service and field numbers), and
// one unary call over a bare node:http2 session.
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
import { decodeMessage, encodeMessage, GRPC_SERVICE, type ModelInferResponseMessage } from '../../src/serving/grpc-proto.js';

export const INFER_PATH = `/${GRPC_SERVICE}/ModelInfer`;
export const SERVER_READY_PATH = `/${GRPC_SERVICE}/ServerReady`;

/** A gRPC message on the wire: uncompressed flag, 4-byte big-endian length, the bytes. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** The framed ModelInferRequest for one FP32 tensor in typed contents (what REST's JSON `data` is). */
export function inferRequestFrame(model: string, input: string, shape: number[], data: number[]): Buffer {
  return frame(encodeMessage('ModelInferRequest', { model_name: model, inputs: [{ name: input, datatype: 'FP32', shape, contents: { fp32_contents: data } }] }));
}

/** The framed ModelInferResponse with one FP32 output in typed contents (the gRPC floor's fixed answer). */
export function inferResponseFrame(model: string, output: string, shape: number[], data: number[]): Buffer {
  return frame(encodeMessage('ModelInferResponse', { model_name: model, outputs: [{ name: output, datatype: 'FP32', shape, contents: { fp32_contents: data } }] }));
}

/** Decodes a framed ModelInferRequest (the gRPC floor's only work). */
export function decodeInferRequest(framed: Buffer): unknown {
  if (framed.length < 5) throw new Error('short gRPC message');
  return decodeMessage('ModelInferRequest', framed.subarray(5, 5 + framed.readUInt32BE(1)));
}

/** The first output's first value, from typed contents or raw_output_contents. */
export function firstOutputValue(framed: Buffer): number {
  if (framed.length < 5 || framed[0] !== 0) throw new Error('not one uncompressed gRPC message');
  const msg = decodeMessage<ModelInferResponseMessage>('ModelInferResponse', framed.subarray(5, 5 + framed.readUInt32BE(1)));
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
