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
import { DEFAULT_INTERVAL_SECONDS, ruleSettings } from './settings.ts';
import { createState, ensureCluster, ensureNode, normalizeVersion } from './state.ts';

export { createState } from './state.ts';
import type {
  ActiveAlert,
  AlertEvent,
  AlertSettings,
  ClusterFact,
  EngineState,
  EvaluateResult,
  Fact,
  GuestFact,
  GuestMem,
  NodeMem,
  NodeFact,
} from './types.ts';

export function evaluate(
  previousState: EngineState | undefined,
  fact: Fact,
  now: number,
  settings: AlertSettings = {},
  rules: readonly Rule[] = RULES,
): EvaluateResult {
  const state = previousState ?? createState();
  const events: AlertEvent[] = [];
  const changed = new Set<string>();
  const prev: Previous = { stale: false, duplicate: false };

  const event = (type: AlertEvent['type'], a: ActiveAlert, at: number): void => {
    const e: AlertEvent = {
      type,
      key: a.key,
      rule: a.rule,
      severity: a.severity,
      summary: a.summary,
      clusterId: a.clusterId,
      startedAt: a.startedAt,
      at,
    };
    if (a.clusterName !== undefined) e.clusterName = a.clusterName;
    if (a.node !== undefined) e.node = a.node;
    if (a.vmid !== undefined) e.vmid = a.vmid;
    events.push(e);
  };
  const toActive = (rule: Rule, a: FireInput): ActiveAlert => {
    const out: ActiveAlert = {
      key: a.key,
      rule: rule.id,
      severity: rule.severity,
      summary: a.summary,
      clusterId: a.clusterId,
      startedAt: now,
    };
    if (a.clusterName !== undefined) out.clusterName = a.clusterName;
    if (a.node !== undefined) out.node = a.node;
    if (a.vmid !== undefined) out.vmid = a.vmid;
    return out;
  };

  const ctx: RuleContext = {
    state,
    now,
    settings,
    prev,
    defaultIntervalS: settings.defaultIntervalSeconds ?? DEFAULT_INTERVAL_SECONDS,
    fire(rule, a) {
      if (state.active.has(a.key)) return;
      const act = toActive(rule, a);
      state.active.set(a.key, act);
      changed.add(`a:${a.key}`);
      event('fire', act, now);
    },
    resolve(key, summary) {
      const act = state.active.get(key);
      if (!act) return;
      state.active.delete(key);
      changed.add(`a:${key}`);
      event('resolve', summary === undefined ? act : { ...act, summary }, now);
    },
    notice(rule, a) {
      event('notice', toActive(rule, a), now);
    },
    isFiring: (key) => state.active.get(key),
    touch: (entry) => changed.add(entry),
    config: (rule, scope) => ruleSettings(settings, rule, scope),
    cluster: (f) => state.clusters.get(f.clusterId),
    node: (c, n) => state.nodes.get(nodeKey(c, n)),
    guest: (c, v) => state.guests.get(guestKey(c, v)),
  };

  switch (fact.kind) {
    case 'cluster':
      applyCluster(state, fact, prev, changed);
      for (const r of rules) r.onCluster?.(ctx, fact);
      break;
    case 'node': {
      const n = applyNode(state, fact, prev, changed, now);
      for (const r of rules) r.onNode?.(ctx, fact, n);
      break;
    }
    case 'guest': {
      const g = applyGuest(state, fact, prev, changed);
      for (const r of rules) r.onGuest?.(ctx, fact, g);
      break;
    }
    case 'guest_gone': {
      for (const r of rules) r.onGuestGone?.(ctx, fact);
      const k = guestKey(fact.clusterId, fact.vmid);
      if (state.guests.delete(k)) changed.add(`g:${k}`);
      break;
    }
    case 'tick':
      for (const r of rules) r.onTick?.(ctx, fact);
      break;
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
  n.lastSeen = now;
  if (f.intervalSeconds !== undefined) n.intervalS = f.intervalSeconds;
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
    g = { clusterId: f.clusterId, vmid: f.vmid, node: f.node, status: f.status, tags: f.tags };
    state.guests.set(k, g);
  }
  if (f.name !== undefined) g.name = f.name;
  changed.add(`g:${k}`);
  return g;
}
