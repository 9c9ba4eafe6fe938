// A small HTTP/1.1 client for the Shadow mirror: POSTs over a pool of
// kept-alive connections, one request at a time on each. node:http's client
// costs the champion about as much CPU per request as answering one
// (ClientRequest, the Agent's free-socket checks, IncomingMessage); the mirror
// runs on every mirrored request of a serving process, so it writes the
// request in one piece and reads the answer itself: a status line, headers,
// then a Content-Length body, a chunked one, or one that ends with the
// connection. Anything it does not understand fails the request and drops the
// connection; the caller counts a candidate error.
import { Buffer } from 'node:buffer';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface MirrorAnswer {
  status: number;
  body: Buffer;
}

interface Pending {
  resolve: (a: MirrorAnswer) => void;
  reject: (e: Error) => void;
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
/** Longest status line and headers accepted. */
const MAX_HEAD_BYTES = 64 * 1024;

class Connection {
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  /** The answer being read: its head is parsed once. */
  private head: { status: number; length: number | undefined; chunked: boolean; close: boolean; bodyStart: number } | undefined;
  private chunks: Buffer[] = [];
  /** Chunked bodies: where the next chunk-size line starts. */
  private chunkAt = 0;
  closed = false;

  constructor(
    readonly socket: Socket,
    private readonly maxBytes: number,
    private readonly onClose: (c: Connection) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.onEnd());
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('the connection closed')));
  }

  request(bytes: string): Promise<MirrorAnswer> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.buf = Buffer.alloc(0);
      this.head = undefined;
      this.chunks = [];
      this.socket.write(bytes);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private fail(e: Error): void {
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
      this.onClose(this);
    }
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }

  private done(status: number, body: Buffer, close: boolean): void {
    const p = this.pending;
    this.pending = undefined;
    if (close) this.fail(new Error('closed after the answer'));
    p?.resolve({ status, body });
  }

  private onEnd(): void {
    // A body delimited by the end of the connection.
    const h = this.head;
    if (this.pending && h && h.length === undefined && !h.chunked) return this.done(h.status, this.buf.subarray(h.bodyStart), true);
    this.fail(new Error('the candidate closed the connection mid-answer'));
  }

  private onData(d: Buffer): void {
    if (!this.pending) return this.fail(new Error('the candidate sent data nobody asked for'));
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (this.buf.length > this.maxBytes + MAX_HEAD_BYTES) return this.fail(new Error(`the candidate's answer is larger than ${this.maxBytes} bytes`));
    if (!this.head && !this.parseHead()) return;
    const h = this.head;
    if (!h) return;
    if (h.chunked) return this.readChunks();
    if (h.length !== undefined && this.buf.length >= h.bodyStart + h.length) {
      if (this.buf.length > h.bodyStart + h.length) return this.fail(new Error('the candidate sent more than its Content-Length'));
      this.done(h.status, this.buf.subarray(h.bodyStart), h.close);
    }
  }

  /** Parses the status line and headers once they are all in; false while they are not. */
  private parseHead(): boolean {
    const end = this.buf.indexOf(HEAD_END);
    if (end < 0) {
      if (this.buf.length > MAX_HEAD_BYTES) this.fail(new Error('the candidate sent an overlong head'));
      return false;
    }
    const lines = this.buf.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!m) {
      this.fail(new Error(`the candidate did not answer HTTP/1.x: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`));
      return false;
    }
    let length: number | undefined;
    let chunked = false;
    let close = m[1] === '0';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim().toLowerCase();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.split(',').some((t) => t.trim() === 'chunked');
      else if (name === 'connection') close = value.split(',').some((t) => t.trim() === 'close');
    }
    const status = Number(m[2]);
    // No body on 204 and 304.
    if (status === 204 || status === 304) length = 0;
    if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0)) {
      this.fail(new Error('the candidate sent a malformed Content-Length'));
      return false;
    }
    if (length !== undefined && length > this.maxBytes) {
      this.fail(new Error(`the candidate's answer is larger than ${this.maxBytes} bytes`));
      return false;
    }
    this.head = { status, length: chunked ? undefined : length, chunked, close, bodyStart: end + HEAD_END.length };
    this.chunkAt = end + HEAD_END.length;
    return true;
  }

  private readChunks(): void {
    const h = this.head;
    if (!h) return;
    for (;;) {
      const eol = this.buf.indexOf(CRLF, this.chunkAt);
      if (eol < 0) return;
      const size = parseInt(this.buf.toString('latin1', this.chunkAt, eol).split(';')[0] as string, 16);
      if (!Number.isSafeInteger(size) || size < 0) return this.fail(new Error('the candidate sent a malformed chunk size'));
      if (size === 0) {
        // The last chunk; then trailers (ignored) up to an empty line.
        const end = this.buf.indexOf(CRLF, eol + 2) === eol + 2 ? eol + 4 : this.buf.indexOf(HEAD_END, eol) + 4;
        if (end < 4 || this.buf.length < end) return;
        return this.done(h.status, Buffer.concat(this.chunks), h.close);
      }
      const dataEnd = eol + 2 + size;
      if (this.buf.length < dataEnd + 2) return;
      this.chunks.push(this.buf.subarray(eol + 2, dataEnd));
      this.chunkAt = dataEnd + 2;
    }
  }
}

/** POSTs to one URL over at most `maxConnections` kept-alive connections (the caller bounds requests in flight to the same). */
export class MirrorClient {
  private readonly idle: Connection[] = [];
  private readonly open = new Set<Connection>();
  private readonly host: string;
  private readonly port: number;
  private readonly https: boolean;
  private readonly hostHeader: string;
  private readonly path: string;

  constructor(
    url: URL,
    private readonly maxAnswerBytes: number,
  ) {
    this.https = url.protocol === 'https:';
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(url.port || (this.https ? 443 : 80));
    this.hostHeader = url.host;
    this.path = `${url.pathname}${url.search}`;
  }

  /**
   * Sends a JSON body. `answer` resolves with the candidate's answer or
   * rejects when there is none; `abort` (a timeout) drops the connection,
   * whether it is still connecting or waiting for the answer.
   */
  post(body: string): { answer: Promise<MirrorAnswer>; abort: () => void } {
    let socket: Socket | undefined;
    let aborted = false;
    const abort = () => {
      aborted = true;
      socket?.destroy(new Error('aborted'));
    };
    const answer = (async () => {
      let conn = this.idle.pop();
      if (!conn) {
        const c = this.connect();
        socket = c.socket;
        conn = await c.ready;
      }
      socket = conn.socket;
      if (aborted) {
        conn.destroy();
        throw new Error('aborted');
      }
      const head = `POST ${this.path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      const a = await conn.request(head + body);
      if (!conn.closed) this.idle.push(conn);
      return a;
    })();
    return { answer, abort };
  }

  close(): void {
    for (const c of this.open) c.destroy();
    this.idle.length = 0;
  }

  private connect(): { socket: Socket; ready: Promise<Connection> } {
    const socket = this.https ? tlsConnect({ host: this.host, port: this.port, servername: this.host, ALPNProtocols: ['http/1.1'] }) : netConnect(this.port, this.host);
    // Idle connections never keep a stopping process alive.
    socket.unref();
    const ready = new Promise<Connection>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      socket.once('error', onError);
      socket.once('close', () => reject(new Error('the connection closed before it was open')));
      socket.once(this.https ? 'secureConnect' : 'connect', () => {
        socket.off('error', onError);
        const conn = new Connection(socket, this.maxAnswerBytes, (c) => {
          this.open.delete(c);
          const i = this.idle.indexOf(c);
          if (i >= 0) this.idle.splice(i, 1);
        });
        this.open.add(conn);
        resolve(conn);
      });
    });
    return { socket, ready };
  }
}
