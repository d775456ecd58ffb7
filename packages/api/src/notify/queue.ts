/**
 * The delivery worker over the persistent queue. A job is written in the same transaction as the
 * alert change that caused it, so a crash loses nothing; the worker claims due jobs with a lease
 * (a crashed worker's claims come back when the lease ends), sends, and marks done — or schedules a
 * retry with exponential backoff, or gives up after `maxAttempts` / on a permanent error.
 * A job interrupted between "sent" and "marked done" is sent again after the lease: the
 * Idempotency-Key is the same on every attempt so receivers can drop the repeat.
 */
import { backoffMs } from '../backoff.ts';
import { errorMessage } from '../errors.ts';
import { DeliveryError, type Channel, type ChannelType, type Notification, type Notifier } from './types.ts';

export interface DeliveryJob {
  id: string;
  tenantId: string;
  channelId: string;
  attempts: number;
  idempotencyKey: string;
  payload: Notification;
}

/** What the worker needs from storage (implemented in storage/alerts.ts). */
export interface DeliveryStore {
  /** claims up to `limit` due jobs: pending with next_attempt_at ≤ now, or claimed with an expired lease */
  claimDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryJob[]>;
  completeDelivery(id: string, now: number): Promise<void>;
  retryDelivery(id: string, attempts: number, nextAt: number, error: string): Promise<void>;
  failDelivery(id: string, attempts: number, error: string, now: number): Promise<void>;
  getChannel(tenantId: string, channelId: string): Promise<Channel | undefined>;
}

export interface DeliveryWorkerOptions {
  store: DeliveryStore;
  notifiers: Readonly<Record<ChannelType, Notifier>>;
  now?: () => number;
  random?: () => number;
  pollMs?: number;
  batch?: number;
  leaseMs?: number;
  timeoutMs?: number;
  maxAttempts?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export interface DeliveryWorker {
  /** run soon (coalesced): called right after new jobs commit, so nobody waits for the poll */
  kick(): void;
  start(): void;
  /** stops polling and waits for the run in flight */
  stop(): Promise<void>;
  /** one pass; resolves with the number of jobs handled */
  runOnce(): Promise<number>;
}

// Delay before attempt `attempts + 1`: the API's one backoff (backoff.ts).
export { backoffMs } from '../backoff.ts';

export function createDeliveryWorker(o: DeliveryWorkerOptions): DeliveryWorker {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const batch = o.batch ?? 20;
  const leaseMs = o.leaseMs ?? 60_000;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const maxAttempts = o.maxAttempts ?? 10;
  const base = o.baseBackoffMs ?? 5_000;
  const cap = o.maxBackoffMs ?? 3_600_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = false;

  async function deliver(job: DeliveryJob): Promise<void> {
    const attempts = job.attempts + 1;
    const channel = await o.store.getChannel(job.tenantId, job.channelId);
    if (!channel) {
      await o.store.failDelivery(job.id, attempts, 'channel deleted', now());
      return;
    }
    const notifier = o.notifiers[channel.type];
    try {
      await notifier.send(channel.config, job.payload, { idempotencyKey: job.idempotencyKey, timeoutMs });
      await o.store.completeDelivery(job.id, now());
    } catch (err) {
      const msg = errorMessage(err);
      const retryable = !(err instanceof DeliveryError) || err.retryable;
      if (retryable && attempts < maxAttempts) {
        const nextAt = now() + backoffMs(attempts, base, cap, random);
        o.log?.warn({ job: job.id, channel: channel.name, attempts, err }, 'notification failed; will retry');
        await o.store.retryDelivery(job.id, attempts, nextAt, msg);
      } else {
        o.log?.error({ job: job.id, channel: channel.name, attempts, err }, 'notification given up');
        await o.store.failDelivery(job.id, attempts, msg, now());
      }
    }
  }

  async function pass(): Promise<number> {
    let total = 0;
    for (;;) {
      const jobs = await o.store.claimDeliveries(now(), batch, leaseMs);
      const results = await Promise.allSettled(jobs.map(deliver));
      for (const r of results)
        if (r.status === 'rejected')
          o.log?.error({ err: r.reason as unknown }, 'delivery bookkeeping failed');
      total += jobs.length;
      if (jobs.length < batch || stopped) return total;
    }
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = pass()
      .catch((err: unknown) => {
        o.log?.error({ err }, 'delivery pass failed');
        return 0;
      })
      .finally(() => {
        running = undefined;
        if (again && !stopped) {
          again = false;
          void runOnce();
        }
      });
    return running;
  }

  return {
    kick() {
      if (!stopped) void runOnce();
    },
    start() {
      stopped = false;
      timer ??= setInterval(() => void runOnce(), o.pollMs ?? 2_000);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      while (running) await running;
    },
    runOnce,
  };
}
