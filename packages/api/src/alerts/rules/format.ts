/** Shared wording of summaries. */
export const where = (clusterName: string | undefined, clusterId: string): string => clusterName ?? clusterId;
export const pct = (r: number): string => `${Math.round(r * 100)}%`;
export const minutes = (ms: number): string => {
  const m = Math.round(ms / 60000);
  return m >= 120 ? `${Math.round(m / 60)} h` : `${m} min`;
};
export const iso = (ms: number): string => new Date(ms).toISOString();
