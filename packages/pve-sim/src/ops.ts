// Operations state of the simulated fleet (issue 15): vzdump tasks with their logs, backup jobs,
// HA resources and fenced nodes, replication jobs — rendered as PVE writes them (task index and
// logs, jobs.cfg, ha/manager_status, ha/resources.cfg, replication.cfg, the replication state file)
// and answered on the API paths the agent reads. Formats: pve-reference ops/01–04 (pve-common,
// pve-manager, pve-ha-manager, pve-guest-common), see packages/proxmox/fixtures/README.md.
import type { GuestState, NodeState, SimState } from './model.ts';
import { clusterGuests, clusterNodes, nodeByName, viewOf } from './model.ts';

export interface SimTask {
  node: string;
  upid: string;
  starttime: number;
  endtime: number;
  status: string;
  log: string;
}
export interface SimBackupJob {
  clusterId: string;
  id: string;
  all: boolean;
  vmids: number[];
  exclude: number[];
  node?: string;
  storage: string;
  schedule: string;
  enabled: boolean;
}
export interface SimHaResource {
  clusterId: string;
  sid: string;
  /** CRM state: started, stopped, error, fence, … */
  state: string;
  request: string;
}
export interface SimReplication {
  clusterId: string;
  id: string;
  guest: number;
  target: string;
  lastSync: number;
  lastTry: number;
  failCount: number;
  error?: string;
}
export interface SimOps {
  tasks: SimTask[];
  backupJobs: SimBackupJob[];
  haResources: SimHaResource[];
  /** nodes the HA manager marks `fence` */
  haFenced: string[];
  /** manager_status timestamp: moves with every HA change */
  haTimestamp: number;
  replication: SimReplication[];
  /** next worker pid (UPIDs must differ) */
  pid: number;
}

export type OpsEvent =
  | {
      type: 'backup-run';
      node: string;
      /** guests to back up (default: the node's guests a job covers) */
      vmids?: number[];
      /** guests whose backup fails */
      fail?: number[];
      /** the whole job fails with this text before any guest (e.g. storage not online) */
      error?: string;
    }
  | {
      type: 'backup-job';
      cluster?: string;
      id: string;
      vmids?: number[];
      all?: boolean;
      exclude?: number[];
      remove?: boolean;
    }
  | { type: 'ha-state'; cluster?: string; vmid?: number; node?: string; state: string }
  | { type: 'replication-fail'; vmid: number; error?: string }
  | { type: 'replication-ok'; vmid: number };

export const OPS_EVENT_TYPES = [
  'backup-run',
  'backup-job',
  'ha-state',
  'replication-fail',
  'replication-ok',
] as const;

const hex = (n: number, w = 8) => n.toString(16).toUpperCase().padStart(w, '0');
const two = (n: number) => String(n).padStart(2, '0');
const stamp = (t: number) => {
  const d = new Date(t * 1000);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
};

function guestsOfCluster(state: SimState, clusterId: string): GuestState[] {
  return clusterGuests(state, clusterId);
}

/** The defaults of a new layout: healthy. One all-guests job per cluster, a good backup 12 h ago,
 * on clusters one HA resource and one replication job. */
export function defaultOps(state: SimState, now: number): SimOps {
  const ops: SimOps = {
    tasks: [],
    backupJobs: [],
    haResources: [],
    haFenced: [],
    haTimestamp: now,
    replication: [],
    pid: 0x3a000,
  };
  for (const c of state.clusters) {
    ops.backupJobs.push({
      clusterId: c.id,
      id: 'backup-daily',
      all: true,
      vmids: [],
      exclude: [],
      storage: 'local',
      schedule: '01:00',
      enabled: true,
    });
    const guests = guestsOfCluster(state, c.id).filter((g) => g.config.template !== '1');
    for (const n of clusterNodes(state, c.id)) {
      const mine = guests.filter((g) => g.node === n.name).map((g) => g.vmid);
      if (mine.length > 0) runBackup(state, ops, n, mine, [], undefined, now - 12 * 3600);
    }
    if (c.name === null) continue;
    const nodes = clusterNodes(state, c.id);
    const running = guests.find((g) => g.status === 'running');
    if (running)
      ops.haResources.push({
        clusterId: c.id,
        sid: `${running.kind === 'qemu' ? 'vm' : 'ct'}:${running.vmid}`,
        state: 'started',
        request: 'started',
      });
    const q = guests.find((g) => g.kind === 'qemu');
    const target = q && nodes.find((n) => n.name !== q.node);
    if (q && target)
      ops.replication.push({
        clusterId: c.id,
        id: `${q.vmid}-0`,
        guest: q.vmid,
        target: target.name,
        lastSync: now - 600,
        lastTry: now - 600,
        failCount: 0,
      });
  }
  return ops;
}

function covers(j: SimBackupJob, g: GuestState): boolean {
  if (j.node !== undefined && j.node !== g.node) return false;
  return j.vmids.includes(g.vmid) || (j.all && !j.exclude.includes(g.vmid));
}

function runBackup(
  state: SimState,
  ops: SimOps,
  n: NodeState,
  vmids: number[],
  fail: number[],
  error: string | undefined,
  start: number,
): void {
  const pid = ops.pid++;
  const id = vmids.length === 1 && error === undefined ? String(vmids[0]) : '';
  const upid = `UPID:${n.name}:${hex(pid)}:${hex(0x100000 + pid)}:${hex(start)}:vzdump:${id}:root@pam:`;
  const storage = 'local';
  const lines = [
    `INFO: starting new backup job: vzdump ${vmids.join(' ')} --storage ${storage} --mode snapshot --compress zstd`,
  ];
  let status: string;
  let t = start;
  if (error !== undefined) {
    lines.push(`TASK ERROR: ${error}`);
    status = error;
  } else {
    for (const vmid of vmids) {
      const g = state.guests.find((x) => x.vmid === vmid && x.node === n.name);
      const kind = g?.kind ?? 'qemu';
      lines.push(`INFO: Starting Backup of VM ${vmid} (${kind})`, `INFO: Backup started at ${stamp(t)}`);
      if (fail.includes(vmid)) {
        lines.push(
          `ERROR: Backup of VM ${vmid} failed - unable to open '/var/lib/vz/dump/vzdump-${kind}-${vmid}.tmp': No space left on device`,
          `INFO: Failed at ${stamp(t + 1)}`,
        );
      } else {
        const size = ((vmid % 7) + 1) * 1.25;
        lines.push(
          `INFO: archive file size: ${size.toFixed(2)}GB`,
          `INFO: Finished Backup of VM ${vmid} (00:00:01)`,
          `INFO: Backup finished at ${stamp(t + 1)}`,
        );
      }
      t += 1;
    }
    const bad = vmids.some((v) => fail.includes(v));
    lines.push(bad ? 'INFO: Backup job finished with errors' : 'INFO: Backup job finished successfully');
    status = bad ? 'job errors' : 'OK';
    lines.push(bad ? 'TASK ERROR: job errors' : 'TASK OK');
  }
  ops.tasks.push({ node: n.name, upid, starttime: start, endtime: t, status, log: lines.join('\n') + '\n' });
}

function clusterOf(state: SimState, ref: string | undefined): string {
  if (ref === undefined) return state.clusters[0]!.id;
  const c = state.clusters.find((x) => x.id === ref || x.name === ref);
  if (c) return c.id;
  return nodeByName(state, ref).clusterId;
}

export function applyOpsEvent(state: SimState, ev: OpsEvent, now: number): void {
  const ops = (state.ops ??= defaultOps(state, now));
  switch (ev.type) {
    case 'backup-run': {
      const n = nodeByName(state, ev.node);
      const jobs = ops.backupJobs.filter((j) => j.clusterId === n.clusterId && j.enabled);
      const vmids =
        ev.vmids ??
        state.guests.filter((g) => g.node === n.name && jobs.some((j) => covers(j, g))).map((g) => g.vmid);
      if (vmids.length === 0 && ev.error === undefined)
        throw new Error(`backup-run: no guest of ${n.name} to back up`);
      runBackup(state, ops, n, vmids, ev.fail ?? [], ev.error, Math.floor(now));
      break;
    }
    case 'backup-job': {
      const clusterId = clusterOf(state, ev.cluster);
      ops.backupJobs = ops.backupJobs.filter((j) => !(j.clusterId === clusterId && j.id === ev.id));
      if (!ev.remove)
        ops.backupJobs.push({
          clusterId,
          id: ev.id,
          all: ev.all ?? false,
          vmids: ev.vmids ?? [],
          exclude: ev.exclude ?? [],
          storage: 'local',
          schedule: '01:00',
          enabled: true,
        });
      break;
    }
    case 'ha-state': {
      const clusterId = clusterOf(state, ev.cluster ?? ev.node);
      if (ev.vmid !== undefined) {
        const g = state.guests.find(
          (x) => x.vmid === ev.vmid && nodeByName(state, x.node).clusterId === clusterId,
        );
        if (!g) throw new Error(`ha-state: no guest ${ev.vmid}`);
        const sid = `${g.kind === 'qemu' ? 'vm' : 'ct'}:${g.vmid}`;
        const r = ops.haResources.find((x) => x.sid === sid && x.clusterId === clusterId);
        if (r) r.state = ev.state;
        else ops.haResources.push({ clusterId, sid, state: ev.state, request: 'started' });
      } else if (ev.node !== undefined) {
        ops.haFenced = ops.haFenced.filter((x) => x !== ev.node);
        if (ev.state === 'fence') ops.haFenced.push(ev.node);
      } else throw new Error('ha-state needs vmid or node');
      ops.haTimestamp = Math.max(ops.haTimestamp + 1, Math.floor(now));
      break;
    }
    case 'replication-fail':
    case 'replication-ok': {
      const r = ops.replication.find((x) => x.guest === ev.vmid);
      if (!r) throw new Error(`${ev.type}: guest ${ev.vmid} has no replication job`);
      r.lastTry = Math.floor(now);
      if (ev.type === 'replication-ok') {
        r.failCount = 0;
        r.lastSync = Math.floor(now);
        delete r.error;
      } else {
        r.failCount++;
        r.error =
          ev.error ??
          `command 'zfs snapshot rpool/data/vm-${ev.vmid}-disk-0@__replicate_${r.id}_${Math.floor(now)}__' failed: exit code 1`;
      }
      break;
    }
  }
}

/** A node's task folder: `index` (finished tasks), `active` (empty: nothing runs) and the logs. */
export function taskFiles(ops: SimOps | undefined, n: NodeState): Record<string, string> {
  const out: Record<string, string> = { index: '', active: '' };
  for (const t of ops?.tasks ?? []) {
    if (t.node !== n.name) continue;
    out.index += `${t.upid} ${hex(t.endtime)} ${t.status}\n`;
    out[`${hex(t.starttime).slice(-1)}/${t.upid}`] = t.log;
  }
  return out;
}

const tab = (k: string, v: string) => `\t${k} ${v}\n`;

/** Cluster-wide /etc/pve files: jobs.cfg, ha/manager_status, ha/resources.cfg, replication.cfg. */
export function etcPveOpsFiles(state: SimState, viewer: NodeState): Record<string, string> {
  const ops = state.ops;
  if (!ops) return {};
  const cid = viewer.clusterId;
  const out: Record<string, string> = {};
  out['jobs.cfg'] = ops.backupJobs
    .filter((j) => j.clusterId === cid)
    .map(
      (j) =>
        `vzdump: ${j.id}\n` +
        tab('schedule', j.schedule) +
        (j.all ? tab('all', '1') : '') +
        tab('enabled', j.enabled ? '1' : '0') +
        (j.exclude.length ? tab('exclude', j.exclude.join(',')) : '') +
        tab('mode', 'snapshot') +
        (j.node ? tab('node', j.node) : '') +
        tab('storage', j.storage) +
        (j.vmids.length ? tab('vmid', j.vmids.join(',')) : ''),
    )
    .join('\n');
  const res = ops.haResources.filter((r) => r.clusterId === cid);
  const nodes = clusterNodes(state, cid);
  if (res.length > 0 && nodes.length > 1) {
    out['ha/resources.cfg'] = res
      .map((r) => `${r.sid.replace(':', ': ')}\n${tab('state', r.request)}`)
      .join('\n');
    out['ha/manager_status'] = JSON.stringify(managerStatus(state, cid)) + '\n';
  }
  out['replication.cfg'] = ops.replication
    .filter((r) => r.clusterId === cid)
    .map((r) => {
      const g = state.guests.find((x) => x.vmid === r.guest);
      return `local: ${r.id}\n${tab('target', r.target)}${g ? tab('source', g.node) : ''}`;
    })
    .join('\n');
  return out;
}

/** The HA master: the first node of the quorate partition, by name (the CRM lock holder). */
function haMaster(state: SimState, clusterId: string): string | undefined {
  const nodes = clusterNodes(state, clusterId).sort((a, b) => (a.name < b.name ? -1 : 1));
  return nodes.find((n) => viewOf(state, n).quorate)?.name;
}

export function managerStatus(state: SimState, clusterId: string): Record<string, unknown> {
  const ops = state.ops;
  if (!ops || !ops.haResources.some((r) => r.clusterId === clusterId)) return {};
  const master = haMaster(state, clusterId);
  const node_status: Record<string, string> = {};
  // the master knows only the nodes of its own partition; the others are 'unknown' to it
  const seen = master === undefined ? undefined : viewOf(state, nodeByName(state, master)).members;
  for (const n of clusterNodes(state, clusterId))
    node_status[n.name] = ops.haFenced.includes(n.name)
      ? 'fence'
      : n.isolated || (seen !== undefined && !seen.has(n.name))
        ? 'unknown'
        : 'online';
  const service_status: Record<string, unknown> = {};
  for (const r of ops.haResources.filter((x) => x.clusterId === clusterId)) {
    const vmid = Number(r.sid.split(':')[1]);
    const g = state.guests.find((x) => x.vmid === vmid);
    service_status[r.sid] = {
      node: g?.node ?? '',
      state: r.state,
      uid: Buffer.from(r.sid).toString('base64').slice(0, 22),
    };
  }
  return { master_node: master, node_status, service_status, timestamp: ops.haTimestamp };
}

/** /var/lib/pve-manager/pve-replication-state.json of a node: its guests' jobs. */
export function replicationStateFile(state: SimState, n: NodeState): string {
  const out: Record<string, Record<string, unknown>> = {};
  for (const r of state.ops?.replication ?? []) {
    const g = state.guests.find((x) => x.vmid === r.guest && x.node === n.name);
    if (!g) continue;
    out[String(r.guest)] = {
      [`local/${r.target}`]: {
        last_iteration: r.lastTry,
        last_try: r.lastTry,
        last_sync: r.lastSync,
        fail_count: r.failCount,
        duration: 1.5,
        last_node: n.name,
        storeid_list: ['local-zfs'],
        ...(r.error !== undefined ? { error: r.error } : {}),
      },
    };
  }
  return JSON.stringify(out);
}

// --- API answers ---

export function nodeTasks(state: SimState, n: NodeState, q: Record<string, string>): unknown[] {
  const limit = Number(q.limit ?? 50);
  return (state.ops?.tasks ?? [])
    .filter((t) => t.node === n.name && (q.typefilter === undefined || t.upid.split(':')[5] === q.typefilter))
    .sort((a, b) => b.starttime - a.starttime)
    .slice(0, limit)
    .map((t) => {
      const f = t.upid.split(':');
      return {
        upid: t.upid,
        node: f[1],
        pid: parseInt(f[2]!, 16),
        pstart: parseInt(f[3]!, 16),
        starttime: t.starttime,
        type: f[5],
        id: f[6],
        user: f[7],
        endtime: t.endtime,
        status: t.status,
      };
    });
}

export function taskLog(state: SimState, n: NodeState, upid: string): unknown[] | undefined {
  const t = state.ops?.tasks.find((x) => x.node === n.name && x.upid === upid);
  return t?.log
    .split('\n')
    .filter((l, i, a) => i < a.length - 1 || l !== '')
    .map((l, i) => ({ n: i + 1, t: l }));
}

export function notBackedUpAnswer(state: SimState, local: NodeState): unknown[] {
  const jobs = (state.ops?.backupJobs ?? []).filter((j) => j.clusterId === local.clusterId);
  return guestsOfCluster(state, local.clusterId)
    .filter((g) => !jobs.some((j) => covers(j, g)))
    .sort((a, b) => a.vmid - b.vmid)
    .map((g) => {
      const name = g.kind === 'qemu' ? g.config.name : g.config.hostname;
      return { vmid: g.vmid, type: g.kind, ...(name !== undefined ? { name } : {}) };
    });
}

export function haManagerStatusAnswer(state: SimState, local: NodeState): unknown {
  const v = viewOf(state, local);
  return {
    manager_status: managerStatus(state, local.clusterId),
    quorum: { node: local.name, quorate: v.quorate ? '1' : '0' },
  };
}

export function haResourcesAnswer(state: SimState, local: NodeState): unknown[] {
  return (state.ops?.haResources ?? [])
    .filter((r) => r.clusterId === local.clusterId)
    .map((r) => ({ sid: r.sid, type: r.sid.split(':')[0], state: r.request, digest: '0'.repeat(40) }));
}

export function replicationAnswer(state: SimState, n: NodeState): unknown[] {
  return (state.ops?.replication ?? [])
    .filter((r) => state.guests.some((g) => g.vmid === r.guest && g.node === n.name))
    .map((r) => {
      const g = state.guests.find((x) => x.vmid === r.guest)!;
      return {
        id: r.id,
        type: 'local',
        guest: r.guest,
        jobnum: Number(r.id.split('-')[1]),
        target: r.target,
        source: g.node,
        vmtype: g.kind,
        next_sync: r.lastTry + 900,
        last_sync: r.lastSync,
        last_try: r.lastTry,
        fail_count: r.failCount,
        duration: 1.5,
        ...(r.error !== undefined ? { error: r.error } : {}),
      };
    });
}
