/**
 * History retention as a module. Once an hour, change history older than `retentionDays` leaves
 * its tables (storage.prune). Every 5 minutes the usage-history job is asked to run; once an
 * hour of buckets has closed it rolls them up and keeps each resolution to its horizon
 * (storage.maintainHistory: bounded statements, on PostgreSQL one replica at a time). Background
 * work, so it runs only when the bootstrap step starts modules.
 */
import type { ApiModule, ModuleContext, ModuleInstance } from '../module-contract.ts';

export const RETENTION_INTERVAL_MS = 3600_000;
export const HISTORY_INTERVAL_MS = 300_000;

export function createRetention(
  ctx: ModuleContext,
  intervalMs = RETENTION_INTERVAL_MS,
  historyIntervalMs = HISTORY_INTERVAL_MS,
): ModuleInstance {
  const prune = async (): Promise<void> => {
    // one replica prunes (the others would only repeat its deletes)
    if (ctx.leader.role() !== 'leader') return;
    try {
      const before = new Date(ctx.now().getTime() - ctx.config.retentionDays * 86400_000).toISOString();
      const r = await ctx.storage.prune(before);
      ctx.log.debug({ ...r }, 'retention: history pruned');
    } catch (err) {
      ctx.log.error({ err }, 'retention pruning failed');
    }
  };
  // A run can outlast the interval while it catches up: never two at once in one process.
  let running = false;
  const maintain = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const r = await ctx.storage.maintainHistory(ctx.now().getTime(), ctx.config.history);
      if (r) ctx.log.debug({ ...r }, 'retention: usage history rolled up and pruned');
      else ctx.log.debug('retention: usage history job runs on another replica');
    } catch (err) {
      ctx.log.error({ err }, 'usage history job failed');
    } finally {
      running = false;
    }
  };
  return {
    start: () => {
      const timers = [
        setInterval(() => void prune(), intervalMs),
        setInterval(() => void maintain(), historyIntervalMs),
      ];
      // Never the reason the process stays up.
      for (const t of timers) t.unref();
      return Promise.resolve(() => {
        for (const t of timers) clearInterval(t);
        return Promise.resolve();
      });
    },
  };
}

export const retentionModule: ApiModule = { name: 'retention', create: (ctx) => createRetention(ctx) };
