/**
 * Days until a storage is full, from its recent use (pure). A least-squares line through the
 * samples of the last 24 hours; its slope in bytes per day divides the space left. No projection
 * (null) with fewer than two samples, a span under `minSpanMs`, or a flat or shrinking trend —
 * "never" is not a number of days.
 */
export interface UseSample {
  /** epoch ms */
  t: number;
  used: number;
  total: number;
}

export const TREND_WINDOW_MS = 24 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

export function daysUntilFull(samples: readonly UseSample[], now: number, minSpanMs = 0): number | null {
  const recent = samples.filter((s) => s.t > now - TREND_WINDOW_MS && s.t <= now);
  if (recent.length < 2) return null;
  const t0 = Math.min(...recent.map((s) => s.t));
  const t1 = Math.max(...recent.map((s) => s.t));
  if (t1 - t0 <= 0 || t1 - t0 < minSpanMs) return null;
  const n = recent.length;
  // Times relative to t0 and in days: keeps the sums small enough for doubles.
  const xs = recent.map((s) => (s.t - t0) / DAY_MS);
  const ys = recent.map((s) => s.used);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx; // bytes per day
  if (!(slope > 0)) return null;
  const last = recent.reduce((a, b) => (b.t > a.t ? b : a));
  const left = Math.max(0, last.total - last.used);
  return left / slope;
}
