// The GET endpoints the agent uses, answered from the model as node `local` would answer them.
// pvesh and the HTTPS server both call apiGet(); they differ only in framing (bare JSON vs the
// {"data": …} envelope) and error transport (stderr + exit 255 vs HTTP status line).
import type { GuestKind, GuestState, NodeState, SimState } from './model.ts';
import { clusterById, clusterNodes, nodeByName, viewOf } from './model.ts';
import { aptUpdate, aptVersions, certificatesInfo, cephConf, cephStatus } from './storage-ops.ts';
import { confDigest, renderGuestConf } from './pmxcfs.ts';
import {
  haManagerStatusAnswer,
  haResourcesAnswer,
  nodeTasks,
  notBackedUpAnswer,
  replicationAnswer,
  taskLog,
} from './ops.ts';
import {
  clusterResources,
  clusterStatus,
  err,
  guestConfigData,
  guestList,
  guestPendingData,
  guestStatusCurrent,
  nodeStatus,
  nodesData,
  snapshotList,
  storageList,
  typedMap,
  versionOf,
  type ApiResult,
} from './answers.ts';

export type { ApiResult } from './answers.ts';

export function normalizeApiPath(path: string): string {
  const p = ('/' + path).replace(/\/+/g, '/');
  return p.length > 1 ? p.replace(/\/$/, '') : p;
}

/** What a route's handler gets: the request, plus what the placeholders of its pattern bound. */
interface RouteContext {
  state: SimState;
  local: NodeState;
  path: string;
  query: Record<string, string>;
  now: number;
  /** bound by `{node}` */
  target?: NodeState;
  /** bound by `{kind}` */
  kind?: GuestKind;
  /** bound by `{vmid}` */
  guest?: GuestState;
  /** bound by `{upid}` */
  upid?: string;
}

interface Route {
  /** `/`-separated; `{name}` is a placeholder from PLACEHOLDERS */
  pattern: string;
  handler: (c: RouteContext) => ApiResult;
}

const ok = (data: unknown): ApiResult => ({ ok: true, data });
const notImplemented = (path: string) => err(501, `Method 'GET ${path}' not implemented`);

function guestConfig(c: RouteContext, g: GuestState): ApiResult {
  const current = c.query.current === '1' || c.query.current === 'true';
  if (c.query.snapshot === undefined) return ok(guestConfigData(g, current));
  const s = g.snapshots.find((x) => x.name === c.query.snapshot);
  if (!s) return err(500, `snapshot '${c.query.snapshot}' does not exist\n`);
  return ok({
    ...typedMap(g.kind, { ...s.config, snaptime: String(s.snaptime) }),
    digest: confDigest(renderGuestConf(g)),
  });
}

// The handlers run only after every placeholder of their pattern bound, so what the placeholder
// binds is there; `bound` says so to the type checker.
function bound<T>(v: T | undefined): T {
  if (v === undefined) throw new Error('pve-sim: route handler without its bound placeholder');
  return v;
}

/** Every GET the simulator answers. The first whole match wins; order matters only for readability. */
const ROUTES: readonly Route[] = [
  { pattern: '/version', handler: (c) => ok(versionOf(c.local)) },
  { pattern: '/cluster/status', handler: (c) => ok(clusterStatus(c.state, c.local)) },
  {
    pattern: '/cluster/resources',
    handler: (c) => clusterResources(c.state, c.local, c.query.type, c.now),
  },
  { pattern: '/nodes', handler: (c) => ok(nodesData(c.state, c.local, c.now)) },
  {
    pattern: '/nodes/{node}',
    handler: () => ok(['status', 'version', 'lxc', 'qemu', 'storage'].map((subdir) => ({ name: subdir }))),
  },
  { pattern: '/nodes/{node}/status', handler: (c) => ok(nodeStatus(bound(c.target), c.now)) },
  { pattern: '/nodes/{node}/version', handler: (c) => ok(versionOf(bound(c.target))) },
  { pattern: '/nodes/{node}/tasks', handler: (c) => ok(nodeTasks(c.state, bound(c.target), c.query)) },
  {
    pattern: '/nodes/{node}/tasks/{upid}/log',
    handler: (c) => {
      const log = taskLog(c.state, bound(c.target), bound(c.upid));
      return log ? ok(log) : err(400, `no such task\n`);
    },
  },
  { pattern: '/nodes/{node}/replication', handler: (c) => ok(replicationAnswer(c.state, bound(c.target))) },
  { pattern: '/cluster/backup-info/not-backed-up', handler: (c) => ok(notBackedUpAnswer(c.state, c.local)) },
  {
    pattern: '/cluster/ha/status/manager_status',
    handler: (c) => ok(haManagerStatusAnswer(c.state, c.local)),
  },
  { pattern: '/cluster/ha/resources', handler: (c) => ok(haResourcesAnswer(c.state, c.local)) },
  { pattern: '/nodes/{node}/storage', handler: (c) => ok(storageList(bound(c.target), c.now)) },
  { pattern: '/nodes/{node}/apt/versions', handler: (c) => ok(aptVersions(bound(c.target))) },
  { pattern: '/nodes/{node}/apt/update', handler: (c) => ok(aptUpdate(bound(c.target))) },
  {
    pattern: '/nodes/{node}/certificates/info',
    handler: (c) => ok(certificatesInfo(c.state, bound(c.target))),
  },
  {
    pattern: '/cluster/ceph/status',
    handler: (c) => {
      const cl = clusterById(c.state, c.local.clusterId);
      return cephStatus(cl, clusterNodes(c.state, cl.id));
    },
  },
  {
    // ceph.conf's text; check_ceph_inited first, like the status call, but no RADOS connection
    pattern: '/nodes/{node}/ceph/cfg/raw',
    handler: (c) => {
      const cl = clusterById(c.state, c.local.clusterId);
      return cl.ceph ? ok(cephConf(cl)) : err(500, 'binary not installed: /usr/bin/ceph-mon');
    },
  },
  {
    pattern: '/nodes/{node}/{kind}',
    handler: (c) => ok(guestList(c.state, bound(c.target), bound(c.kind), c.now)),
  },
  {
    pattern: '/nodes/{node}/{kind}/{vmid}',
    handler: () => ok(['config', 'pending', 'status', 'snapshot'].map((subdir) => ({ subdir }))),
  },
  { pattern: '/nodes/{node}/{kind}/{vmid}/config', handler: (c) => guestConfig(c, bound(c.guest)) },
  { pattern: '/nodes/{node}/{kind}/{vmid}/pending', handler: (c) => ok(guestPendingData(bound(c.guest))) },
  { pattern: '/nodes/{node}/{kind}/{vmid}/status', handler: () => ok([{ subdir: 'current' }]) },
  {
    pattern: '/nodes/{node}/{kind}/{vmid}/status/current',
    handler: (c) => ok(guestStatusCurrent(bound(c.guest), bound(c.target), c.now)),
  },
  { pattern: '/nodes/{node}/{kind}/{vmid}/snapshot', handler: (c) => ok(snapshotList(bound(c.guest))) },
];

/**
 * A placeholder: which path segments it accepts, and what it binds (or the error Proxmox gives).
 * They bind in path order, so `{vmid}` finds `{node}` and `{kind}` already bound.
 */
const PLACEHOLDERS: Record<
  string,
  { accepts: (segment: string) => boolean; bind: (c: RouteContext, segment: string) => ApiResult | undefined }
> = {
  // /nodes/{other}/… is proxied the way pveproxy/pvesh do: allowed only when `other` is in the
  // local node's corosync partition.
  node: {
    accepts: () => true,
    bind(c, name) {
      const target = c.state.nodes.find((n) => n.name === name && n.clusterId === c.local.clusterId);
      if (!target) {
        return err(
          500,
          `hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known\n`,
        );
      }
      if (target.name !== c.local.name) {
        if (!viewOf(c.state, c.local).members.has(target.name))
          return err(595, `Errors during connection establishment, proxy handshake: No route to host`);
        if (target.hung) return { ok: 'blocked', node: target.name };
      }
      c.target = target;
      return undefined;
    },
  },
  upid: {
    accepts: (s) => s.startsWith('UPID:') || s.startsWith('UPID%3A'),
    bind(c, s) {
      c.upid = decodeURIComponent(s);
      return undefined;
    },
  },
  kind: {
    accepts: (s) => s === 'lxc' || s === 'qemu',
    bind(c, s) {
      c.kind = s as GuestKind;
      return undefined;
    },
  },
  vmid: {
    accepts: (s) => /^\d+$/.test(s),
    bind(c, s) {
      const vmid = Number(s);
      const target = bound(c.target);
      const kind = bound(c.kind);
      const g = c.state.guests.find((x) => x.vmid === vmid && x.node === target.name && x.kind === kind);
      if (!g) {
        const dir = kind === 'qemu' ? 'qemu-server' : 'lxc';
        return err(500, `Configuration file 'nodes/${target.name}/${dir}/${vmid}.conf' does not exist\n`);
      }
      c.guest = g;
      return undefined;
    },
  },
};

type Segment = { literal: string } | { placeholder: string };

const segmentsOf = (path: string): string[] => path.split('/').filter((s) => s !== '');

const COMPILED = ROUTES.map((r) => ({
  route: r,
  segments: segmentsOf(r.pattern).map((s): Segment => {
    const m = /^\{(\w+)\}$/.exec(s);
    if (!m) return { literal: s };
    if (!PLACEHOLDERS[m[1]!]) throw new Error(`pve-sim: unknown placeholder in route ${r.pattern}`);
    return { placeholder: m[1]! };
  }),
}));

/** How many leading segments of `path` the pattern matches. */
function matchedLength(pattern: Segment[], path: string[]): number {
  let i = 0;
  for (; i < pattern.length && i < path.length; i++) {
    const p = pattern[i]!;
    const ok = 'literal' in p ? p.literal === path[i] : PLACEHOLDERS[p.placeholder]!.accepts(path[i]!);
    if (!ok) break;
  }
  return i;
}

/**
 * Answer GET `path` as node `localName`. A path no route matches wholly still binds the
 * placeholders of its longest matching prefix first, as Proxmox resolves the node (and the guest)
 * before it looks at the rest: /nodes/ghost/bogus is a hostname error, not "not implemented".
 */
export function apiGet(
  state: SimState,
  localName: string,
  rawPath: string,
  query: Record<string, string>,
  now: number,
): ApiResult {
  const local = nodeByName(state, localName);
  if (local.hung) return { ok: 'blocked', node: local.name };
  const path = normalizeApiPath(rawPath);
  const segs = segmentsOf(path);
  let best = { length: 0, segments: [] as Segment[], route: undefined as Route | undefined };
  for (const c of COMPILED) {
    const length = matchedLength(c.segments, segs);
    const whole = length === c.segments.length && length === segs.length;
    if (whole) {
      best = { length, segments: c.segments, route: c.route };
      break;
    }
    if (length > best.length) best = { length, segments: c.segments, route: undefined };
  }
  const ctx: RouteContext = { state, local, path, query, now };
  for (let i = 0; i < best.length; i++) {
    const s = best.segments[i]!;
    if (!('placeholder' in s)) continue;
    const failed = PLACEHOLDERS[s.placeholder]!.bind(ctx, segs[i]!);
    if (failed) return failed;
  }
  return best.route ? best.route.handler(ctx) : notImplemented(path);
}
