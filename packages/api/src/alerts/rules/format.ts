/** Shared wording of summaries. */
/**
 * Where, in words: the cluster's name. A node report without one comes from a standalone node
 * (its site id is an internal UUID, useless in a notification).
 */
export const where = (clusterName: string | undefined, _clusterId: string): string =>
  clusterName ?? 'standalone';
export const pct = (r: number): string => `${Math.round(r * 100)}%`;
export const minutes = (ms: number): string => {
  const m = Math.round(ms / 60000);
  return m >= 120 ? `${Math.round(m / 60)} h` : `${m} min`;
};
export const iso = (ms: number): string => new Date(ms).toISOString();
