// Reading request bodies under a size limit and writing JSON responses: the
// little HTTP plumbing both ports share (plain node:http, no framework, so
// the hot path stays short and every error is ours to shape).
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './http-error.js';

/** Reads the whole body, refusing more than `limit` bytes with 413 (before reading it, when Content-Length says so). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    return Promise.reject(new HttpError(415, `Content-Encoding "${encoding}" is not supported; send the body uncompressed`, 'unsupported_media_type'));
  }
  const tooLarge = () => new HttpError(413, `the request body exceeds the limit of ${limit} bytes`, 'payload_too_large');
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    // Listeners stay attached: the request object is dropped after the response anyway.
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        // Stop buffering; the 413 goes out with Connection: close, which drops the rest.
        done = true;
        chunks.length = 0;
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.on('error', (e) => {
      if (done) return;
      done = true;
      reject(e);
    });
    req.on('close', () => {
      if (done) return;
      done = true;
      reject(new Error('the client closed the connection before sending the whole body'));
    });
  });
}

export interface ResponseOptions {
  headers?: Record<string, string>;
  /** Ask the client not to reuse the connection (shutdown, or an unread body). */
  close?: boolean;
}

export function send(res: ServerResponse, status: number, body: string | Buffer, contentType: string, o: ResponseOptions = {}): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    ...o.headers,
  };
  if (o.close) headers.Connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

export const sendJson = (res: ServerResponse, status: number, body: unknown, o?: ResponseOptions) =>
  send(res, status, JSON.stringify(body), 'application/json', o);

/** A V2 error body: `{"error": "..."}`. */
export const sendError = (res: ServerResponse, status: number, message: string, o?: ResponseOptions) => sendJson(res, status, { error: message }, o);

/** The path of a request URL without its query string, and the query parameters. */
export function splitUrl(url: string | undefined): { path: string; query: URLSearchParams } {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? { path: u, query: new URLSearchParams() } : { path: u.slice(0, q), query: new URLSearchParams(u.slice(q + 1)) };
}
