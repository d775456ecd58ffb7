/**
 * Replica chaos (issue 14, "checked from outside with replicas killed at moments you did not
 * choose"): N `nannyapi serve` processes (the built bundle) on one PostgreSQL schema, simulated agents
 * (real tokens) posting to random replicas, alert episodes driven per cluster, and a killer that at
 * random moments SIGKILLs a random replica (restarted after a random delay), SIGSTOPs one for a while
 * (then SIGCONT: a paused leader that wakes must not notify twice), or terminates a replica's
 * PostgreSQL connections from the server side. Afterwards it counts what must hold: every
 * acknowledged report stored, one firing and one resolved webhook per episode, takeovers within
 * 10 s, and revocations refused on every replica at once (checked between faults).
 *
 * Used by test/bench/replica-chaos.ts (long runs) and test/e2e/replica-chaos.test.ts (a short one).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor as waitForShared, type AfterHook } from '@nanny/testing';
import { PG_URL, pgQuery } from '@nanny/api/testing';
import { startApi, webhookReceiver, type ApiServer, type Received } from './harness.ts';
import { backendsOf, call, checkRevocation, checkWebhooks } from './chaos-checks.ts';

export { percentile } from './chaos-checks.ts';

export type Fault = 'kill' | 'pause' | 'pgkill';

export interface ChaosOptions {
  schema: string;
  replicas: number;
  clusters: number;
  /** how long faults are injected and episodes driven */
  durationMs: number;
  /** random gap between two faults */
  faultGapMs: [number, number];
  /** random time a killed replica stays down */
  downMs: [number, number];
  /** how long a SIGSTOPped replica stays stopped */
  pauseMs: number;
  /** the faults to draw from (a kill, a pause, a server-side connection kill) */
  faults: readonly Fault[];
  /** each of `faults` once, in a random order, then stop (a short run that must see every kind) */
  eachOnce?: boolean;
  /** share of faults aimed at the current leader (the rest hit a random replica) */
  leaderShare: number;
  /** how long the end may wait for the queue and the deliveries to settle */
  settleMs: number;
  log?: (line: string) => void;
}

export interface Episode {
  /** when its first report was acknowledged */
  at: number;
  cluster: string;
  rule: 'quorum_lost' | 'node_offline';
  node: string | null;
}

export interface ChaosResult {
  faults: { kind: Fault; at: number; leader: boolean; replica: number }[];
  /** ms from a fault on the leader to another replica leading (undefined: the same one led again) */
  takeovers: number[];
  /** the longest time without a leader answering (any cause) */
  longestLeaderless: number;
  /** times two replicas answered `leader` in one poll round */
  twoLeaders: number;
  episodes: Episode[];
  /** the log of every replica process, killed ones included */
  outputs: string[];
  /** replicas that exited without being killed (with the end of their output) */
  crashes: string[];
  /** per-episode problems: missing or doubled webhooks */
  webhookProblems: string[];
  /** webhooks whose Idempotency-Key had already arrived (at-least-once repeats) */
  repeats: number;
  acked: number;
  missing: string[];
  revocationChecks: number;
  revocationProblems: string[];
  received: Received[];
}

const FP = (c: number) => `c0ffee${String(c).padStart(2, '0')}`.padEnd(32, '0');
const NODES = ['pve1', 'pve2', 'pve3'];
const between = ([a, b]: [number, number]) => randomInt(a, b + 1);

export async function runChaos(
  t: AfterHook & { skip(m?: string): void },
  o: ChaosOptions,
): Promise<ChaosResult> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const hook = await webhookReceiver(t);
  const password = `chaos-${randomBytes(8).toString('hex')}`;
  const env = {
    NANNYAPI_DATABASE_URL: PG_URL,
    NANNYAPI_PG_SCHEMA: o.schema,
    NANNYAPI_SECRET_KEY: randomBytes(32).toString('hex'),
    NANNYAPI_ADMIN_PASSWORD: password,
    // the agents' and checkers' many requests come from one address
    NANNYAPI_RATE_LIMIT: '0',
  };
  const first = await startApi(t, { env });
  const apis: ApiServer[] = [first];
  for (let i = 1; i < o.replicas; i++) apis.push(await startApi(t, { env }));
  const down = new Set<ApiServer>(); // killed, not yet restarted
  const paused = new Set<ApiServer>(); // SIGSTOPped, not yet continued
  const up = () => apis.filter((a) => !down.has(a));
  /** replicas that answer now: neither killed nor paused */
  const serving = () => up().filter((a) => !paused.has(a));
  const pick = () => {
    const u = up();
    return u[randomInt(0, u.length)]!;
  };

  first.cli(['channel', 'add', '--type', 'webhook', '--name', 'hook', '--url', hook.url]);
  const clusters = Array.from({ length: o.clusters }, (_, c) => `chaos${c}`);
  const tokens = new Map<string, string>(); // "cluster/node" → access token
  // the agents of the clusters, and one per revocation round
  const enroll = first.cli(['enroll', 'create', '--uses', '10000']);
  for (const [c, cluster] of clusters.entries())
    for (const node of NODES) {
      const r = await call(pick().url, 'POST', '/api/agent/register', {
        body: { enrollment_token: enroll, hostname: node, cluster_name: cluster, cluster_fingerprint: FP(c) },
      });
      if (r.status !== 200) throw new Error(`register ${cluster}/${node}: ${r.status}`);
      tokens.set(`${cluster}/${node}`, r.json.access_token as string);
    }

  /** posts until one replica acknowledges it (an agent's spool does the same) */
  const deliver = async (path: string, token: string, body: unknown): Promise<void> => {
    for (;;) {
      const r = await call(pick().url, 'POST', path, { body, token }).catch(() => undefined);
      if (r?.status === 200) return;
      await sleep(100);
    }
  };
  // collected_at as the agent stamps it: once, kept by every resend of that report
  const clusterReport = (c: number, from: string, quorate: number, offline?: string) => ({
    collected_at: new Date().toISOString(),
    cluster_name: clusters[c],
    cluster_fingerprint: FP(c),
    nodes: 3,
    quorate,
    version: 7,
    reporting_node: from,
    members: NODES.map((name, i) => ({
      name,
      node_id: i + 1,
      online: name === offline ? 0 : 1,
      local: name === from ? 1 : 0,
    })),
  });

  // ---- the leader as the replicas say it (role and epoch from /readyz), polled all along
  const seen = new Map<ApiServer, { role?: string; epoch?: number }>();
  let longestLeaderless = 0;
  let leaderlessSince: number | undefined;
  let twoLeaders = 0;
  /** when the last completed poll round started: a fault's outcome is read from a later round */
  let polledAt = 0;
  let stop = false;
  const crashes: string[] = [];
  /** every replica process's log (warnings and errors), for a run that went wrong */
  const outputs: string[] = [];
  const restarts: Promise<void>[] = [];
  const monitor = (async () => {
    while (!stop) {
      for (const a of apis)
        if (!down.has(a) && a.proc && !a.proc.running) {
          // nobody killed it: a finding; it is started again so that the run goes on
          crashes.push(`replica ${apis.indexOf(a)} exited by itself:\n${a.proc.output.slice(-1500)}`);
          log(`  replica ${apis.indexOf(a)} EXITED BY ITSELF`);
          down.add(a);
          paused.delete(a);
          outputs.push(`---- replica ${apis.indexOf(a)} (died)\n${a.proc.output}`);
          restarts.push(a.start().then(() => void down.delete(a)));
        }
      const startedAt = Date.now();
      const got = await Promise.all(
        apis.map((a) =>
          down.has(a) || paused.has(a)
            ? Promise.resolve({})
            : call(a.url, 'GET', '/readyz', { timeoutMs: 500 })
                .then((r) => ({ role: r.json.role as string, epoch: r.json.leader_epoch as number }))
                .catch(() => ({})),
        ),
      );
      // a replica killed or paused while its answer was on the way does not count
      apis.forEach((a, i) => seen.set(a, down.has(a) || paused.has(a) ? {} : got[i]!));
      polledAt = startedAt;
      const leading = [...seen.values()].filter((r) => r.role === 'leader');
      // two replicas that both say so, in different epochs: the deposed one has not noticed yet
      // (it cannot commit: its epoch is fenced off)
      if (leading.length > 1) twoLeaders++;
      const n = leading.length;
      const now = Date.now();
      if (n === 0) leaderlessSince ??= now;
      else if (leaderlessSince !== undefined) {
        longestLeaderless = Math.max(longestLeaderless, now - leaderlessSince);
        leaderlessSince = undefined;
      }
      await sleep(100); // the poll period, not a wait for a condition
    }
  })();
  const leader = () => {
    const a = apis.find((x) => seen.get(x)?.role === 'leader');
    return a ? { api: a, epoch: seen.get(a)!.epoch ?? 0 } : undefined;
  };
  await waitForShared(() => leader(), { what: 'a leader', budget: 'long', everyMs: 100 });

  // ---- node reports from every agent to random replicas; acknowledged ones must be stored
  const acked: string[] = [];
  let seq = 0;
  const feeders = clusters.flatMap((cluster, c) =>
    NODES.map(async (node) => {
      while (!stop) {
        const at = Date.parse('2026-12-01T00:00:00Z') + ++seq * 1000;
        const body = {
          name: node,
          online: 1,
          cluster_name: cluster,
          cluster_fingerprint: FP(c),
          pve_version: 'pve-manager/8.4.1/2a5fa54a8503f96d',
          interval_seconds: 60,
          collected_at: new Date(at).toISOString(),
        };
        const r = await call(pick().url, 'POST', '/api/proxmox/node', {
          body,
          token: tokens.get(`${cluster}/${node}`)!,
        }).catch(() => undefined);
        if (r?.status === 200) acked.push(`${cluster}/${node}@${at}`);
        await sleep(randomInt(50, 250)); // pacing of the load
      }
    }),
  );

  // ---- episodes: per cluster, one after the other, each lost → (random wait) → regained
  const episodes: Episode[] = [];
  const drivers = clusters.map(async (cluster, c) => {
    const tok = (n: string) => tokens.get(`${cluster}/${n}`)!;
    while (!stop) {
      const offline = randomInt(0, 2) === 0 ? undefined : NODES[2]!;
      const began = Date.now();
      if (offline) {
        for (const n of NODES.slice(0, 2))
          await deliver('/api/proxmox/cluster', tok(n), clusterReport(c, n, 1, offline));
      } else {
        for (const n of NODES) await deliver('/api/proxmox/cluster', tok(n), clusterReport(c, n, 0));
      }
      episodes.push({
        at: began,
        cluster,
        rule: offline ? 'node_offline' : 'quorum_lost',
        node: offline ?? null,
      });
      await sleep(randomInt(500, 6000));
      for (const n of NODES) await deliver('/api/proxmox/cluster', tok(n), clusterReport(c, n, 1));
      await sleep(randomInt(500, 4000));
    }
  });

  // ---- revocation: done on one replica, refused by every other at once
  let revocationChecks = 0;
  const revocationProblems: string[] = [];
  const revocationRound = async () => {
    const live = serving();
    if (live.length < 2) return;
    const problems = await checkRevocation(live, {
      password,
      enroll,
      round: revocationChecks,
      name: (r) => apis.indexOf(r),
    });
    if (problems === undefined) return; // a replica stopped mid-check: not a finding
    revocationChecks++;
    revocationProblems.push(...problems);
  };

  // ---- the killer
  const faults: ChaosResult['faults'] = [];
  const takeovers: number[] = [];
  const end = Date.now() + o.durationMs;
  const order = [...o.faults].sort(() => Math.random() - 0.5);
  while (o.eachOnce ? order.length > 0 : Date.now() < end) {
    await sleep(between(o.faultGapMs));
    await revocationRound().catch((e: unknown) => log(`revocation round: ${String(e)}`));
    const l = leader();
    const live = serving();
    if (live.length < 2) continue; // keep one serving
    const target =
      l && paused.has(l.api) === false && Math.random() < o.leaderShare
        ? l.api
        : live[randomInt(0, live.length)]!;
    const kind = o.eachOnce ? order.shift()! : o.faults[randomInt(0, o.faults.length)]!;
    const isLeader = target === l?.api;
    const idx = apis.indexOf(target);
    const at = Date.now();
    faults.push({ kind, at, leader: isLeader, replica: idx });
    log(
      `${new Date(at).toISOString()} ${kind} replica ${idx}${isLeader ? ` (leader, epoch ${l!.epoch})` : ''}`,
    );
    const pid = target.proc!.child.pid!;
    if (kind === 'kill') {
      down.add(target);
      process.kill(-pid, 'SIGKILL');
      const wait = between(o.downMs);
      restarts.push(
        (async () => {
          await target.proc!.exited;
          await sleep(wait);
          outputs.push(`---- replica ${idx} (killed ${new Date(at).toISOString()})\n${target.proc!.output}`);
          await target.start();
          down.delete(target);
          log(`  replica ${idx} restarted after ${wait} ms`);
        })(),
      );
    } else if (kind === 'pause') {
      paused.add(target);
      process.kill(-pid, 'SIGSTOP');
      restarts.push(
        (async () => {
          await sleep(o.pauseMs);
          if (target.proc!.child.pid === pid) process.kill(-pid, 'SIGCONT');
          paused.delete(target);
          log(`  replica ${idx} continued after ${o.pauseMs} ms`);
        })(),
      );
    } else {
      const pids = await backendsOf(o.schema, pid);
      await pgQuery(o.schema, 'select pg_terminate_backend(pid) from pg_stat_activity where pid = any($1)', [
        pids,
      ]);
      log(`  terminated ${pids.length} backends of replica ${idx}`);
    }
    if (l && isLeader) {
      // a leader of a newer epoch; after a pause or a lost connection the same one may go on instead
      const bound = (kind === 'pause' ? o.pauseMs : 0) + 8000;
      const next = await waitForShared(
        () => {
          const now = polledAt > at ? leader() : undefined;
          if (now && now.epoch > l.epoch) return now;
          return Date.now() - at > bound && now ? now : undefined;
        },
        { what: 'a leader after the fault', budget: 'long', everyMs: 50 },
      );
      const ms = Date.now() - at;
      if (next.epoch > l.epoch) takeovers.push(ms);
      log(
        next.epoch > l.epoch
          ? `  replica ${apis.indexOf(next.api)} leads (epoch ${next.epoch}) after ${ms} ms`
          : `  no takeover: replica ${apis.indexOf(next.api)} still leads after ${ms} ms`,
      );
    }
  }
  await Promise.all(restarts);
  stop = true;
  await Promise.all([...feeders, ...drivers, monitor]);
  await revocationRound();

  // ---- settle: nothing queued for the engine, nothing left to deliver
  await waitForShared(
    async () => {
      const [q] = await pgQuery<{ n: number }>(o.schema, 'select count(*)::int as n from ingest_queue');
      const [d] = await pgQuery<{ n: number }>(
        o.schema,
        "select count(*)::int as n from alert_deliveries where status not in ('done', 'failed')",
      );
      return q?.n === 0 && d?.n === 0;
    },
    { what: 'the queue and the deliveries to settle', budget: o.settleMs, everyMs: 200 },
  );

  // ---- webhooks: per (cluster, rule, node), as many alerts as episodes, each fired and resolved once
  const received = [...hook.received];
  const { webhookProblems, repeats } = checkWebhooks(received, episodes, faults, t0, log);

  // ---- every acknowledged node report is stored
  const samples = await pgQuery<{ c: string; n: string; ts: string }>(
    o.schema,
    'select c.name as c, n.name as n, s.ts from node_samples s join nodes n on n.id = s.node_id join clusters c on c.id = n.cluster_id',
  );
  const stored = new Set(samples.map((s) => `${s.c}/${s.n}@${Date.parse(s.ts)}`));
  const missing = acked.filter((k) => !stored.has(k));

  return {
    faults,
    takeovers,
    longestLeaderless,
    twoLeaders,
    episodes,
    crashes,
    outputs: [...outputs, ...apis.map((a, i) => `---- replica ${i} (at the end)\n${a.proc?.output ?? ''}`)],
    webhookProblems,
    repeats,
    acked: acked.length,
    missing,
    revocationChecks,
    revocationProblems,
    received,
  };
}
