/**
 * History retention as a module: once an hour, rows older than `retentionDays` leave the history
 * tables (storage.prune). Background work, so it runs only when the bootstrap step starts modules.
 */
import type { ApiModule, ModuleContext, ModuleInstance } from '../module-contract.ts';

export const RETENTION_INTERVAL_MS = 3600_000;

export function createRetention(ctx: ModuleContext, intervalMs = RETENTION_INTERVAL_MS): ModuleInstance {
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
  return {
    start: () => {
      const timer = setInterval(() => void prune(), intervalMs);
      // Never the reason the process stays up.
      timer.unref();
      return Promise.resolve(() => {
        clearInterval(timer);
        return Promise.resolve();
      });
    },
  };
}

export const retentionModule: ApiModule = { name: 'retention', create: (ctx) => createRetention(ctx) };
