/**
 * Reconnection delays: exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): the n-th retry waits a uniformly random time in
 * [0, min(cap, base * 2^n)], so that clients cut off together by a server restart do not all
 * come back in the same instant. The random source is injected for tests.
 */

/** Backoff parameters, in milliseconds. */
export interface BackoffOptions {
  /** First ceiling: 500 ms, fast enough that a blip goes unnoticed. */
  readonly baseMs: number;
  /** Largest ceiling: 30 s, so that someone waiting is never left more than half a minute. */
  readonly capMs: number;
  /** Smallest delay: 100 ms, so that a broken server is never hammered in a tight loop. */
  readonly minMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 500, capMs: 30_000, minMs: 100 };

/** The delay before retry number `attempt` (0 = first retry), given `random()` in [0, 1). */
export function backoffDelay(attempt: number, random: () => number, options: BackoffOptions = defaultBackoff): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(options.minMs, Math.floor(random() * ceiling));
}
