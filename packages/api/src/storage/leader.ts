/**
 * The leader lock of replicas on one database (issue 14). On PostgreSQL a session advisory lock held
 * on a connection of its own: when the holder dies its connection goes, PostgreSQL releases the
 * lock, and another replica's next try wins. A holder that hangs without dying (stopped, paused)
 * keeps its connection, so the holder runs a statement on it every beat, and a contender ends the
 * connection of a holder idle for LEADER_STALE_MS. Every win increments an epoch in `nanny_leader`; work
 * that must happen once (alert evaluation) checks that epoch inside its own transaction, so a
 * leader that lost its lock without noticing (a partition) cannot commit after its successor began.
 *
 * On SQLite there is one process: the lock is always won (the epoch still counts the starts).
 */
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from './migrations/types.ts';

export interface LeaderLock {
  /** one try; the new epoch when this process now holds the lock, undefined when another does */
  tryAcquire(holder: string, now: string): Promise<number | undefined>;
  /** whether the lock is still held (its connection answers and still holds it) */
  held(): Promise<boolean>;
  /** lets go (closes the lock's connection) */
  release(): Promise<void>;
}

interface LeaderTable {
  nanny_leader: { name: string; epoch: number; holder: string; since: string };
}

/** Thrown inside a transaction whose epoch is no longer the current one: the batch is rolled back. */
export class LeadershipLost extends Error {
  constructor(name: string, mine: number, current: number | undefined) {
    super(`leadership "${name}" lost: epoch ${mine}, now ${current ?? 'none'}`);
    this.name = 'LeadershipLost';
  }
}

/**
 * Checks, inside `trx`, that `epoch` is still the current one. On PostgreSQL the row is read FOR
 * SHARE: a successor's epoch update waits until this transaction ends, and every transaction that
 * starts after that update sees the new epoch and fails here.
 */
export async function checkEpoch(trx: unknown, dialect: Dialect, name: string, epoch: number): Promise<void> {
  const db = trx as Kysely<LeaderTable>;
  const lock = dialect === 'postgres' ? sql` for share` : sql``;
  const r = await sql<{
    epoch: number;
  }>`select epoch from nanny_leader where name = ${name}${lock}`.execute(db);
  const current = r.rows[0] ? Number(r.rows[0].epoch) : undefined;
  if (current !== epoch) throw new LeadershipLost(name, epoch, current);
}

/** how long one lock query may take before the connection counts as dead */
const QUERY_TIMEOUT_MS = 3000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`leader lock query took over ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * A holder whose lock connection has run no statement for this long is taken for hung (a stopped
 * process, a paused VM, a blocked event loop): its connection stays up (the kernel answers the
 * keepalives), so its lock would never go. A contender ends that connection and takes the lock;
 * the hung holder's late commits fail on the epoch (checkEpoch) when it wakes.
 */
export const LEADER_STALE_MS = 5000;
/** how often a holder runs a statement on its lock connection, to show that it is alive */
export const LEADER_BEAT_MS = 1000;

export interface LeaderLockOptions {
  staleMs?: number;
  beatMs?: number;
}

export interface PgSessionOptions {
  connectionString: string;
  /** search_path, so that the lock key and the epoch row belong to this schema */
  schema?: string | undefined;
}

export function createLeaderLock(
  db: unknown,
  dialect: Dialect,
  name: string,
  session?: PgSessionOptions,
  opts: LeaderLockOptions = {},
): LeaderLock {
  const staleMs = opts.staleMs ?? LEADER_STALE_MS;
  const beatMs = opts.beatMs ?? LEADER_BEAT_MS;
  const k = db as Kysely<LeaderTable>;
  const bump = async (holder: string, now: string): Promise<number> => {
    const r = await k
      .insertInto('nanny_leader')
      .values({ name, epoch: 1, holder, since: now })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet((eb) => ({
          epoch: eb('nanny_leader.epoch', '+', 1),
          holder: eb.ref('excluded.holder'),
          since: eb.ref('excluded.since'),
        })),
      )
      .returning('epoch')
      .executeTakeFirstOrThrow();
    return Number(r.epoch);
  };

  if (dialect === 'sqlite' || !session) {
    let holding = false;
    return {
      async tryAcquire(holder, now) {
        if (holding) return undefined;
        holding = true;
        return bump(holder, now);
      },
      held: () => Promise.resolve(holding),
      release() {
        holding = false;
        return Promise.resolve();
      },
    };
  }

  let client: pg.Client | undefined;
  let beat: NodeJS.Timeout | undefined;
  const drop = async (): Promise<void> => {
    const c = client;
    client = undefined;
    clearInterval(beat);
    beat = undefined;
    // end() waits for the server; on a dead connection that may never come
    if (c) await withTimeout(c.end(), QUERY_TIMEOUT_MS).catch(() => undefined);
  };
  // The key is (schema, name): two deployments (or two test schemas) on one database do not compete.
  const KEY = 'hashtext(current_schema()), hashtext($1)';
  const tryLock = async (c: pg.Client): Promise<boolean> =>
    !!(
      await withTimeout(
        c.query<{ ok: boolean }>(`select pg_try_advisory_lock(${KEY}) as ok`, [name]),
        QUERY_TIMEOUT_MS,
      )
    ).rows[0]?.ok;
  /** ends the holder's lock connection when it has been idle for `staleMs`; true when it did */
  const endHungHolder = async (c: pg.Client): Promise<boolean> => {
    const r = await withTimeout(
      c.query<{ n: number }>(
        `select count(*) filter (where pg_terminate_backend(a.pid))::int as n
           from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.locktype = 'advisory' and l.granted
            and l.classid = (hashtext(current_schema()))::oid and l.objid = (hashtext($1))::oid
            and a.state = 'idle' and a.query_start < clock_timestamp() - make_interval(secs => $2)`,
        [name, staleMs / 1000],
      ),
      QUERY_TIMEOUT_MS,
    ).catch(() => undefined); // not allowed to end it (another role): wait for it as before
    return (r?.rows[0]?.n ?? 0) > 0;
  };
  /**
   * Ends transactions that hold the epoch row (checkEpoch reads it FOR SHARE) and have sat idle for
   * half of `staleMs`: a hung holder stopped in the middle of its commit. The epoch update below
   * would otherwise wait until that holder wakes up.
   */
  const endHungTransactions = (c: pg.Client) =>
    withTimeout(
      c.query(
        `select pg_terminate_backend(a.pid) from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.locktype = 'relation' and l.relation = 'nanny_leader'::regclass
            and a.pid <> pg_backend_pid() and a.state = 'idle in transaction'
            and a.state_change < clock_timestamp() - make_interval(secs => $1)`,
        [staleMs / 2000],
      ),
      QUERY_TIMEOUT_MS,
    ).catch(() => undefined); // not allowed (another role): the update waits for it instead
  /** the new epoch, written on the lock's connection so that a wait for a row lock is bounded */
  const bumpOn = async (c: pg.Client, holder: string, now: string): Promise<number> => {
    for (let i = 0; ; i++) {
      try {
        const r = await withTimeout(
          c.query<{ epoch: number }>(
            `insert into nanny_leader (name, epoch, holder, since) values ($1, 1, $2, $3)
               on conflict (name) do update
               set epoch = nanny_leader.epoch + 1, holder = excluded.holder, since = excluded.since
             returning epoch`,
            [name, holder, now],
          ),
          QUERY_TIMEOUT_MS,
        );
        return Number(r.rows[0]!.epoch);
      } catch (err) {
        // 55P03: lock_timeout — a commit in flight holds the row; a hung one is ended, then again
        if ((err as { code?: string }).code !== '55P03' || i >= 5) throw err;
        await endHungTransactions(c);
      }
    }
  };
  return {
    async tryAcquire(holder, now) {
      if (client) return undefined;
      const c = new pg.Client({
        connectionString: session.connectionString,
        connectionTimeoutMillis: QUERY_TIMEOUT_MS,
        keepAlive: true,
        application_name: 'nannyapi-leader',
        // A holder that vanishes without closing its connection (power loss, partition) is noticed
        // by the server's keepalives: about 5 + 2 × 2 s, inside the 10 s a successor may take.
        options: [
          ...(session.schema ? [`-c search_path=${session.schema}`] : []),
          '-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=2',
        ].join(' '),
      });
      // A broken connection emits 'error'; held() finds out and the lock counts as lost.
      c.on('error', () => undefined);
      try {
        await withTimeout(c.connect(), QUERY_TIMEOUT_MS);
        let won = await tryLock(c);
        const tookOver = !won && (await endHungHolder(c));
        if (tookOver) {
          // the lock goes when the ended backend has exited: a moment, not a poll period
          for (let i = 0; i < 10 && !won; i++) {
            await new Promise((r) => setTimeout(r, 100));
            won = await tryLock(c);
          }
        }
        if (!won) {
          await withTimeout(c.end(), QUERY_TIMEOUT_MS).catch(() => undefined);
          return undefined;
        }
        client = c;
        // Not the leadership's own check (that one waits behind role changes, which may load a lot):
        // a statement of its own every beat, so that only a hung process looks hung.
        let beating = false;
        beat = setInterval(() => {
          if (client !== c || beating) return;
          beating = true;
          c.query('select 1')
            .catch(() => undefined) // a dead connection: held() finds out and lets go
            .finally(() => (beating = false));
        }, beatMs);
        beat.unref();
        await withTimeout(c.query(`set lock_timeout = '1s'`), QUERY_TIMEOUT_MS);
        if (tookOver) await endHungTransactions(c);
        return await bumpOn(c, holder, now);
      } catch (err) {
        client = c;
        await drop();
        throw err;
      }
    },
    async held() {
      const c = client;
      if (!c) return false;
      try {
        const r = await withTimeout(
          c.query<{ n: number }>(
            `select count(*)::int as n from pg_locks where locktype = 'advisory' and granted
               and pid = pg_backend_pid() and classid = (hashtext(current_schema()))::oid
               and objid = (hashtext($1))::oid`,
            [name],
          ),
          QUERY_TIMEOUT_MS,
        );
        if ((r.rows[0]?.n ?? 0) > 0) return true;
      } catch {
        // fall through: the connection is gone or hangs
      }
      await drop();
      return false;
    },
    release: drop,
  };
}
