/**
 * The pure evaluation core: `evaluate(previousState, fact, now, settings) → { state, events, changed }`.
 *
 * No I/O and no clock: `now` comes in. For speed the state object is updated in place and returned
 * (copying maps of 10,000 nodes per ingest would make the cost grow with the fleet); callers own the
 * state and must not share it between evaluations running at once. `changed` names the entries one
 * call touched, so the caller persists only those.
 */
import { RULES } from './rules/index.ts';
import { guestKey, nodeKey, type FireInput, type Previous, type Rule, type RuleContext } from './rule.ts';
import { DEFAULT_INTERVAL_SECONDS, ruleSettings, type Scope } from './settings.ts';
import { createState, ensureCluster, ensureNode, normalizeVersion } from './state.ts';
import { rememberView } from './membership.ts';

export { createState } from './state.ts';
import type {
  ActiveAlert,
  AlertEvent,
  AlertSettings,
  ClusterFact,
  ClusterMem,
  EngineState,
  EvaluateResult,
  Fact,
  GuestFact,
  GuestMem,
  NodeMem,
  NodeFact,
  RuleId,
  RuleSettings,
} from './types.ts';

/** toActive: the firing record of `rule` for `a`, started now. */
function toActive(rule: Rule, a: FireInput, now: number): ActiveAlert {
  const out: ActiveAlert = {
    key: a.key,
    rule: rule.id,
    severity: a.severity ?? rule.severity,
    summary: a.summary,
    clusterId: a.clusterId,
    startedAt: now,
  };
  if (a.clusterName !== undefined) out.clusterName = a.clusterName;
  if (a.node !== undefined) out.node = a.node;
  if (a.vmid !== undefined) out.vmid = a.vmid;
  return out;
}

/**
 * One evaluation's context. A class, not an object of closures: it runs on every ingest, and one
 * allocation with prototype methods is measurably cheaper than fifteen closures per report.
 */
class Evaluation implements RuleContext {
  readonly events: AlertEvent[] = [];
  readonly changed = new Set<string>();
  readonly prev: Previous = { stale: false, duplicate: false };
  readonly defaultIntervalS: number;
  constructor(
    readonly state: EngineState,
    readonly now: number,
    readonly settings: AlertSettings,
  ) {
    this.defaultIntervalS = settings.defaultIntervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  }
  private event(type: AlertEvent['type'], a: ActiveAlert): void {
    const e: AlertEvent = {
      type,
      key: a.key,
      rule: a.rule,
      severity: a.severity,
      summary: a.summary,
      clusterId: a.clusterId,
      startedAt: a.startedAt,
      at: this.now,
    };
    if (a.clusterName !== undefined) e.clusterName = a.clusterName;
    if (a.node !== undefined) e.node = a.node;
    if (a.vmid !== undefined) e.vmid = a.vmid;
    this.events.push(e);
  }
  fire(rule: Rule, a: FireInput): void {
    if (this.state.active.has(a.key)) return;
    const act = toActive(rule, a, this.now);
    this.state.active.set(a.key, act);
    this.changed.add(`a:${a.key}`);
    this.event('fire', act);
  }
  resolve(key: string, summary?: string): void {
    const act = this.state.active.get(key);
    if (!act) return;
    this.state.active.delete(key);
    this.changed.add(`a:${key}`);
    this.event('resolve', summary === undefined ? act : { ...act, summary });
  }
  notice(rule: Rule, a: FireInput): void {
    this.event('notice', toActive(rule, a, this.now));
  }
  isFiring(key: string): ActiveAlert | undefined {
    return this.state.active.get(key);
  }
  firingWith(rule: RuleId, prefix: string): ActiveAlert[] {
    // A scan of the firing alerts (few), once per ops report: not per guest.
    const out: ActiveAlert[] = [];
    for (const a of this.state.active.values()) if (a.rule === rule && a.key.startsWith(prefix)) out.push(a);
    return out;
  }
  touch(entry: string): void {
    this.changed.add(entry);
  }
  config(rule: RuleId, scope: Scope): Required<RuleSettings> {
    return ruleSettings(this.settings, rule, scope);
  }
  cluster(f: { clusterId: string }): ClusterMem | undefined {
    return this.state.clusters.get(f.clusterId);
  }
  node(clusterId: string, node: string): NodeMem | undefined {
    return this.state.nodes.get(nodeKey(clusterId, node));
  }
  guest(clusterId: string, vmid: number): GuestMem | undefined {
    return this.state.guests.get(guestKey(clusterId, vmid));
  }
}

interface Dispatch {
  cluster: Rule[];
  node: Rule[];
  guest: Rule[];
  gone: Rule[];
  tick: Rule[];
  ops: Rule[];
  storage: Rule[];
}
/** Per rule list, the rules that handle each fact kind: a guest report runs one rule, not thirteen. */
const dispatchCache = new WeakMap<readonly Rule[], Dispatch>();
function dispatchOf(rules: readonly Rule[]): Dispatch {
  let d = dispatchCache.get(rules);
  if (!d) {
    d = {
      cluster: rules.filter((r) => r.onCluster),
      node: rules.filter((r) => r.onNode),
      guest: rules.filter((r) => r.onGuest),
      gone: rules.filter((r) => r.onGuestGone),
      tick: rules.filter((r) => r.onTick),
      ops: rules.filter((r) => r.onOps),
      storage: rules.filter((r) => r.onStorage),
    };
    dispatchCache.set(rules, d);
  }
  return d;
}

export function evaluate(
  previousState: EngineState | undefined,
  fact: Fact,
  now: number,
  settings: AlertSettings = {},
  rules: readonly Rule[] = RULES,
): EvaluateResult {
  const state = previousState ?? createState();
  const ctx = new Evaluation(state, now, settings);
  const { events, changed, prev } = ctx;
  const on = dispatchOf(rules);

  switch (fact.kind) {
    case 'cluster':
      applyCluster(state, fact, prev, changed);
      for (const r of on.cluster) r.onCluster?.(ctx, fact);
      break;
    case 'node': {
      const n = applyNode(state, fact, prev, changed, now);
      for (const r of on.node) r.onNode?.(ctx, fact, n);
      break;
    }
    case 'guest': {
      const g = applyGuest(state, fact, prev, changed);
      for (const r of on.guest) r.onGuest?.(ctx, fact, g);
      break;
    }
    case 'guest_gone': {
      for (const r of on.gone) r.onGuestGone?.(ctx, fact);
      const k = guestKey(fact.clusterId, fact.vmid);
      if (state.guests.delete(k)) changed.add(`g:${k}`);
      break;
    }
    case 'tick':
      for (const r of on.tick) r.onTick?.(ctx, fact);
      break;
    case 'ops':
      ensureCluster(state, fact);
      for (const r of on.ops) r.onOps?.(ctx, fact);
      break;
    case 'storage': {
      // A storage report proves nothing about the node's liveness (its node report does): only the
      // node's memory entry is needed, for the sustain times of the storage rules.
      ensureCluster(state, fact);
      const n = ensureNode(state, fact.clusterId, fact.node, fact.clusterName);
      changed.add(`n:${nodeKey(fact.clusterId, fact.node)}`);
      for (const r of on.storage) r.onStorage?.(ctx, fact, n);
      break;
    }
  }
  return { state, events, changed };
}

function applyCluster(state: EngineState, f: ClusterFact, prev: Previous, changed: Set<string>): void {
  const c = ensureCluster(state, f);
  prev.nodes = c.nodes;
  // corosync's config_version only grows; a report with an older one comes from a node that has not
  // seen the latest membership change yet, so its node count is not news.
  const older =
    f.configVersion !== undefined && c.configVersion !== undefined && f.configVersion < c.configVersion;
  const reporter = f.reportingNode ?? '';
  if (f.collectedAt !== undefined) {
    const lr = c.lastReport;
    prev.duplicate = lr !== undefined && lr.reporter === reporter && lr.collectedAt === f.collectedAt;
    c.lastReport = { reporter, collectedAt: f.collectedAt };
  }
  // A report whose view is not taken (collected before the reporter's view held, or that very
  // collection again) is history: the membership rules must not count it as a new sighting.
  if (reporter !== '' && !prev.duplicate && !rememberView(c, reporter, f)) prev.duplicate = true;
  if (!older) {
    c.nodes = f.nodes;
    if (f.configVersion !== undefined) c.configVersion = f.configVersion;
  } else prev.nodes = f.nodes;
  changed.add(`c:${f.clusterId}`);
}

function applyNode(
  state: EngineState,
  f: NodeFact,
  prev: Previous,
  changed: Set<string>,
  now: number,
): NodeMem {
  const c = ensureCluster(state, f);
  const n = ensureNode(state, f.clusterId, f.node, f.clusterName);
  prev.version = n.version;
  prev.bootAt = n.bootAt;
  // A report may arrive late (the agent's spool replays after an outage): it proves the agent is alive,
  // but its values are older than what we know and must not move the state backwards.
  prev.stale =
    f.collectedAt !== undefined && n.lastCollected !== undefined && f.collectedAt < n.lastCollected;
  // Received before what we already heard from the agent (a replica stalled with it in hand and
  // committed it later): the agent has spoken since, so its silence clock does not go back.
  if (n.lastSeen === undefined || now > n.lastSeen) n.lastSeen = now;
  if (f.intervalSeconds !== undefined) n.intervalS = f.intervalSeconds;
  if (f.heartbeatSeconds !== undefined) n.heartbeatS = f.heartbeatSeconds;
  if (!prev.stale) {
    if (f.collectedAt !== undefined) n.lastCollected = f.collectedAt;
    if (f.pveVersion) {
      const v = normalizeVersion(f.pveVersion);
      if (v !== n.version) {
        if (n.version !== undefined) {
          const left = (c.versions[n.version] ?? 1) - 1;
          if (left > 0) c.versions[n.version] = left;
          else delete c.versions[n.version];
        }
        c.versions[v] = (c.versions[v] ?? 0) + 1;
        n.version = v;
        changed.add(`c:${f.clusterId}`);
      }
    }
    prev.uptimeS = n.uptimeS;
    if (f.uptimeSeconds !== undefined) {
      n.uptimeS = f.uptimeSeconds;
      const at = f.collectedAt ?? f.at;
      const boot = at - f.uptimeSeconds * 1000;
      n.bootAt = boot;
    }
  }
  changed.add(`n:${nodeKey(f.clusterId, f.node)}`);
  return n;
}

function applyGuest(state: EngineState, f: GuestFact, prev: Previous, changed: Set<string>): GuestMem {
  const k = guestKey(f.clusterId, f.vmid);
  let g = state.guests.get(k);
  if (g) {
    prev.status = g.status;
    prev.guestNode = g.node;
    g.status = f.status;
    g.node = f.node;
    g.tags = f.tags;
  } else {
    g = {
      clusterId: f.clusterId,
      vmid: f.vmid,
      node: f.node,
      status: f.status,
      tags: f.tags,
      firstSeen: f.at,
    };
    state.guests.set(k, g);
  }
  if (f.name !== undefined) g.name = f.name;
  changed.add(`g:${k}`);
  return g;
}
