// Rate limiters with client-go's semantics (k8s.io/client-go/util/workqueue):
// they answer "how long must this key wait before it is processed again?".
// The work queue asks once per failed reconcile (addRateLimited) and forgets
// the key after a success.

export interface RateLimiter {
  /** Milliseconds to wait before re-processing `key`; counts as one failure/retry. */
  when(key: string): number;
  /** Drops the key's failure history (after a successful reconcile). */
  forget(key: string): void;
  /** How many times `when(key)` was called since the last `forget(key)`. */
  numRequeues(key: string): number;
}

/** A monotonic clock in milliseconds; wall-clock jumps must not mint or eat tokens. */
export type Clock = () => number;

const monotonicNow: Clock = () => performance.now();

/**
 * Per-key exponential back-off: baseDelayMs * 2^failures, capped at maxDelayMs
 * (5 ms, 10 ms, 20 ms, ... 1000 s with the defaults, as in client-go).
 */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseDelayMs = 5,
    private readonly maxDelayMs = 1_000_000,
  ) {
    if (!(baseDelayMs >= 0) || !(maxDelayMs >= 0)) throw new RangeError('delays must be >= 0');
  }

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^1023 is the largest finite power of two: clamping the exponent keeps a
    // zero base at 0 (0 * Infinity would be NaN); a positive base overflows to
    // Infinity and the cap applies.
    return Math.min(this.baseDelayMs * 2 ** Math.min(n, 1023), this.maxDelayMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * Token bucket for the overall retry rate, shared by all keys: `burst` retries
 * pass at once, then one per 1/qps seconds. Each call reserves a token even
 * if it has to wait for it, so back-to-back calls queue up behind each other
 * (100 ms, 200 ms, 300 ms at 10 qps), like golang.org/x/time/rate's
 * Reserve().Delay() that client-go's BucketRateLimiter returns.
 */
export class BucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;

  /** qps may be Infinity (no limit); burst must be at least 1. */
  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly now: Clock = monotonicNow,
  ) {
    if (!(qps > 0)) throw new RangeError('qps must be > 0');
    if (!(burst >= 1)) throw new RangeError('burst must be >= 1');
    this.tokens = burst;
    this.last = now();
  }

  when(_key: string): number {
    if (this.qps === Infinity) return 0;
    const t = this.now();
    // A clock that steps back adds no tokens and restarts the count from t
    // (as x/time/rate does).
    const elapsedMs = Math.max(0, t - this.last);
    this.last = t;
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.qps) / 1000);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  // Not per key: there is no per-key state to forget or count.
  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }
}

/** The longest delay of several limiters; every limiter sees every call. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    // Each limiter must record the failure, so no short-circuiting.
    let delay = 0;
    for (const l of this.limiters) delay = Math.max(delay, l.when(key));
    return delay;
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    let n = 0;
    for (const l of this.limiters) n = Math.max(n, l.numRequeues(key));
    return n;
  }
}

/**
 * controller-runtime's default: per-key back-off from 5 ms to 1000 s, and
 * overall 10 retries/s with a burst of 100.
 */
export function defaultControllerRateLimiter(now: Clock = monotonicNow): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(5, 1_000_000), new BucketRateLimiter(10, 100, now));
}
