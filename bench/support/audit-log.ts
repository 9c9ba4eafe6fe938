// Reads one user's requests from a kube-apiserver JSON audit log, from a
// byte offset on, so repeated reads of a growing log stay cheap.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface AuditRecord {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stage: string;
}

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export function auditLogSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Completed requests by `username` recorded after byte `from` (up to the log's current end). */
export function readAudit(path: string, username: string, from = 0): AuditRecord[] {
  const size = auditLogSize(path);
  if (size <= from) return [];
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(size - from);
    readSync(fd, buf, 0, buf.length, from);
    const text = buf.toString('utf8');
    // A line still being written has no newline yet: leave it for the next read.
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditRecord)
      .filter((e) => e.stage === 'ResponseComplete' && e.user.username === username);
  } finally {
    closeSync(fd);
  }
}

export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}
