/**
 * When a report's history points are filed (issue 13, Low): the agent's `collected_at`, but never
 * further from the server's receipt than a clock can plausibly be off (ahead) or a spool can
 * plausibly hold a report (behind). A `collected_at` in year 9999 would otherwise sit on top of
 * every timeline and outlive retention. The report's own `collected_at` is kept as sent.
 */
/** an agent clock this far ahead of the server's is wrong, not early */
export const MAX_AHEAD_MS = 5 * 60_000;
/** the agent spool keeps reports for less than this (an outage replayed later) */
export const MAX_BEHIND_MS = 7 * 24 * 3600_000;

export function occurredAt(collectedAt: string | null, receivedAt: string): string {
  if (collectedAt === null) return receivedAt;
  const c = Date.parse(collectedAt);
  const r = Date.parse(receivedAt);
  if (!Number.isFinite(c)) return receivedAt;
  if (c > r + MAX_AHEAD_MS) return new Date(r + MAX_AHEAD_MS).toISOString();
  if (c < r - MAX_BEHIND_MS) return new Date(r - MAX_BEHIND_MS).toISOString();
  return collectedAt;
}
