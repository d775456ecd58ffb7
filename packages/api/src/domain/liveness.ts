/**
 * The time windows behind "one truth from many views" (pure), shared by the alert engine and the
 * storage's derived node states so that both read the same cluster the same way.
 *
 * - Silence: an agent is silent after SILENCE_FACTOR × its heartbeat period when it sends
 *   heartbeats (60 s by default → 150 s), else × its report interval (300 s → 12.5 min, as before).
 *   2.5 periods tolerate one lost or late report without crying wolf.
 * - A view (what one reporter's corosync partition sees) stands while its reporter's agent is alive
 *   and for at most 2.5 of its report intervals. With the agent's watch on, a changed membership is
 *   reported within seconds, so an unchanged view of an agent that still beats is still its view;
 *   once the agent falls silent its view expires with it, so a dead node stops vouching for itself.
 *   A window of "3 × watch" alone would expire every view between cycles of a quiet cluster.
 */
export const SILENCE_FACTOR = 2.5;

/** How long an agent may stay quiet before it is silent (ms). */
export function silenceWindowMs(
  intervalS: number | undefined,
  heartbeatS: number | undefined,
  defaultIntervalS: number,
  factor = SILENCE_FACTOR,
): number {
  const interval = intervalS ?? defaultIntervalS;
  const period = heartbeatS !== undefined ? Math.min(heartbeatS, interval) : interval;
  return factor * period * 1000;
}

/**
 * How soon a live agent speaks again (ms): a node the quorate partition lost that stays quiet this
 * long after the loss is down, not cut off. With heartbeats, a live agent beats within one period
 * (and its watch reports a split within seconds); the quarter is delivery slack. Without them, its
 * silence window.
 */
export function replyWindowMs(
  intervalS: number | undefined,
  heartbeatS: number | undefined,
  defaultIntervalS: number,
): number {
  return heartbeatS !== undefined
    ? 1.25 * heartbeatS * 1000
    : silenceWindowMs(intervalS, undefined, defaultIntervalS);
}

/** How long a reporter's membership view may stand without a newer one (ms). */
export function viewWindowMs(intervalS: number | undefined, defaultIntervalS: number): number {
  return SILENCE_FACTOR * (intervalS ?? defaultIntervalS) * 1000;
}

/** "{a,b} quorate, {c}": partitions as the admin reads them. */
export function describePartitions(
  partitions: ReadonlyArray<{ nodes: readonly string[]; quorate: boolean }>,
): string {
  return partitions.map((p) => `{${p.nodes.join(',')}}${p.quorate ? ' quorate' : ''}`).join(', ');
}

/** The spec's default PROXMOX_INTERVAL: assumed for an agent that does not send `interval_seconds`. */
export const DEFAULT_REPORT_INTERVAL_SECONDS = 300;

/**
 * A cluster's `quorate` as the read answers show it: derived from every fresh view, the same fact
 * the quorum_lost alert and the quorum events follow (1 while no fresh view says its partition has
 * lost quorum), so a cut-off node's last report cannot flip the cluster's answer back and forth.
 * Undefined when no view counts any more (every reporter silent): then the last report stands.
 */
export function derivedQuorate(m: {
  views: ReadonlyArray<{ fresh: boolean; quorate: boolean }>;
}): number | undefined {
  const fresh = m.views.filter((v) => v.fresh);
  if (fresh.length === 0) return undefined;
  return fresh.every((v) => v.quorate) ? 1 : 0;
}
