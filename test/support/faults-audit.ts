// The API server's audit log of the operator's requests, read tolerantly:
// a kube-apiserver killed with SIGKILL may leave a half-written last line,
// which is skipped rather than failing the parse. Counts requests per second
// (to tell back-off from a hot loop) and orders writes (to see whether two
// leaders ever wrote at once).
import { existsSync, readFileSync } from 'node:fs';
import { inject } from 'vitest';

export interface AuditRecord {
  auditID: string;
  stage: string;
  verb: string;
  user: { username: string };
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
export const isWrite = (r: AuditRecord): boolean => WRITE_VERBS.has(r.verb);
export const receivedMs = (r: AuditRecord): number => Date.parse(r.requestReceivedTimestamp);

function parseLine(line: string): AuditRecord | undefined {
  try {
    const r = JSON.parse(line) as AuditRecord;
    return typeof r.auditID === 'string' && typeof r.requestReceivedTimestamp === 'string' ? r : undefined;
  } catch {
    return undefined; // torn by a killed API server
  }
}

export interface RequestFilter {
  namespace?: string;
  fromMs?: number;
  toMs?: number;
}

/**
 * The operator's requests, one record per request (a watch logs ResponseStarted
 * and ResponseComplete; the latest stage wins), ordered by arrival.
 */
export function operatorRequests(f: RequestFilter = {}): AuditRecord[] {
  const path = inject('auditLog');
  if (!existsSync(path)) return [];
  const byId = new Map<string, AuditRecord>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const r = parseLine(line);
    if (!r || r.user.username !== 'fluxora-operator') continue;
    if (f.namespace !== undefined && r.objectRef?.namespace !== f.namespace) continue;
    const t = receivedMs(r);
    if ((f.fromMs !== undefined && t < f.fromMs) || (f.toMs !== undefined && t > f.toMs)) continue;
    byId.set(r.auditID, r);
  }
  return [...byId.values()].sort((a, b) => receivedMs(a) - receivedMs(b));
}

export interface Rate {
  requests: number;
  seconds: number;
  perSecond: number;
  /** The busiest one-second bucket. */
  peakPerSecond: number;
}

export function rate(records: readonly AuditRecord[], fromMs: number, toMs: number): Rate {
  const seconds = Math.max(0.001, (toMs - fromMs) / 1000);
  const buckets = new Map<number, number>();
  for (const r of records) {
    const b = Math.floor((receivedMs(r) - fromMs) / 1000);
    buckets.set(b, (buckets.get(b) ?? 0) + 1);
  }
  return {
    requests: records.length,
    seconds: Math.round(seconds * 10) / 10,
    perSecond: Math.round((records.length / seconds) * 100) / 100,
    peakPerSecond: Math.max(0, ...buckets.values()),
  };
}
