// Server-side apply with one field manager, guarded by a semantic comparison
// so that an object already in the desired state costs no write at all.
import { ApiError, resourcePath, type KubeClient, type KubeObject, type ResourceType } from './kube-client.js';
import { isSubset } from './semantic-equal.js';

export const FIELD_MANAGER = 'fluxora-operator';

export interface ApplyResult<T> {
  object: T;
  /** False when the live object already matched and no request was sent. */
  changed: boolean;
}

/**
 * Applies `desired` (server-side apply, force: the operator owns these
 * fields; a hand edit of them is put back) unless `live` already contains it.
 */
export async function applyIfChanged<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  desired: T,
  live: T | undefined,
): Promise<ApplyResult<T>> {
  const wanted = stripForCompare(desired);
  if (live && isSubset(wanted, live)) return { object: live, changed: false };
  let applied: T;
  try {
    applied = await serverSideApply(client, type, desired);
  } catch (e) {
    // Apply merges keyed lists: a hand-edited entry (a Service port changed
    // from 8080 to 9999, still named "http") stays beside ours and the merged
    // object is invalid forever. Replace the lists instead (below).
    if (!(e instanceof ApiError && e.status === 422 && live)) throw e;
    return { object: await replaceLists(client, type, live, desired), changed: true };
  }
  // Apply never removes what another field manager added: an env entry or a
  // container appended by hand survives it. Replace our lists with ours then.
  if (isSubset(wanted, applied)) return { object: applied, changed: true };
  return { object: await replaceLists(client, type, applied, desired), changed: true };
}

/** PUT of `desired` over `live` (its resourceVersion guards the write: a 409 is retried by the caller). */
function replaceLists<T extends KubeObject>(client: KubeClient, type: ResourceType, live: T, desired: T): Promise<T> {
  return client.request<T>('PUT', resourcePath(type, desired.metadata.namespace, desired.metadata.name), {
    body: overlay(live, desired) as T,
    query: { fieldManager: FIELD_MANAGER },
  });
}

/** `desired` over `live`: objects merge key by key, lists and scalars of `desired` replace live ones, the rest of `live` stays (server-set fields such as a Service's clusterIP). */
export function overlay(live: unknown, desired: unknown): unknown {
  if (!isPlainObject(live) || !isPlainObject(desired)) return desired;
  const out: Record<string, unknown> = { ...live };
  for (const [k, v] of Object.entries(desired)) out[k] = k in live ? overlay(live[k], v) : v;
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function serverSideApply<T extends KubeObject>(client: KubeClient, type: ResourceType, obj: T, subresource?: string) {
  return client.request<T>('PATCH', resourcePath(type, obj.metadata.namespace, obj.metadata.name, subresource), {
    body: obj,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: FIELD_MANAGER, force: true },
  });
}

/** apiVersion/kind are not echoed identically by every list; compare the rest. */
function stripForCompare<T extends KubeObject>(o: T): Omit<T, 'apiVersion' | 'kind'> {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

/**
 * A JSON merge patch (RFC 7386) that turns `prev` into `next`: `next` with a
 * null for every object key `prev` has and `next` lacks, at every depth.
 * Without the nulls a merge patch keeps keys the new value no longer has: a
 * new promotion candidate would inherit the decidedAt and verdict of the one
 * before it. Lists are replaced whole by a merge patch and need nothing.
 */
export function mergePatchFrom(prev: unknown, next: unknown): unknown {
  if (!isPlainObject(prev) || !isPlainObject(next)) return next;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(prev)) if (!(k in next) || next[k] === undefined) out[k] = null;
  for (const [k, v] of Object.entries(next)) if (v !== undefined) out[k] = mergePatchFrom(prev[k], v);
  return out;
}

/**
 * Writes a custom resource's status through the status subresource with a
 * merge patch of the whole status. Merge patch (not apply) because status is
 * ours alone and we want removed conditions (kstatus' Reconciling/Stalled) to
 * disappear, which a JSON merge patch of the full list does. With `prev` (the
 * status the write replaces) keys of objects that `status` no longer has are
 * removed too (mergePatchFrom).
 */
export function patchStatus<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  status: unknown,
  resourceVersion?: string,
  prev?: unknown,
): Promise<T> {
  const body = prev === undefined ? status : mergePatchFrom(prev, status);
  // With a resourceVersion the write is refused (409) if the object changed
  // since we read it; the reconcile then retries on fresh data.
  return client.request<T>('PATCH', resourcePath(type, namespace, name, 'status'), {
    body: resourceVersion ? { metadata: { resourceVersion }, status: body } : { status: body },
    contentType: 'application/merge-patch+json',
  });
}
