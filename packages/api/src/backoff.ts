/**
 * The API's one backoff: wait before retry number `attempt` (1-based) = base × 2^(attempt−1), capped,
 * with "equal jitter" in [½, 1] of that — retries of many jobs that failed together spread out, but
 * none comes back sooner than half the intended wait. Used by the notification queue and the alert
 * service's store retries.
 */
export function backoffMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 30));
  return Math.round(exp * (0.5 + random() / 2));
}
