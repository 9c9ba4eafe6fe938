// Storage URIs: s3://bucket/key, http(s)://..., pvc://claim/path, file:///path.
import { posix } from 'node:path';
import { StorageError } from './errors.js';

export type StorageLocation =
  | { scheme: 's3'; bucket: string; key: string }
  | { scheme: 'http'; url: URL }
  | { scheme: 'file'; path: string }
  | { scheme: 'pvc'; claim: string; path: string };

/** Where pvc:// claims are mounted in Fluxora pods (the operator mounts them there). */
export const DEFAULT_PVC_ROOT = '/mnt/fluxora/pvc';

export function parseStorageUri(uri: string): StorageLocation {
  const bad = (why: string) => new StorageError('InvalidUri', `invalid storage URI "${uri}": ${why}`);
  const m = /^([a-z0-9+.-]+):\/\/(.*)$/i.exec(uri);
  if (!m) throw bad('expected scheme://..., one of s3://, http(s)://, pvc://, file://');
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  switch (scheme) {
    case 's3': {
      const i = rest.indexOf('/');
      const bucket = i < 0 ? rest : rest.slice(0, i);
      const key = i < 0 ? '' : rest.slice(i + 1);
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw bad(`"${bucket}" is not a valid bucket name`);
      return { scheme: 's3', bucket, key };
    }
    case 'http':
    case 'https':
      try {
        return { scheme: 'http', url: new URL(uri) };
      } catch {
        throw bad('not a valid URL');
      }
    case 'file': {
      if (!rest.startsWith('/')) throw bad('file URIs need an absolute path: file:///path');
      return { scheme: 'file', path: posix.normalize(decodeURIComponent(rest)) };
    }
    case 'pvc': {
      const i = rest.indexOf('/');
      const claim = i < 0 ? rest : rest.slice(0, i);
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(claim)) throw bad(`"${claim}" is not a valid claim name`);
      const raw = i < 0 ? '' : rest.slice(i + 1);
      if (raw.split('/').includes('..')) throw bad('the path may not contain ".." segments');
      const path = posix.normalize('/' + raw);
      return { scheme: 'pvc', claim, path };
    }
    default:
      throw bad(`unsupported scheme "${scheme}"`);
  }
}

/** Joins path segments onto a URI prefix with single slashes. */
export function joinUri(base: string, ...parts: string[]): string {
  return [base.replace(/\/+$/, ''), ...parts.map((p) => p.replace(/^\/+|\/+$/g, ''))].filter((p) => p !== '').join('/');
}
