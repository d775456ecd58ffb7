/**
 * One collection cycle, in the spec's order: node → cluster (skipped on a standalone node) → every
 * LXC and QEMU guest of THIS node (templates included and marked). Payloads are built with
 * @nanny/proxmox and validated with @nanny/schema before they are handed on.
 *
 * Robustness rules (DESIGN.md §4): every read has a deadline (the sources enforce it); one guest's
 * failure is logged and the cycle goes on; the node report is built and emitted first, from /proc if
 * Proxmox does not answer — a hung pmxcfs is exactly when it matters.
 */
import {
  buildClusterPayload,
  buildLxcPayload,
  buildNodePayload,
  buildQemuPayload,
  clusterFingerprint,
  CONFIG_VOLATILE_KEYS,
  cpuUsageBetween,
  findClusterEntry,
  looksLikePemCertificate,
  nodeStatusFromProc,
  toInt,
  type ClusterResource,
  type ClusterStatusEntry,
  type CpuTimes,
  type NodeStatus,
  type Parsed,
  type ProcSnapshot,
  type ReportMeta,
} from '@nanny/proxmox';
import {
  describeIssues,
  INGEST_PATH_PREFIX,
  validatePayload,
  type OpsKind,
  type PayloadKind,
} from '@nanny/schema';
import { collectOps, guestRefs, storagePayload } from './collect-ops.ts';
import { errorText } from './errors.ts';
import type { Logger } from './log.ts';
import type { NodeHealth } from './sources/ops.ts';
import type { CycleReader, Source } from './sources/types.ts';

export interface CycleItem {
  endpoint: string;
  kind: PayloadKind | OpsKind;
  body: Record<string, unknown>;
}

export interface CycleSummary {
  started_at: string;
  finished_at: string;
  duration_ms: number;
  source: string;
  proxmox: boolean;
  node?: string;
  cluster_name?: string;
  reports: number;
  errors: string[];
}

export interface CollectorDeps {
  source: Source;
  log: Logger;
  agentVersion: string;
  intervalSeconds: number;
  /**
   * the daemon's heartbeat period when it sends heartbeats (a local source, NANNYAGENT_HEARTBEAT_INTERVAL
   * > 0): node reports carry it, and nannyapi calls the agent silent after 2.5 of these, not 2.5 cycles
   */
  heartbeatIntervalSeconds?: number;
  /** NANNYAGENT_NODE: which node to report (else detected) */
  nodeName?: string;
  /** reads /proc/stat's aggregate cpu line (local sources) */
  readCpuTimes?: () => Promise<CpuTimes | undefined>;
  /**
   * the node's network bytes since boot from /proc/net/dev (local sources only: the api source may
   * poll a node from elsewhere, and this machine's NICs are not that node's). Every node report
   * carries them, heartbeats included.
   */
  readNetCounters?: () => { inBytes: number; outBytes: number } | undefined;
  /** the fallback node name when nothing else knows it (os.hostname() cut at the first '.') */
  hostname: () => string;
  now?: () => Date;
  /** receives the payloads of each stage, in order; awaited (the spool's push) */
  emit: (items: CycleItem[]) => Promise<void> | void;
  /** guest config reads in flight at once (pvesh/api; the files source answers from memory) */
  guestConcurrency?: number;
  /**
   * /proc without rootfs/pveversion, and the /proc/stat cpu times (local sources): what heartbeat
   * and change reports are built from
   */
  readProcLight?: () => { snap: ProcSnapshot; cpu?: CpuTimes };
}

export type Trigger = 'cycle' | 'change' | 'heartbeat';

/** What the last cycle (and the watch since) learned: the identity out-of-cycle reports carry. */
export interface Known {
  nodeName?: string;
  clusterName?: string;
  fingerprint?: string;
  version?: string;
  /** the latest membership view (the cycle's /cluster/status, or the watch's newer one) */
  clusterStatus?: ClusterStatusEntry[];
  /** false when the last cycle found no Proxmox VE */
  proxmox?: boolean;
}

export interface Collector {
  runCycle(): Promise<CycleSummary>;
  /**
   * The node report (and, with a cluster entry in `clusterStatus`, the cluster report) out of
   * cycle, emitted at once: `change` after the watch saw membership move, `heartbeat` from /proc
   * alone. Node status: `nodeStatus` when given (api source), else /proc. Returns the reports sent.
   */
  outOfCycle(
    trigger: Exclude<Trigger, 'cycle'>,
    opts?: { clusterStatus?: ClusterStatusEntry[]; nodeStatus?: NodeStatus },
  ): Promise<number>;
  known(): Readonly<Known>;
  /** the watch's newer membership view, carried by later heartbeats */
  noteClusterStatus(status: ClusterStatusEntry[]): void;
}

const item = (kind: PayloadKind, body: unknown): CycleItem => ({
  endpoint: INGEST_PATH_PREFIX + kind,
  kind,
  body: body as Record<string, unknown>,
});

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function createCollector(deps: CollectorDeps): Collector {
  const now = deps.now ?? (() => new Date());
  const log = deps.log;
  let prevCpu: CpuTimes | undefined;
  let detected: boolean | undefined;
  let membership: string | undefined; // cluster name, '' = standalone
  let lastNode: string | undefined;
  const known: Known = {};
  // Out-of-cycle reports keep their own /proc/stat sample: the cycle's delta spans one cycle.
  let prevLightCpu: CpuTimes | undefined;

  const validated = (
    kind: PayloadKind,
    built: Parsed<unknown>,
    what: string,
    errors: string[],
  ): CycleItem | undefined => {
    for (const w of built.warnings) log.warn(`${what}: ${w}`);
    const v = validatePayload(kind, built.data);
    if (!v.ok) {
      const msg = `${what}: report not sent, it fails the schema: ${describeIssues(v.issues)}`;
      log.error(msg);
      errors.push(msg);
      return undefined;
    }
    return item(kind, built.data);
  };

  /** The node and cluster reports, the same way for the cycle and for out-of-cycle reports. */
  const nodeItemOf = (
    nodeName: string,
    input: {
      clusterStatus?: ClusterStatusEntry[];
      nodeStatus?: NodeStatus;
      version?: string;
      cpu?: { busyRatio: number; ioWaitRatio: number };
      net?: { inBytes: number; outBytes: number };
      /** issue 15: kernel, certificates, updates, Ceph (full cycles only) */
      health?: NodeHealth;
    },
    meta: ReportMeta,
    errors: string[],
  ): CycleItem | undefined => {
    const built = buildNodePayload(
      {
        nodeName,
        ...(input.clusterStatus ? { clusterStatus: input.clusterStatus } : {}),
        ...(input.nodeStatus ? { nodeStatus: input.nodeStatus } : {}),
        ...(input.version !== undefined ? { version: input.version } : {}),
        ...(input.cpu ? { cpu: input.cpu } : {}),
        ...(input.net ? { net: input.net } : {}),
        intervalSeconds: Math.max(1, Math.round(deps.intervalSeconds)),
        ...(deps.heartbeatIntervalSeconds
          ? { heartbeatIntervalSeconds: Math.max(1, Math.round(deps.heartbeatIntervalSeconds)) }
          : {}),
      },
      meta,
    );
    const data = input.health ? { ...built.data, ...input.health } : built.data;
    return validated('node', { data, warnings: built.warnings }, `node ${nodeName}`, errors);
  };
  const readNet = () => (deps.source.local ? deps.readNetCounters?.() : undefined);
  const clusterItemOf = (
    nodeName: string,
    clusterStatus: ClusterStatusEntry[],
    meta: ReportMeta,
    errors: string[],
  ): CycleItem | undefined => {
    const entry = findClusterEntry(clusterStatus);
    if (!entry) return undefined; // standalone: no cluster report
    const built = buildClusterPayload(clusterStatus, { ...meta, reportingNode: nodeName });
    return built ? validated('cluster', built, `cluster ${String(entry.name)}`, errors) : undefined;
  };

  return {
    async runCycle() {
      const t0 = now();
      const errors: string[] = [];
      const fail = (what: string, e: unknown): void => {
        const msg = `${what}: ${errorText(e)}`;
        log.error(msg);
        errors.push(msg);
      };
      const reader: CycleReader = deps.source.open();
      let reports = 0;
      const summary = (extra: Partial<CycleSummary>): CycleSummary => {
        const t1 = now();
        return {
          started_at: t0.toISOString(),
          finished_at: t1.toISOString(),
          duration_ms: t1.getTime() - t0.getTime(),
          source: deps.source.name,
          proxmox: false,
          reports,
          errors,
          ...extra,
        };
      };
      const emit = async (items: CycleItem[]): Promise<void> => {
        if (items.length === 0) return;
        reports += items.length;
        await deps.emit(items);
      };
      try {
        // CPU: sample /proc/stat first, so the delta spans exactly one interval.
        let cpu: { busyRatio: number; ioWaitRatio: number } | undefined;
        if (deps.source.local && deps.readCpuTimes) {
          const cur = await deps.readCpuTimes().catch(() => undefined);
          if (cur && prevCpu) cpu = cpuUsageBetween(prevCpu, cur);
          if (cur) prevCpu = cur;
        }

        // 1. Detection, re-checked every cycle: Proxmox may be installed after the agent.
        let version: string | undefined;
        try {
          const d = await reader.detect();
          if (!d.installed) {
            known.proxmox = false;
            if (detected !== false)
              log.warn(
                `Proxmox VE not detected (${d.reason ?? 'pveversion failed'}); checking again every cycle`,
              );
            detected = false;
            return summary({});
          }
          version = d.pveVersion;
          if (detected !== true) log.info('Proxmox VE detected, starting collector');
          detected = true;
        } catch (e) {
          // A timeout is not "not installed": carry on, the node report still goes out.
          fail('detection', e);
        }

        // 2. Membership and identity, re-checked every cycle (a node can join a cluster later).
        let clusterStatus: ClusterStatusEntry[] | undefined;
        try {
          clusterStatus = await reader.clusterStatus();
        } catch (e) {
          fail('cluster status', e);
        }
        let nodeName = deps.nodeName;
        if (nodeName === undefined && clusterStatus) {
          const local = clusterStatus.find((e) => e.type === 'node' && toInt(e.local) === 1);
          nodeName = local?.name;
        }
        if (nodeName === undefined) nodeName = await reader.localNode().catch(() => undefined);
        nodeName ??= lastNode ?? deps.hostname();
        lastNode = nodeName;
        const clusterEntry = clusterStatus ? findClusterEntry(clusterStatus) : undefined;
        const clusterName = clusterEntry ? String(clusterEntry.name) : undefined;
        if (clusterStatus) {
          const m = clusterName ?? '';
          if (m !== membership) {
            if (clusterName !== undefined) log.info(`Node is part of cluster: ${clusterName}`);
            else log.info('Node is standalone (not part of a cluster)');
          }
          membership = m;
        }
        let fingerprint: string | undefined;
        try {
          const ca = await reader.clusterCa();
          if (ca !== undefined && looksLikePemCertificate(ca)) fingerprint = clusterFingerprint(ca);
          else if (ca !== undefined)
            log.warn('pve-root-ca.pem holds no certificate; cluster_fingerprint left out');
        } catch (e) {
          fail('pve-root-ca.pem', e);
        }
        const meta: ReportMeta = {
          collectedAt: t0.toISOString(),
          agentVersion: deps.agentVersion,
          trigger: 'cycle',
          ...(fingerprint !== undefined ? { clusterFingerprint: fingerprint } : {}),
          ...(clusterName !== undefined ? { clusterName } : {}),
        };

        // 3. The node report: always, with whatever could be read. Its health fields are read
        // alongside (each part bounded by its source's deadline, a failure only a warning).
        const name = nodeName;
        const healthP = reader.health(name).then(
          (h) => {
            for (const w of h.warnings) log.warn(`node health of ${name}: ${w}`);
            return h.data;
          },
          (e: unknown) => {
            log.warn(`node health of ${name}: ${errorText(e)}`);
            return undefined;
          },
        );
        let nodeStatus: NodeStatus | undefined;
        try {
          const ns = await reader.nodeStatus(nodeName);
          nodeStatus = ns.status;
          if (ns.error) fail(`node status of ${nodeName}`, ns.error);
        } catch (e) {
          fail(`node status of ${nodeName}`, e);
        }
        const health = await healthP;
        const net = readNet();
        const nodeItem = nodeItemOf(
          nodeName,
          {
            ...(clusterStatus ? { clusterStatus } : {}),
            ...(nodeStatus ? { nodeStatus } : {}),
            ...(version !== undefined ? { version } : {}),
            ...(cpu ? { cpu } : {}),
            ...(net ? { net } : {}),
            ...(health ? { health } : {}),
          },
          meta,
          errors,
        );
        if (nodeItem) await emit([nodeItem]);
        // What out-of-cycle reports carry until the next cycle (identity, version, membership).
        known.nodeName = nodeName;
        known.proxmox = detected !== false;
        if (clusterStatus) known.clusterStatus = clusterStatus;
        if (clusterStatus) {
          if (clusterName !== undefined) known.clusterName = clusterName;
          else delete known.clusterName;
        }
        if (fingerprint !== undefined) known.fingerprint = fingerprint;
        if (version !== undefined) known.version = version;

        // 4. The cluster report (none on a standalone node).
        if (clusterStatus) {
          const ci = clusterItemOf(nodeName, clusterStatus, meta, errors);
          if (ci) await emit([ci]);
        }

        // 4b. This node's storages (issue 15; its own endpoint, POST /api/proxmox/storage).
        try {
          const storages = await reader.storages(nodeName);
          const data = storagePayload(nodeName, meta, clusterName, storages);
          const si = validated('storage', { data, warnings: [] }, `storage of ${nodeName}`, errors);
          if (si) await emit([si]);
        } catch (e) {
          fail(`storage of ${nodeName}`, e);
        }

        // 5. Every guest of this node: LXC then QEMU, each by VMID.
        let guests: ClusterResource[] = [];
        try {
          guests = (await reader.guests()).filter((g) => g.node === nodeName);
        } catch (e) {
          fail('guest list', e);
        }
        const vmid = (g: ClusterResource): number =>
          toInt(g.vmid) ?? toInt(/\d+$/.exec(g.id ?? '')?.[0]) ?? 0;
        guests.sort((a, b) => (a.type === b.type ? vmid(a) - vmid(b) : a.type === 'lxc' ? -1 : 1));
        const guestItems = await mapLimit(guests, deps.guestConcurrency ?? 4, async (g) => {
          const kind = g.type as 'lxc' | 'qemu';
          const what = `${kind} ${vmid(g)}`;
          try {
            const cfg = await reader.guestConfig(nodeName, kind, vmid(g));
            for (const w of cfg.warnings) log.warn(`${what}: ${w}`);
            const current = { ...cfg.current };
            // `digest` changes with every write of the file and is not part of the configuration.
            for (const k of CONFIG_VOLATILE_KEYS) delete current[k];
            const gm = { ...meta, pendingKeys: cfg.pendingKeys };
            const built = kind === 'lxc' ? buildLxcPayload(g, current, gm) : buildQemuPayload(g, current, gm);
            return validated(kind, built, what, errors);
          } catch (e) {
            fail(what, e);
            return undefined;
          }
        });
        await emit(guestItems.filter((x): x is CycleItem => x !== undefined));

        // 6. Operations reports: backups, HA (from the HA master), replication.
        await emit(
          await collectOps(
            reader,
            {
              node: nodeName,
              collectedAt: meta.collectedAt,
              agentVersion: deps.agentVersion,
              source: deps.source.name,
              ...(clusterName !== undefined ? { clusterName } : {}),
              ...(fingerprint !== undefined ? { clusterFingerprint: fingerprint } : {}),
            },
            guestRefs(guests, nodeName),
            fail,
          ),
        );
        return summary({
          proxmox: detected !== false,
          node: nodeName,
          ...(clusterName !== undefined ? { cluster_name: clusterName } : {}),
        });
      } finally {
        reader.close();
      }
    },

    async outOfCycle(trigger, opts = {}) {
      // Nothing to say before a cycle learned who we are, or when Proxmox VE is not there.
      if (known.nodeName === undefined || known.proxmox === false) return 0;
      const errors: string[] = [];
      const status = opts.clusterStatus ?? known.clusterStatus;
      if (opts.clusterStatus) known.clusterStatus = opts.clusterStatus;
      const entry = status ? findClusterEntry(status) : undefined;
      const clusterName = entry ? String(entry.name) : status ? undefined : known.clusterName;
      // The view names the local node; a cycle that could not read membership only guessed.
      const localEntry = status?.find((e) => e.type === 'node' && toInt(e.local) === 1);
      const nodeName = deps.nodeName ?? localEntry?.name ?? known.nodeName;
      known.nodeName = nodeName;
      let nodeStatus = opts.nodeStatus;
      let cpu: { busyRatio: number; ioWaitRatio: number } | undefined;
      if (!nodeStatus && deps.readProcLight) {
        const { snap, cpu: cur } = deps.readProcLight();
        if (known.version !== undefined) snap.pveversion = known.version;
        nodeStatus = nodeStatusFromProc(snap);
        if (cur && prevLightCpu) cpu = cpuUsageBetween(prevLightCpu, cur);
        if (cur) prevLightCpu = cur;
      }
      const meta: ReportMeta = {
        collectedAt: now().toISOString(),
        agentVersion: deps.agentVersion,
        trigger,
        ...(known.fingerprint !== undefined ? { clusterFingerprint: known.fingerprint } : {}),
        ...(clusterName !== undefined ? { clusterName } : {}),
      };
      const items: CycleItem[] = [];
      const net = readNet();
      const ni = nodeItemOf(
        nodeName,
        {
          ...(status ? { clusterStatus: status } : {}),
          ...(nodeStatus ? { nodeStatus } : {}),
          ...(known.version !== undefined ? { version: known.version } : {}),
          ...(cpu ? { cpu } : {}),
          ...(net ? { net } : {}),
        },
        meta,
        errors,
      );
      if (ni) items.push(ni);
      if (trigger === 'change' && status) {
        const ci = clusterItemOf(nodeName, status, meta, errors);
        if (ci) items.push(ci);
      }
      if (items.length > 0) await deps.emit(items);
      return items.length;
    },

    known: () => known,

    noteClusterStatus(status) {
      known.clusterStatus = status;
    },
  };
}
