/** "90s", "30m", "24h", "7d" → milliseconds; null when unparseable. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return n > 0 ? n * unit : null;
}

/**
 * The longest an enrollment token may live: it lets anyone holding it add agents, so it should be
 * used within days. Also keeps `99999999d` from overflowing the date (it was a 500).
 */
export const MAX_ENROLLMENT_TTL_MS = 30 * 86_400_000;
/** The longest a personal API token may be given to live (ten years keeps dates in range). */
export const MAX_TOKEN_TTL_MS = 3650 * 86_400_000;
