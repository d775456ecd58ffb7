/**
 * High availability: the CRM's `/etc/pve/ha/manager_status` (one-line JSON, written by the active
 * master every round) and `/etc/pve/ha/resources.cfg` (SectionConfig), and the same data from
 * GET /cluster/ha/status/manager_status (the file's content under `manager_status`) and
 * GET /cluster/ha/resources. pve-ha-manager `Manager.pm`, `NodeStatus.pm`, `API2/HA/Status.pm`
 * (pve-reference ops/03-ha.md).
 */
import { parseSectionConfig } from './section-config.ts';
import { toInt } from './scalars.ts';

export interface HaResource {
  /** `vm:100`, `ct:102` */
  sid: string;
  vmid?: number;
  /** node the CRM places it on */
  node?: string;
  /** CRM state: started, stopped, fence, error, recovery, migrate, …; `queued` = configured, not yet seen by the CRM */
  state: string;
  /** configured request state (`started` when the config says nothing) */
  requestState?: string;
}

export interface HaStatus {
  masterNode?: string;
  /** epoch seconds of the master's last write */
  timestamp?: number;
  /** node → online | maintenance | unknown | fence | gone */
  nodes: Record<string, string>;
  resources: HaResource[];
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** The configured resources: sid → request state (resources.cfg sections or /cluster/ha/resources rows). */
export function parseHaResourcesCfg(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of parseSectionConfig(text).sections) {
    if (s.type !== 'vm' && s.type !== 'ct') continue;
    out.set(`${s.type}:${s.id}`, s.props.state ?? 'started');
  }
  return out;
}

export function haResourcesFromApi(rows: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(rows)) return out;
  for (const r of rows) {
    const o = obj(r);
    if (o && typeof o.sid === 'string') out.set(o.sid, typeof o.state === 'string' ? o.state : 'started');
  }
  return out;
}

/**
 * manager_status (the file, or the API's `manager_status` member) plus the configured resources →
 * HaStatus. A missing or empty manager_status (`{}`) means HA was never configured.
 * `enabled` (legacy) is the same request as `started`.
 */
export function haStatusOf(managerStatus: unknown, configured: Map<string, string>): HaStatus {
  const m = obj(managerStatus) ?? {};
  const out: HaStatus = { nodes: {}, resources: [] };
  if (typeof m.master_node === 'string') out.masterNode = m.master_node;
  const ts = toInt(m.timestamp);
  if (ts !== undefined) out.timestamp = ts;
  for (const [n, st] of Object.entries(obj(m.node_status) ?? {}))
    if (typeof st === 'string') out.nodes[n] = st;
  const seen = new Set<string>();
  for (const [sid, raw] of Object.entries(obj(m.service_status) ?? {})) {
    const s = obj(raw) ?? {};
    const r: HaResource = { sid, state: typeof s.state === 'string' ? s.state : 'unknown' };
    if (typeof s.node === 'string') r.node = s.node;
    const req = configured.get(sid);
    if (req !== undefined) r.requestState = req === 'enabled' ? 'started' : req;
    out.resources.push(r);
    seen.add(sid);
  }
  for (const [sid, req] of configured) {
    if (seen.has(sid)) continue;
    out.resources.push({ sid, state: 'queued', requestState: req === 'enabled' ? 'started' : req });
  }
  for (const r of out.resources) {
    const v = /^(?:vm|ct):(\d+)$/.exec(r.sid);
    if (v) r.vmid = Number(v[1]);
  }
  out.resources.sort((a, b) => (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
  return out;
}
