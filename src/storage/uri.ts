// Storage URIs: s3://bucket/key, http(s)://host/path, pvc://claim/path,
// file:///absolute/path. Parsing is strict so a typo in a spec becomes an
// InvalidUri condition naming the URI, not a confusing failure later.
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from './errors.js';

export type StorageLocation =
  /** `key` is taken literally (no percent-decoding), as the AWS CLI does; '' names the whole bucket. */
  | { scheme: 's3'; bucket: string; key: string }
  /** http: and https: alike; read only. */
  | { scheme: 'http'; url: URL }
  /** An absolute, normalized local path (percent-decoded, as file URLs are). */
  | { scheme: 'file'; path: string }
  /** `path` is absolute within the claim ('/' for its root), normalized, never above it; taken literally. */
  | { scheme: 'pvc'; claim: string; path: string };

/** Where pvc:// claims are mounted in Fluxora pods; FLUXORA_PVC_ROOT overrides it (local runs, tests). */
export const DEFAULT_PVC_ROOT = '/mnt/fluxora/pvc';

// S3 bucket naming rules (3-63 chars, lowercase, digits, dots, hyphens; no "..").
const BUCKET = /^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// PersistentVolumeClaim names are DNS subdomains (RFC 1123).
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

const SCHEMES = 's3://bucket/key, https://host/path, pvc://claim/path or file:///absolute/path';

export function parseStorageUri(uri: string): StorageLocation {
  const bad = (why: string) => new StorageError('InvalidUri', `invalid storage URI "${uri}": ${why}`);
  if (CONTROL.test(uri)) throw bad('it contains control characters');
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(uri);
  if (!m) throw bad(`expected ${SCHEMES}`);
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  switch (scheme) {
    case 's3': {
      const slash = rest.indexOf('/');
      const bucket = slash < 0 ? rest : rest.slice(0, slash);
      if (!BUCKET.test(bucket)) throw bad(`"${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, dots, hyphens)`);
      return { scheme: 's3', bucket, key: slash < 0 ? '' : rest.slice(slash + 1) };
    }
    case 'http':
    case 'https': {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        throw bad('not a valid URL');
      }
      if (url.hostname === '') throw bad('the URL has no host');
      // fetch() refuses such URLs; say why here rather than fail at read time.
      if (url.username !== '' || url.password !== '') throw bad('credentials in the URL are not supported');
      return { scheme: 'http', url };
    }
    case 'file': {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        throw bad('not a valid file URL');
      }
      if (url.host !== '' && url.host !== 'localhost') throw bad('file URIs need an absolute path: file:///path (three slashes)');
      // A literal ? or # would silently cut the path short.
      if (url.search !== '' || url.hash !== '') throw bad('encode "?" and "#" in file paths as %3F and %23');
      let path: string;
      try {
        path = fileURLToPath(url);
      } catch (e) {
        throw bad((e as Error).message);
      }
      return { scheme: 'file', path: posix.normalize(path) };
    }
    case 'pvc': {
      const slash = rest.indexOf('/');
      const claim = slash < 0 ? rest : rest.slice(0, slash);
      if (claim.length > 253 || !DNS_SUBDOMAIN.test(claim)) throw bad(`"${claim}" is not a valid PersistentVolumeClaim name`);
      const raw = slash < 0 ? '' : rest.slice(slash + 1);
      if (raw.split('/').includes('..')) throw bad('the path may not contain ".." segments');
      return { scheme: 'pvc', claim, path: posix.normalize('/' + raw) };
    }
    default:
      throw bad(`unsupported scheme "${scheme}://"; expected ${SCHEMES}`);
  }
}

/**
 * Appends path segments to a URI with single slashes: joinUri('s3://b/models/', 'churn', 'v2') is
 * 's3://b/models/churn/v2'. Empty segments are dropped; the result has no trailing slash.
 */
export function joinUri(base: string, ...parts: string[]): string {
  // Keep "scheme://" (and file:///'s root slash) intact; only the path part is trimmed.
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/i.exec(base);
  const [head, path] = m ? [m[1]!, m[2]!] : ['', base];
  const segments = [path.replace(/\/+$/, ''), ...parts.map((p) => p.replace(/^\/+|\/+$/g, ''))].filter((p, i) => i === 0 || p !== '');
  return head + segments.join('/');
}
