// Small retry loop for transient network failures (http(s); the S3 SDK retries on its own).
import { setTimeout as sleep } from 'node:timers/promises';
import { isStorageError } from './errors.js';
import { abortReason } from './options.js';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

// Three attempts over well under two seconds: enough to ride out a restarting pod or a dropped
// connection, short enough that a reconcile loop with its own back-off is not held up.
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 2_000 };

/** Only Unreachable is worth repeating: NotFound, AccessDenied and the rest will not change by waiting. */
export const isTransient = (e: unknown): boolean => isStorageError(e, 'Unreachable');

export async function withRetries<T>(fn: () => Promise<T>, signal?: AbortSignal, policy: RetryPolicy = DEFAULT_RETRY): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= policy.attempts || !isTransient(e) || signal?.aborted) throw e;
      // Jitter keeps many pods that failed together from retrying in lockstep.
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(cap / 2 + (Math.random() * cap) / 2, undefined, signal ? { signal } : undefined).catch(() => {
        throw signal ? abortReason(signal) : new Error('retry wait interrupted'); // the caller's own reason
      });
    }
  }
}
