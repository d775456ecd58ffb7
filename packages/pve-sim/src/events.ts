// Events change the model; the caller then re-renders. Each event is plain data so that scenario
// runners, the CLI (`pve-sim event …`) and tests (`sim.apply({...})`) share one implementation.
import type { ClockMode, GuestKind, GuestState, NodeState, SimState } from './model.ts';
import { clusterById, clusterGuests, clusterNodes, nodeByName, viewOf } from './model.ts';
import { releaseProfile } from './versions.ts';
import { buildState } from './generate.ts';
import { applyOpsEvent, OPS_EVENT_TYPES, type OpsEvent } from './ops.ts';

export type GuestRef = {
  vmid: number;
  /** cluster name or id, or a node of that cluster, when vmids repeat */ cluster?: string;
};

export type SimEvent =
  | { type: 'node-offline'; node: string }
  | { type: 'node-online'; node: string }
  | { type: 'quorum-lost'; cluster?: string }
  | { type: 'quorum-regained'; cluster?: string }
  /** the cluster splits into these corosync partitions (node names; every node in one group) */
  | { type: 'partition'; groups: string[][] }
  /** every link of the cluster (name, id or one of its nodes; default all) is back */
  | { type: 'heal'; cluster?: string }
  | { type: 'version-upgrade'; node: string; version: string }
  | { type: 'node-reboot'; node: string }
  | ({ type: 'guest-start' } & GuestRef)
  | ({ type: 'guest-stop' } & GuestRef)
  | ({ type: 'guest-destroy' } & GuestRef)
  | ({ type: 'guest-migrate'; target: string } & GuestRef)
  | {
      type: 'guest-create';
      node: string;
      kind: GuestKind;
      vmid?: number;
      name?: string;
      start?: boolean;
      config?: Record<string, string | number>;
    }
  | ({
      type: 'config-change';
      set?: Record<string, string | number>;
      delete?: string[];
      /** true: the change goes to the pending section (as for a running guest's non-hotplug keys) */
      pending?: boolean;
      description?: string;
    } & GuestRef)
  | { type: 'pmxcfs-hang'; node: string }
  | { type: 'pmxcfs-release'; node: string }
  | { type: 'pvesh-delay'; /** default PVESH_STARTUP_MS */ ms?: number; node?: string }
  | { type: 'clock'; mode: ClockMode; epoch?: number }
  | { type: 'clock-advance'; seconds: number }
  | OpsEvent
  // issue 15 (CLI: `pve-sim event --json '{…}'`)
  /** a storage's used fraction now (0..1) and its growth per day (fraction of the total) */
  | { type: 'storage-fill'; node: string; storage: string; used: number; perDay?: number }
  | { type: 'storage-down'; node: string; storage: string }
  | { type: 'storage-up'; node: string; storage: string }
  /** pve-ssl.pem re-issued to end `days` from now (negative: already expired) */
  | { type: 'cert-expire'; node: string; days: number }
  /** a newer kernel installed (runs after node-reboot) */
  | { type: 'kernel-install'; node: string; kernel: string }
  /** pve-manager's update cache: `count` packages, `security` of them from Debian-Security */
  | { type: 'updates'; node: string; count: number; security?: number }
  /** PVE-managed Ceph with this health; `none` removes Ceph */
  | {
      type: 'ceph-health';
      cluster?: string;
      /** `unreachable`: Ceph stays configured but its monitors answer nobody (status calls fail) */
      status: 'HEALTH_OK' | 'HEALTH_WARN' | 'HEALTH_ERR' | 'unreachable' | 'none';
      checks?: Record<string, { severity: string; message: string }>;
    };

/**
 * The start-up cost we inject per pvesh call to model the real one. Nobody has published a
 * measurement (FACTS.md "pvesh timing"): each call starts Perl and loads the whole PVE::API2 module
 * tree, "hundreds of ms to seconds". We take 1 s, the middle of that bracket on a log scale
 * (√(0.3 s × 3 s) ≈ 0.95 s). It comes on top of the simulator's own ~0.1–0.2 s per call.
 */
export const PVESH_STARTUP_MS = 1000;

export const EVENT_TYPES = [
  'node-offline',
  'node-online',
  'quorum-lost',
  'quorum-regained',
  'partition',
  'heal',
  'version-upgrade',
  'node-reboot',
  'guest-start',
  'guest-stop',
  'guest-create',
  'guest-destroy',
  'guest-migrate',
  'config-change',
  'pmxcfs-hang',
  'pmxcfs-release',
  'pvesh-delay',
  'clock',
  'clock-advance',
  ...OPS_EVENT_TYPES,
  'storage-fill',
  'storage-down',
  'storage-up',
  'cert-expire',
  'kernel-install',
  'updates',
  'ceph-health',
] as const;

/** What the renderer must do after an event beyond re-rendering the model. */
export interface EventEffect {
  hang?: string;
  release?: string;
}

function findCluster(state: SimState, ref: string | undefined): string[] {
  if (ref === undefined) return state.clusters.filter((c) => c.name !== null).map((c) => c.id);
  const byNode = state.nodes.find((n) => n.name === ref);
  if (byNode) return [byNode.clusterId];
  const ids = state.clusters.filter((c) => c.id === ref || c.name === ref).map((c) => c.id);
  if (ids.length === 0) throw new Error(`unknown cluster '${ref}'`);
  return ids;
}

export function findGuest(state: SimState, ref: GuestRef): GuestState {
  const clusters = ref.cluster === undefined ? undefined : new Set(findCluster(state, ref.cluster));
  const hits = state.guests.filter(
    (g) => g.vmid === ref.vmid && (!clusters || clusters.has(nodeByName(state, g.node).clusterId)),
  );
  if (hits.length === 0)
    throw new Error(`unknown guest ${ref.vmid}${ref.cluster ? ` in '${ref.cluster}'` : ''}`);
  if (hits.length > 1) {
    throw new Error(
      `vmid ${ref.vmid} exists in several clusters: give the cluster id (${hits.map((g) => nodeByName(state, g.node).clusterId).join(', ')}) or a node name`,
    );
  }
  return hits[0]!;
}

function membershipChanged(state: SimState, clusterId: string): void {
  const c = clusterById(state, clusterId);
  c.membersVersion++;
  c.ringSeq++;
}

function bumpConf(state: SimState, g: GuestState): void {
  g.confVersion++;
  clusterById(state, nodeByName(state, g.node).clusterId).vmlistVersion++;
}

function startGuest(g: GuestState, now: number): void {
  // pending changes are applied when a guest (re)starts
  Object.assign(g.config, g.pending);
  for (const d of g.pendingDelete) delete g.config[d.replace(/^!/, '')];
  g.pending = {};
  g.pendingDelete = [];
  g.status = 'running';
  g.startedAt = now;
}

function requireQuorum(state: SimState, node: NodeState, what: string): void {
  if (!viewOf(state, node).quorate)
    throw new Error(`cluster not ready - no quorum? (${what} on ${node.name})`);
}

/** Checks a partition event's groups: one cluster, every node of it in exactly one group. */
function partitionCluster(state: SimState, groups: string[][]): string {
  if (!Array.isArray(groups) || groups.length < 2 || groups.some((g) => !Array.isArray(g) || g.length === 0))
    throw new Error('partition: give at least two non-empty groups of nodes (pve1,pve2/pve3)');
  const names = groups.flat();
  const nodes = names.map((n) => nodeByName(state, n));
  const clusterId = nodes[0]!.clusterId;
  if (clusterById(state, clusterId).name === null)
    throw new Error(`${nodes[0]!.name} is a standalone node: it has no peers to lose`);
  const other = nodes.find((n) => n.clusterId !== clusterId);
  if (other) throw new Error(`partition: ${other.name} is not in the cluster of ${nodes[0]!.name}`);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`partition: ${twice} is in two groups`);
  const missing = clusterNodes(state, clusterId).find((n) => !names.includes(n.name));
  if (missing)
    throw new Error(`partition: ${missing.name} is in no group (every node of the cluster must be)`);
  return clusterId;
}

export function applyEvent(state: SimState, ev: SimEvent, now: number): EventEffect {
  const effect: EventEffect = {};
  switch (ev.type) {
    case 'node-offline':
    case 'node-online': {
      const n = nodeByName(state, ev.node);
      if (clusterById(state, n.clusterId).name === null)
        throw new Error(`${n.name} is a standalone node: it has no peers to lose`);
      n.isolated = ev.type === 'node-offline';
      membershipChanged(state, n.clusterId);
      break;
    }
    case 'quorum-lost':
    case 'quorum-regained':
    case 'heal':
      for (const id of findCluster(state, ev.cluster)) {
        const c = clusterById(state, id);
        if (c.name === null) continue;
        c.partitioned = ev.type === 'quorum-lost';
        if (ev.type !== 'quorum-lost') {
          for (const n of clusterNodes(state, id)) n.isolated = false;
          delete c.groups;
        }
        membershipChanged(state, id);
      }
      break;
    case 'partition': {
      const id = partitionCluster(state, ev.groups);
      const c = clusterById(state, id);
      c.groups = ev.groups.map((g) => [...g]);
      // a new split replaces the old one: the groups say who sees whom
      c.partitioned = false;
      for (const n of clusterNodes(state, id)) n.isolated = false;
      membershipChanged(state, id);
      break;
    }
    case 'version-upgrade': {
      const n = nodeByName(state, ev.node);
      const p = releaseProfile(ev.version);
      n.pveVersion = p.version;
      n.repoid = p.repoid;
      // the new kernel is installed but runs only after the next reboot
      n.installedKernel = p.kernel;
      n.installedKernelBuild = p.kernelBuild;
      break;
    }
    case 'storage-fill': {
      const n = nodeByName(state, ev.node);
      n.storageFill = {
        ...n.storageFill,
        [ev.storage]: { used: ev.used, since: now, perDay: ev.perDay ?? 0 },
      };
      break;
    }
    case 'storage-down':
    case 'storage-up': {
      const n = nodeByName(state, ev.node);
      const down = new Set(n.storageDown ?? []);
      if (ev.type === 'storage-down') down.add(ev.storage);
      else down.delete(ev.storage);
      n.storageDown = [...down];
      break;
    }
    case 'cert-expire': {
      const n = nodeByName(state, ev.node);
      // re-issued with a 30-day life that ends `days` from now
      n.cert = { notBefore: Math.floor(now + ev.days * 86400) - 30 * 86400, days: 30 };
      break;
    }
    case 'kernel-install': {
      const n = nodeByName(state, ev.node);
      n.installedKernel = ev.kernel;
      n.installedKernelBuild = `#1 SMP PREEMPT_DYNAMIC PMX ${ev.kernel.replace(/-pve$/, '')}`;
      break;
    }
    case 'updates': {
      const n = nodeByName(state, ev.node);
      const sec = ev.security ?? 0;
      n.updates = Array.from({ length: ev.count }, (_, i) => ({
        Package: i < sec ? `libsec${i}` : `pkg${i}`,
        OldVersion: '1.0-1',
        Version: i < sec ? '1.0-1+deb13u1' : '1.0-2',
        Origin: i < sec ? 'Debian' : 'Proxmox',
        ...(i < sec ? { Label: 'Debian-Security' } : {}),
      }));
      break;
    }
    case 'ceph-health':
      for (const id of findCluster(state, ev.cluster)) {
        const c = clusterById(state, id);
        if (ev.status === 'none') delete c.ceph;
        else if (ev.status === 'unreachable')
          c.ceph = { status: c.ceph?.status ?? 'HEALTH_OK', checks: c.ceph?.checks ?? {}, unreachable: true };
        else c.ceph = { status: ev.status, checks: ev.checks ?? {} };
        c.fileVersions['ceph.conf'] = (c.fileVersions['ceph.conf'] ?? 0) + 1;
      }
      break;
    case 'node-reboot': {
      const n = nodeByName(state, ev.node);
      // a reboot restarts pmxcfs too
      if (n.hung) effect.release = n.name;
      n.hung = false;
      n.bootTime = Math.floor(now);
      n.kernel = n.installedKernel;
      n.kernelBuild = n.installedKernelBuild;
      for (const g of state.guests.filter((x) => x.node === n.name)) {
        if (g.config.onboot === '1' && g.config.template !== '1') startGuest(g, Math.floor(now) + 20);
        else {
          g.status = 'stopped';
          g.startedAt = 0;
        }
      }
      membershipChanged(state, n.clusterId);
      break;
    }
    case 'guest-start': {
      const g = findGuest(state, ev);
      if (g.config.template === '1') throw new Error(`VM ${g.vmid} is a template - start failed`);
      if (g.status === 'running') throw new Error(`VM ${g.vmid} already running`);
      const hadPending = Object.keys(g.pending).length + g.pendingDelete.length > 0;
      startGuest(g, Math.floor(now));
      if (hadPending) bumpConf(state, g);
      break;
    }
    case 'guest-stop': {
      const g = findGuest(state, ev);
      if (g.status !== 'running') throw new Error(`VM ${g.vmid} not running`);
      g.status = 'stopped';
      g.startedAt = 0;
      break;
    }
    case 'guest-destroy': {
      const g = findGuest(state, ev);
      if (g.status === 'running') throw new Error(`VM ${g.vmid} is running - destroy failed`);
      requireQuorum(state, nodeByName(state, g.node), 'destroy');
      state.guests.splice(state.guests.indexOf(g), 1);
      clusterById(state, nodeByName(state, g.node).clusterId).vmlistVersion++;
      break;
    }
    case 'guest-migrate': {
      const g = findGuest(state, ev);
      const from = nodeByName(state, g.node);
      const to = nodeByName(state, ev.target);
      if (to.clusterId !== from.clusterId)
        throw new Error(`target node '${to.name}' is not in the cluster of ${g.vmid}`);
      if (to.name === from.name) throw new Error(`target node is local node`);
      requireQuorum(state, from, 'migrate');
      g.node = to.name;
      // the guest runs as a new process on the target: its uptime restarts
      if (g.status === 'running') g.startedAt = Math.floor(now);
      bumpConf(state, g);
      break;
    }
    case 'guest-create': {
      const n = nodeByName(state, ev.node);
      requireQuorum(state, n, 'create');
      const inCluster = clusterGuests(state, n.clusterId);
      let vmid = ev.vmid;
      if (vmid === undefined) {
        vmid = 100;
        while (inCluster.some((g) => g.vmid === vmid)) vmid++;
      } else if (inCluster.some((g) => g.vmid === vmid)) {
        throw new Error(
          `unable to create ${ev.kind === 'qemu' ? 'VM' : 'CT'} ${vmid} - VM ${vmid} already exists`,
        );
      }
      // generate a realistic config with the fleet generator, seeded by the state generation
      const scratch = buildState(
        {
          seed: state.seed + state.generation,
          clock: { mode: 'frozen', epoch: Math.floor(now) },
          clusters: [
            {
              name: 'scratch',
              nodes: [{ name: n.name, pveVersion: n.pveVersion }],
              guests: [
                {
                  vmid,
                  kind: ev.kind,
                  node: n.name,
                  status: 'stopped',
                  ...(ev.name ? { name: ev.name } : {}),
                  ...(ev.config ? { config: ev.config } : {}),
                },
              ],
            },
          ],
        },
        now * 1000,
      );
      const g = scratch.guests[0]!;
      g.snapshots = [];
      delete g.config.parent;
      g.pending = {};
      g.pendingDelete = [];
      if (ev.start) startGuest(g, Math.floor(now));
      state.guests.push(g);
      clusterById(state, n.clusterId).vmlistVersion++;
      break;
    }
    case 'config-change': {
      const g = findGuest(state, ev);
      requireQuorum(state, nodeByName(state, g.node), 'config change');
      const target = ev.pending ? g.pending : g.config;
      for (const [k, v] of Object.entries(ev.set ?? {})) target[k] = String(v);
      for (const k of ev.delete ?? []) {
        if (ev.pending) {
          if (!g.pendingDelete.includes(k)) g.pendingDelete.push(k);
        } else delete g.config[k];
      }
      if (ev.description !== undefined) g.description = ev.description;
      bumpConf(state, g);
      break;
    }
    case 'pmxcfs-hang': {
      const n = nodeByName(state, ev.node);
      if (!n.hung) effect.hang = n.name;
      n.hung = true;
      break;
    }
    case 'pmxcfs-release': {
      const n = nodeByName(state, ev.node);
      if (n.hung) effect.release = n.name;
      n.hung = false;
      break;
    }
    case 'pvesh-delay': {
      const ms = ev.ms ?? PVESH_STARTUP_MS;
      if (!(ms >= 0)) throw new Error('pvesh-delay: ms must be a number >= 0');
      if (ev.node) nodeByName(state, ev.node).pveshDelayMs = ms;
      else state.pveshDelayMs = ms;
      break;
    }
    case 'clock':
      if (ev.mode !== 'frozen' && ev.mode !== 'live') throw new Error(`clock mode must be frozen or live`);
      state.clock = { mode: ev.mode, epoch: ev.epoch ?? Math.floor(now) };
      break;
    case 'clock-advance':
      if (state.clock.mode !== 'frozen') throw new Error('clock-advance needs a frozen clock');
      state.clock.epoch += ev.seconds;
      break;
    case 'backup-run':
    case 'backup-job':
    case 'ha-state':
    case 'replication-fail':
    case 'replication-ok':
      applyOpsEvent(state, ev, now);
      break;
    default: {
      const never: never = ev;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
  state.generation++;
  return effect;
}
