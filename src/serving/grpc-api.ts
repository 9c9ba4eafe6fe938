// The gRPC port: Open Inference Protocol V2 `inference.GRPCInferenceService`
// (ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata,
// ModelInfer) over @grpc/grpc-js. Requests are decoded here, not by grpc-js:
// its deserializer's failure is a bare INTERNAL "Error deserializing request",
// ours is INVALID_ARGUMENT naming the problem, counted in the metrics like a
// REST 400. Everything after decoding is the REST code's (model-service.ts,
// infer-request.ts through grpc-tensors.ts): same checks, same messages, the
// same batcher, sample capture and metrics series (protocol="grpc"), and a
// REST status maps onto the gRPC code of the same meaning.
import { randomUUID } from 'node:crypto';
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { decodeMessage, encodeMessage, GRPC_SERVICE, type MessageName, type ModelInferRequestMessage, type NameVersionMessage } from './grpc-proto.js';
import { inferRequestFromGrpc, inferResponseToGrpc } from './grpc-tensors.js';
import { badRequest, HttpError, type ErrorReason } from './http-error.js';
import { UNKNOWN_MODEL, type Endpoint } from './metrics.js';
import { checkModel, exchangeOf, loadedModel, modelMetadata, runInference, serverMetadata } from './model-service.js';
import type { Exchange } from './promotion.js';
import type { ServedModel, ServerState } from './server-state.js';

/** The gRPC status code of a REST status: the same outcome in the other protocol's words. */
export function grpcStatusOf(httpStatus: number): status {
  switch (httpStatus) {
    case 400:
      return status.INVALID_ARGUMENT;
    case 401:
      return status.UNAUTHENTICATED;
    case 404:
      return status.NOT_FOUND;
    case 413:
      return status.RESOURCE_EXHAUSTED;
    case 503:
      return status.UNAVAILABLE;
    default:
      return httpStatus >= 500 ? status.INTERNAL : status.INVALID_ARGUMENT;
  }
}

const identity = (b: Buffer) => b;

/** Bytes in, bytes out: the handlers decode and encode, so every failure is theirs to shape. */
function method(name: string) {
  return {
    path: `/${GRPC_SERVICE}/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: name,
  };
}

const METHODS = ['ServerLive', 'ServerReady', 'ModelReady', 'ServerMetadata', 'ModelMetadata', 'ModelInfer'] as const;
type Method = (typeof METHODS)[number];

const GRPC_SERVICE_DEFINITION: ServiceDefinition = Object.fromEntries(METHODS.map((m) => [m, method(m)]));

/** What a handler reports for metrics: like REST, health calls are not counted. */
const ENDPOINTS: Record<Method, Endpoint | undefined> = {
  ServerLive: undefined,
  ServerReady: undefined,
  ModelReady: 'model_ready',
  ServerMetadata: 'server',
  ModelMetadata: 'metadata',
  ModelInfer: 'infer',
};

interface Outcome {
  model?: string;
  /** An inference answered while a promotion analysis runs: what it served. */
  exchange?: Exchange;
}

function decode<T>(name: MessageName, bytes: Buffer): T {
  try {
    return decodeMessage<T>(name, bytes);
  } catch (e) {
    throw badRequest(`the request is not a valid inference.${name} message: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** "" (proto3's absent string) means no version given. */
const versionOf = (v: string) => (v === '' ? undefined : v);

export class GrpcApi {
  private readonly server: Server;
  private inFlight = 0;
  private received = 0;
  /** Encoded ModelMetadataResponse of the loaded model: it never changes while the process lives. */
  private readonly metadata = new WeakMap<ServedModel, Buffer>();

  constructor(private readonly s: ServerState) {
    this.server = new Server({
      // The REST body limit; grpc-js refuses a larger message from its length prefix, before reading it (RESOURCE_EXHAUSTED).
      'grpc.max_receive_message_length': s.config.maxBodyBytes,
      'grpc.max_send_message_length': -1,
    });
    const handlers: Record<Method, (bytes: Buffer, out: Outcome) => Buffer | Promise<Buffer>> = {
      ServerLive: (b) => {
        decode('ServerLiveRequest', b);
        return encodeMessage('ServerLiveResponse', { live: true });
      },
      // Readiness is the answer, not an error: a client asking "ready?" gets false while loading or draining,
      // as tritonclient's is_server_ready/is_model_ready return False on REST's 503.
      ServerReady: (b) => {
        decode('ServerReadyRequest', b);
        return encodeMessage('ServerReadyResponse', { ready: this.s.ready });
      },
      ModelReady: (b, out) => {
        const r = decode<NameVersionMessage>('ModelReadyRequest', b);
        this.checkModel(r.name, r.version, out);
        return encodeMessage('ModelReadyResponse', { ready: this.s.model !== undefined });
      },
      ServerMetadata: (b) => {
        decode('ServerMetadataRequest', b);
        return encodeMessage('ServerMetadataResponse', serverMetadata());
      },
      ModelMetadata: (b, out) => {
        const r = decode<NameVersionMessage>('ModelMetadataRequest', b);
        this.checkModel(r.name, r.version, out);
        const model = loadedModel(this.s);
        let bytes = this.metadata.get(model);
        if (!bytes) {
          bytes = encodeMessage('ModelMetadataResponse', modelMetadata(this.s.config, model.signature));
          this.metadata.set(model, bytes);
        }
        return bytes;
      },
      ModelInfer: (b, out) => this.infer(b, out),
    };
    const impl: UntypedServiceImplementation = Object.fromEntries(METHODS.map((m) => [m, this.unary(m, handlers[m])]));
    this.server.addService(GRPC_SERVICE_DEFINITION, impl);
  }

  /** Calls received so far. */
  get calls(): number {
    return this.received;
  }

  /** Calls received and not yet answered: shutdown waits for them. */
  get active(): number {
    return this.inFlight;
  }

  /** Listens on host:port (every interface when host is undefined); resolves the bound port. */
  async listen(host: string | undefined, port: number): Promise<number> {
    const bind = (address: string) =>
      new Promise<number>((resolve, reject) =>
        this.server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
      );
    const hostPart = host === undefined ? '[::]' : host.includes(':') ? `[${host}]` : host;
    try {
      return await bind(`${hostPart}:${port}`);
    } catch (e) {
      // No IPv6 on this host: every IPv4 interface, as node:http falls back to.
      if (host === undefined) return bind(`0.0.0.0:${port}`);
      throw e;
    }
  }

  /**
   * Stops accepting connections, sends GOAWAY on the open ones (a client
   * retries calls the server never started elsewhere) and resolves once every
   * started call is answered and the connections are closed.
   */
  drain(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }

  /** Cancels whatever is still in flight and closes every connection. */
  forceClose(): void {
    this.server.forceShutdown();
  }

  private checkModel(name: string, version: string, out: Outcome): void {
    out.model = UNKNOWN_MODEL;
    checkModel(this.s, name, versionOf(version));
    out.model = this.s.config.modelName;
  }

  private async infer(bytes: Buffer, out: Outcome): Promise<Buffer> {
    out.model = UNKNOWN_MODEL;
    const msg = decode<ModelInferRequestMessage>('ModelInferRequest', bytes);
    this.checkModel(msg.model_name, msg.model_version, out);
    const model = loadedModel(this.s);
    const { request, raw } = inferRequestFromGrpc(msg, model.signature, { allowNonFinite: this.s.config.allowNonFinite });
    const id = request.id ?? randomUUID();
    const outputs = await runInference(this.s, model, request, id);
    if (this.s.promotion.active) out.exchange = exchangeOf(model, request, id, outputs);
    const head = { model_name: this.s.config.modelName, model_version: this.s.config.modelVersion, id };
    return encodeMessage('ModelInferResponse', inferResponseToGrpc(head, outputs, request.outputs, raw));
  }

  private unary(name: Method, handle: (bytes: Buffer, out: Outcome) => Buffer | Promise<Buffer>) {
    const endpoint = ENDPOINTS[name];
    return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
      const started = performance.now();
      this.inFlight++;
      this.received++;
      void (async () => {
        const out: Outcome = {};
        let code = 200;
        let reason: ErrorReason | undefined;
        let response: Buffer | undefined;
        let error: { code: status; details: string } | undefined;
        try {
          response = await handle(call.request, out);
        } catch (e) {
          const err = e instanceof HttpError ? e : new HttpError(500, `internal error: ${e instanceof Error ? e.message : String(e)}`, 'internal');
          if (!(e instanceof HttpError)) this.s.logger.error({ err: e, method: name }, 'gRPC call failed');
          code = err.status;
          reason = err.reason;
          error = { code: grpcStatusOf(err.status), details: err.message };
        }
        try {
          if (error) callback(error);
          else callback(null, response);
        } finally {
          this.inFlight--;
          const ms = performance.now() - started;
          if (endpoint) this.s.metrics.observe(endpoint, code, ms / 1000, reason, out.model, 'grpc');
          // The answer is handed to grpc-js: promotion figures (and a Shadow mirror) come after it.
          const { promotion } = this.s;
          if (promotion.active && name === 'ModelInfer' && out.model === this.s.config.modelName) promotion.observe(code, ms, out.exchange);
        }
      })();
    };
  }
}
