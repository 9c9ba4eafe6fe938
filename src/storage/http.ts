// http(s):// backend: read only (GET, HEAD), redirects followed, transient failures retried.
import { readCapped, tooLarge } from './checksum.js';
import { StorageError, messageOf } from './errors.js';
import { abortReason, deadline, type CommonOptions } from './options.js';
import { withRetries } from './retry.js';

function statusError(uri: string, res: Response): StorageError {
  const what = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  if (res.status === 404 || res.status === 410) return new StorageError('NotFound', `${uri} does not exist (${what})`);
  if (res.status === 401 || res.status === 403) {
    return new StorageError('AccessDenied', `${uri}: ${what}; the server wants credentials, or a signed URL has expired`);
  }
  // Worth another try: the server is overloaded, restarting or timed out.
  if (res.status === 408 || res.status === 429 || res.status >= 500) return new StorageError('Unreachable', `${uri}: ${what}`);
  // Any other refusal (400, 405, ...) will not change by retrying: the URL is wrong for this server.
  return new StorageError('InvalidUri', `${uri}: the server refuses this URL (${what})`);
}

/** fetch() reports network failures as "fetch failed" with the useful part in `cause`. */
function networkError(uri: string, e: unknown): StorageError {
  const cause = (e as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : messageOf(e);
  return new StorageError('Unreachable', `${uri}: cannot reach the server (${detail})`, { cause: e });
}

/** One request with its own deadline; the body is consumed by `use` before the deadline ends. */
async function request<T>(uri: string, url: URL, method: 'GET' | 'HEAD', o: CommonOptions, use: (res: Response) => Promise<T>): Promise<T> {
  const d = deadline(o);
  try {
    const res = await fetch(url, { method, redirect: 'follow', signal: d.signal });
    return await use(res);
  } catch (e) {
    if (o.signal?.aborted) throw abortReason(o.signal);
    if (e instanceof StorageError) throw e; // a status or size verdict, even if the clock ran out since
    throw d.timedOut(uri, e) ?? networkError(uri, e);
  }
}

export function readHttp(uri: string, url: URL, o: CommonOptions & { maxBytes?: number }): Promise<Buffer> {
  return withRetries(
    () =>
      request(uri, url, 'GET', o, async (res) => {
        if (!res.ok) {
          await res.body?.cancel();
          throw statusError(uri, res);
        }
        const declared = Number(res.headers.get('content-length') ?? NaN);
        if (o.maxBytes !== undefined && declared > o.maxBytes) {
          await res.body?.cancel(); // refuse before downloading
          throw tooLarge(uri, o.maxBytes, declared);
        }
        return res.body ? readCapped(uri, res.body, o.maxBytes) : Buffer.alloc(0);
      }),
    o.signal,
  );
}

export function existsHttp(uri: string, url: URL, o: CommonOptions): Promise<boolean> {
  const probe = (method: 'GET' | 'HEAD') =>
    request(uri, url, method, o, async (res) => {
      await res.body?.cancel(); // only the status matters
      return res;
    });
  return withRetries(async () => {
    let res = await probe('HEAD');
    if (res.status === 405 || res.status === 501) res = await probe('GET'); // some servers only implement GET
    if (res.ok) return true;
    if (res.status === 404 || res.status === 410) return false;
    throw statusError(uri, res);
  }, o.signal);
}
