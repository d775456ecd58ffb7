/**
 * The alert lifecycle around the pure engine, for one server or many replicas on one database
 * (issue 14). Every report's facts are queued in the database in the report's own transaction
 * (`queueRows`, through the ingest listener). The leader — the replica holding the leader lock
 * (leader.ts); on SQLite the one process — keeps each tenant's engine state in memory, reads the
 * queue in order, evaluates, and stores in ONE transaction the state entries that changed, the alert
 * rows, the delivery jobs and the removal of the facts it consumed, under its epoch. So no fact is
 * evaluated twice or lost whichever replica dies when: a failed or fenced commit leaves the facts
 * queued, and the state is read back from the database before evaluating again. The timer rules
 * (silence, elapsed time) run on the leader only.
 */
import { evaluate } from './engine.ts';
import { factFromPayload, type IngestKind } from './facts.ts';
import { createState } from './state.ts';
import type { AlertEvent, AlertSettings, EngineState, Fact } from './types.ts';
import type { AlertStore, EvaluationBatch, QueuedFact } from '../storage/alerts.ts';
import { createNotifiers, type Notifiers } from '../notify/channels/index.ts';
import { createDeliveryWorker, type DeliveryWorker, type DeliveryWorkerOptions } from '../notify/queue.ts';
import { addEvents, restoreEntry, stateChanges } from './batch.ts';
import { backoffMs } from '../backoff.ts';
import type { Role } from '../leader.ts';

/** What the service needs of the app's leadership (leader.ts). */
export interface LeaderView {
  readonly name: string;
  role(): Role;
  epoch(): number | undefined;
  onChange(listener: (role: Role) => void | Promise<void>): void;
  /** a commit found a newer epoch: give the lock up */
  lost(): Promise<void>;
}

/** One process, no lock: always the leader, commits unfenced (services made by hand, benchmarks). */
const ALONE: LeaderView = {
  name: '',
  role: () => 'leader',
  epoch: () => undefined,
  onChange: () => undefined,
  lost: () => Promise.resolve(),
};

export interface AlertServiceOptions {
  store: AlertStore;
  /** who evaluates (the app's leadership); default: this process alone */
  leader?: LeaderView;
  now?: () => number;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** timer for silence and elapsed-time rules (default 10 s) */
  tickMs?: number;
  /** how often the leader looks at the queue (default 250 ms; a local ingest looks at once) */
  pollMs?: number;
  /** facts per evaluation transaction (default 1000) */
  batchSize?: number;
  /** settings for tenants that stored none */
  defaultSettings?: AlertSettings;
  /** the channel senders (createNotifiers with the app's allow-list); default: internal addresses refused */
  notifiers?: Notifiers;
  worker?: Partial<Omit<DeliveryWorkerOptions, 'store' | 'notifiers'>>;
}

export interface IngestInput {
  tenantId: string;
  kind: IngestKind;
  clusterId: string;
  payload: unknown;
  /** ISO-8601 or epoch ms */
  receivedAt: string | number;
  /** what ingest computed beyond the report (storage: days_until_full) */
  derived?: Record<string, unknown> | undefined;
  /** the fleet events of this report: a guest `gone` retires the guest */
  events?: readonly {
    subject: string;
    type: string;
    cluster_id: string | null;
    data: Record<string, unknown> | null;
  }[];
}

export interface AlertService {
  readonly worker: DeliveryWorker;
  /** the channel senders the worker uses (the test endpoint uses the same) */
  readonly notifiers: Notifiers;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** the queue rows of one report (pure): the ingest listener writes them in the report's transaction */
  queueRows(r: IngestInput): { tenantId: string; body: string }[];
  /** queues one report's facts and, on the leader, evaluates the queue */
  onIngest(r: IngestInput): Promise<void>;
  /** looks at the queue soon (coalesced) */
  kick(): void;
  /** runs the timer rules now, on the leader (the timer calls this) */
  tick(): Promise<void>;
  /** on the leader: evaluates and commits everything queued so far */
  flush(): Promise<void>;
  /** a tenant's settings were stored (their queue row makes the leader reload them) */
  settingsChanged(tenantId: string): void;
  /** the leader's state, for diagnostics (zero on a follower) */
  stats(): { tenants: number; nodes: number; active: number; role: Role };
}

interface Tenant {
  state: EngineState;
  settings: AlertSettings;
  /** entry → the text last committed for it */
  persisted: Map<string, string>;
}

type Item = { seq: number; tenantId: string; fact: Fact | undefined };

function parseItem(q: QueuedFact): Item {
  const v = JSON.parse(q.body) as Fact | { kind: 'settings' };
  return { seq: q.seq, tenantId: q.tenantId, fact: v.kind === 'settings' ? undefined : v };
}

export function createAlertService(o: AlertServiceOptions): AlertService {
  const now = o.now ?? Date.now;
  const store = o.store;
  const leader = o.leader ?? ALONE;
  const batchSize = o.batchSize ?? 1000;
  const tenants = new Map<string, Tenant>();
  const notifiers = o.notifiers ?? createNotifiers({ allowedNetworks: [] });
  const worker = createDeliveryWorker({
    store,
    notifiers,
    now,
    ...(o.log ? { log: o.log } : {}),
    ...o.worker,
  });
  let loaded = false;
  let started = false;
  let failures = 0;
  let retryAt = 0;
  let chain: Promise<void> = Promise.resolve();
  let pending: Promise<void> | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let pollTimer: NodeJS.Timeout | undefined;

  /** one pass at a time: evaluation order is queue order */
  const serial = (f: () => Promise<void>): Promise<void> => {
    const p = chain.then(f);
    chain = p.catch((err: unknown) => o.log?.error({ err }, 'alert evaluation failed'));
    return p;
  };
  const leading = () => started && leader.role() === 'leader';

  async function load(): Promise<void> {
    tenants.clear();
    const all = await store.loadAllState();
    // The silence clock restarts with the evaluator: while none ran (a restart, a failover) the
    // agents' reports waited in the queue, and that is not the agents' fault. A silent agent whose
    // alert already fired stays firing.
    const started = now();
    for (const [tenantId, entries] of all) {
      const state = createState();
      const persisted = new Map<string, string>();
      for (const e of entries) {
        restoreEntry(state, e.key, e.value);
        persisted.set(e.key, e.value);
      }
      for (const n of state.nodes.values())
        if (n.lastSeen !== undefined && n.lastSeen < started) n.lastSeen = started;
      tenants.set(tenantId, { state, settings: o.defaultSettings ?? {}, persisted });
    }
    for (const [tenantId, t] of tenants)
      t.settings = (await store.getSettings(tenantId)) ?? o.defaultSettings ?? {};
    loaded = true;
  }

  async function tenant(tenantId: string): Promise<Tenant> {
    let t = tenants.get(tenantId);
    if (!t) {
      const settings = (await store.getSettings(tenantId)) ?? o.defaultSettings ?? {};
      t = { state: createState(), settings, persisted: new Map() };
      tenants.set(tenantId, t);
    }
    return t;
  }

  /**
   * Evaluates `items` (queue rows, in order) and then `tickAt` (the timer rules for every tenant),
   * and commits all of it at once, fenced by `epoch`: the epoch this pass started under (guarded).
   * On any failure the memory is dropped: the next pass reads the state back from the database,
   * and the facts are still queued.
   */
  async function evaluateAndCommit(
    items: readonly Item[],
    epoch: number | undefined,
    tickAt?: number,
  ): Promise<void> {
    if (!loaded) await load();
    const work = new Map<string, { t: Tenant; events: AlertEvent[]; changed: Set<string> }>();
    const run = async (tenantId: string, fact: Fact) => {
      const t = await tenant(tenantId);
      let w = work.get(tenantId);
      if (!w) work.set(tenantId, (w = { t, events: [], changed: new Set() }));
      const r = evaluate(t.state, fact, fact.at, t.settings);
      w.events.push(...r.events);
      for (const c of r.changed) w.changed.add(c);
    };
    for (const it of items) {
      if (it.fact) await run(it.tenantId, it.fact);
      else
        (await tenant(it.tenantId)).settings =
          (await store.getSettings(it.tenantId)) ?? o.defaultSettings ?? {};
    }
    if (tickAt !== undefined)
      for (const id of [...tenants.keys()]) await run(id, { kind: 'tick', at: tickAt });

    const batches: EvaluationBatch[] = [];
    const afters: [Tenant, [string, string | undefined][]][] = [];
    for (const [tenantId, w] of work) {
      const { upserts, deletes, after } = stateChanges(w.t.state, w.t.persisted, w.changed);
      const batch: EvaluationBatch = { tenantId, upserts, deletes, fires: [], resolves: [] };
      if (w.events.length > 0) {
        const [silences, channels] = await Promise.all([
          store.listSilences(tenantId),
          store.listChannels(tenantId),
        ]);
        addEvents(batch, w.events, silences, channels);
      }
      if (upserts.length + deletes.length + batch.fires.length + batch.resolves.length > 0)
        batches.push(batch);
      afters.push([w.t, after]);
    }
    const { queued } = await store.commitEvaluation({
      batches,
      consumed: items.map((i) => i.seq),
      at: now(),
      ...(epoch !== undefined ? { fence: { name: leader.name, epoch } } : {}),
    });
    for (const [t, after] of afters)
      for (const [k, v] of after) {
        if (v === undefined) t.persisted.delete(k);
        else t.persisted.set(k, v);
      }
    if (queued > 0) worker.kick();
  }

  /**
   * One step of work, with the memory dropped and a backoff after a failure. `step` gets the epoch
   * this process leads under as the step starts; its commits are fenced by that epoch, never by the
   * one of the moment of the commit: a leader that finds its lock gone in the middle of a step has
   * no epoch by then (its step down waits for this step), and a commit without a fence would land
   * after a successor had loaded the state, which then never learns of it (a second alert for one
   * outage, the first never resolved: alerts/deposed-commit.test.ts).
   */
  async function guarded(step: (epoch: number | undefined) => Promise<void>): Promise<void> {
    if (!leading() || Date.now() < retryAt) return;
    const epoch = leader.epoch();
    try {
      await step(epoch);
      failures = 0;
    } catch (err) {
      loaded = false;
      tenants.clear();
      if (err instanceof Error && err.name === 'LeadershipLost') {
        o.log?.warn({ err }, 'alert evaluation fenced off: a newer leader exists');
        // Not awaited: stepping down tells the role listeners, and ours queues on this very chain,
        // which cannot move on until this pass returns (awaiting it was a deadlock that stopped
        // evaluation, and close(), for good).
        leader.lost().catch((e: unknown) => o.log?.warn({ err: e }, 'stepping down failed'));
        return;
      }
      failures++;
      retryAt = Date.now() + backoffMs(failures, 250, 8000);
      o.log?.warn(
        { err, failures },
        'alert evaluation not stored; the facts stay queued and are evaluated again',
      );
    }
  }

  /** evaluates the queue until it is empty */
  const drainQueue = () =>
    guarded(async (epoch) => {
      for (;;) {
        const rows = await store.readQueue(batchSize);
        if (rows.length === 0) return;
        await evaluateAndCommit(rows.map(parseItem), epoch);
        if (rows.length < batchSize || !leading()) return;
      }
    });

  const becomeLeader = () =>
    serial(async () => {
      loaded = false;
      tenants.clear();
      retryAt = 0;
      if (!leading()) return;
      await guarded(load);
      pollTimer ??= setInterval(() => self.kick(), o.pollMs ?? 250);
      pollTimer.unref();
      tickTimer ??= setInterval(() => void self.tick(), o.tickMs ?? 10_000);
      tickTimer.unref();
      self.kick();
    });

  const stopTimers = () => {
    if (tickTimer) clearInterval(tickTimer);
    if (pollTimer) clearInterval(pollTimer);
    tickTimer = pollTimer = undefined;
  };

  const becomeFollower = () =>
    serial(async () => {
      stopTimers();
      loaded = false;
      tenants.clear();
      return Promise.resolve();
    });

  leader.onChange((role) => {
    if (!started) return;
    return role === 'leader' ? becomeLeader() : becomeFollower();
  });

  const self: AlertService = {
    worker,
    notifiers,
    async start() {
      started = true;
      worker.start();
      worker.kick();
      if (leader.role() === 'leader') await becomeLeader();
    },
    async stop() {
      started = false;
      stopTimers();
      await chain;
      await worker.stop();
    },
    queueRows(r) {
      const at = typeof r.receivedAt === 'number' ? r.receivedAt : Date.parse(r.receivedAt);
      const fact = factFromPayload(r.kind, r.clusterId, r.payload, Number.isNaN(at) ? now() : at, r.derived);
      const rows = [{ tenantId: r.tenantId, body: JSON.stringify(fact) }];
      for (const ev of r.events ?? []) {
        const vmid = ev.data?.vmid;
        if (ev.subject === 'guest' && ev.type === 'gone' && typeof vmid === 'number') {
          const gone: Fact = {
            kind: 'guest_gone',
            clusterId: ev.cluster_id ?? r.clusterId,
            vmid,
            at: fact.at,
          };
          rows.push({ tenantId: r.tenantId, body: JSON.stringify(gone) });
        }
      }
      return rows;
    },
    async onIngest(r) {
      await store.enqueue(self.queueRows(r));
      await self.flush();
    },
    kick() {
      if (pending || !leading()) return;
      pending = serial(drainQueue).finally(() => (pending = undefined));
    },
    tick() {
      return serial(async () => {
        await drainQueue();
        await guarded((epoch) => evaluateAndCommit([], epoch, now()));
      });
    },
    flush: () => serial(drainQueue),
    settingsChanged() {
      self.kick();
    },
    stats() {
      let nodes = 0;
      let active = 0;
      for (const t of tenants.values()) {
        nodes += t.state.nodes.size;
        active += t.state.active.size;
      }
      return { tenants: tenants.size, nodes, active, role: leading() ? 'leader' : 'follower' };
    },
  };
  return self;
}
