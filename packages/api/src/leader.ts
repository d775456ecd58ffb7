/**
 * Which replica leads (issue 14): the one holding the database's leader lock (storage/leader.ts).
 * Followers try again every `retryMs`; the leader checks every `retryMs` that it still holds the
 * lock. Work that must run once across replicas (alert evaluation, the timer rules) runs on the
 * leader only, and commits under its epoch so that a deposed leader's late commit fails.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LeaderLock } from './storage/leader.ts';

export type Role = 'leader' | 'follower';

export interface Leadership {
  /** the lock's name, also the row of its epoch */
  readonly name: string;
  /** this process, as the epoch row names it */
  readonly holder: string;
  role(): Role;
  /** the epoch this process leads under, undefined while it follows */
  epoch(): number | undefined;
  /** called on every change of role (with the new epoch when leading) */
  onChange(listener: (role: Role, epoch: number | undefined) => void | Promise<void>): void;
  start(): Promise<void>;
  /** releases the lock (a successor takes over at its next try) */
  stop(): Promise<void>;
  /** runs one try or check now (tests; the timer calls it) */
  poll(): Promise<void>;
  /** to be called when a commit found its epoch stale: the lock is given up and tried again */
  lost(): Promise<void>;
}

export interface LeadershipOptions {
  lock: LeaderLock;
  name?: string;
  retryMs?: number;
  now?: () => Date;
  log?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
}

/** Default try/check period: a dead leader is replaced within about two of these (plus keepalives). */
export const LEADER_RETRY_MS = 2000;

export function createLeadership(o: LeadershipOptions): Leadership {
  const name = o.name ?? 'nanny';
  const holder = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const now = o.now ?? (() => new Date());
  const listeners: ((role: Role, epoch: number | undefined) => void | Promise<void>)[] = [];
  let epoch: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;

  const announce = async () => {
    const role: Role = epoch === undefined ? 'follower' : 'leader';
    for (const l of listeners) {
      try {
        await l(role, epoch);
      } catch (err) {
        o.log?.warn({ err }, 'leadership listener failed');
      }
    }
  };

  const step = async (): Promise<void> => {
    if (stopped) return;
    if (epoch === undefined) {
      let won: number | undefined;
      try {
        won = await o.lock.tryAcquire(holder, now().toISOString());
      } catch (err) {
        o.log?.warn({ err }, 'leader lock: try failed');
        return;
      }
      if (won === undefined) return;
      epoch = won;
      o.log?.info?.({ epoch, holder }, 'leading: this replica evaluates alerts now');
      await announce();
      return;
    }
    if (await o.lock.held()) return;
    o.log?.warn({ epoch, holder }, 'leader lock lost: following');
    epoch = undefined;
    await announce();
  };

  const serial = (f: () => Promise<void>): Promise<void> => (chain = chain.then(f, f));

  const self: Leadership = {
    name,
    holder,
    role: () => (epoch === undefined ? 'follower' : 'leader'),
    epoch: () => epoch,
    onChange(l) {
      listeners.push(l);
    },
    async start() {
      stopped = false;
      await self.poll();
      timer ??= setInterval(() => void self.poll(), o.retryMs ?? LEADER_RETRY_MS);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await serial(async () => {
        const was = epoch;
        epoch = undefined;
        await o.lock.release();
        if (was !== undefined) await announce();
      });
    },
    poll: () => serial(step),
    lost: () =>
      serial(async () => {
        if (epoch === undefined) return;
        o.log?.warn({ epoch, holder }, 'a newer leader exists: following');
        epoch = undefined;
        await o.lock.release();
        await announce();
      }),
  };
  return self;
}
