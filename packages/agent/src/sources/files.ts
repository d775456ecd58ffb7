/**
 * The pmxcfs virtual files and the guest config files, plus /proc: no process per guest. All
 * /etc/pve reads of a cycle go through ONE helper process (host.ts) with one deadline. In the
 * daemon that helper is long-lived (shared with the watch) and `pveversion --verbose` runs only
 * when the dpkg state changed, so a steady-state cycle starts no process; a one-shot `collect`
 * starts its own helper and runs pveversion (two spawns, whatever the guest count).
 *
 * What is read (../shared/pve-reference/PMXCFS.md): `.members` (membership, quorum, node ids and
 * ips), `.vmlist` (which guest is on which node), `.rrd` (status, uptime, usage of guests and nodes,
 * subscription level), `pve-root-ca.pem` (cluster identity), then the config files of this node's
 * guests, `nodes/<node>/{lxc,qemu-server}/<vmid>.conf`. The dot-files are rebuilt on every read and
 * served with direct_io: a torn read is possible, so each is validated and re-read once.
 */
import { join } from 'node:path';
import {
  clusterResourcesFromFiles,
  clusterStatusFromMembers,
  levelsFromRrd,
  nodeStatusFromProc,
  parseGuestConfigFile,
  parseMembers,
  parseRrdDump,
  parseStorageCfg,
  storagesFromFiles,
  parseVmlist,
  pendingKeysOf,
  type ClusterStatusEntry,
  type ConfigMap,
  type MembersFile,
  type NodeStatus,
  type Parsed,
  type RrdDump,
  type VmlistFile,
} from '@nanny/proxmox';
import { AgentError, errorText } from '../errors.ts';
import { openPmxcfsSession } from '../host.ts';
import { detectWithPveversion } from './detect.ts';
import { readLocalIp, readProcSnapshot } from './local.ts';
import { createFilesOps } from './ops-files.ts';
import { APT_LISTS_DEFAULT, PKGUPDATES_DEFAULT, runPvesh, type LocalSourceOptions } from './pvesh.ts';
import { createAptSecurityIndex } from './apt-security.ts';
import { localHealth } from './ops.ts';
import type { CycleReader, Detection, GuestConfig, Source } from './types.ts';

const CONF_DIR = { lxc: 'lxc', qemu: 'qemu-server' } as const;

export function createFilesSource(opts: LocalSourceOptions & { warn?: (msg: string) => void }): Source {
  const ops = createFilesOps({
    tasksRoot: opts.tasksRoot,
    pveLibRoot: opts.pveLibRoot,
    ...(opts.warn ? { warn: opts.warn } : {}),
  });
  const aptSecurity = createAptSecurityIndex(opts.aptListsDir ?? APT_LISTS_DEFAULT);
  return {
    name: 'files',
    local: true,
    open(): CycleReader {
      const session =
        opts.pmxcfs?.session(opts.pmxcfsTimeoutMs) ??
        openPmxcfsSession({
          timeoutMs: opts.pmxcfsTimeoutMs,
          ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
        });
      const path = (f: string) => join(opts.pveRoot, f);
      let first: Map<string, Promise<string>> | undefined;
      const firstBatch = (): Map<string, Promise<string>> => {
        if (!first) {
          const names = ['.members', '.vmlist', '.rrd', 'pve-root-ca.pem', 'storage.cfg'];
          const ps = session.read(names.map(path));
          first = new Map(names.map((n, i) => [n, ps[i]!]));
          // Settled here or by a reader; never an unhandled rejection.
          for (const p of ps) p.catch(() => undefined);
        }
        return first;
      };
      /** Reads a dot-file, validates it, re-reads it once if the read was torn. */
      const dotFile = async <T>(name: string, parse: (t: string) => Parsed<T | undefined>): Promise<T> => {
        let r = parse(await firstBatch().get(name)!);
        if (r.data === undefined) {
          r = parse(await session.read([path(name)])[0]!);
        }
        if (r.data === undefined)
          throw new AgentError('AGENT_PMXCFS', `${path(name)}: ${r.warnings.join('; ')}`);
        for (const w of r.warnings) opts.warn?.(`${path(name)}: ${w}`);
        return r.data;
      };
      let membersP: Promise<MembersFile> | undefined;
      let vmlistP: Promise<VmlistFile> | undefined;
      let rrdP: Promise<RrdDump> | undefined;
      const members = () => (membersP ??= dotFile('.members', parseMembers));
      const vmlist = () => (vmlistP ??= dotFile('.vmlist', parseVmlist));
      const rrd = () =>
        (rrdP ??= dotFile('.rrd', (t) => {
          const r = parseRrdDump(t);
          return { data: r.data, warnings: r.warnings };
        }));

      /** The config texts of this node's guests, read in one batch after .members and .vmlist. */
      let confsP: Promise<Map<number, Promise<string>>> | undefined;
      const confs = () =>
        (confsP ??= (async () => {
          const [m, v] = await Promise.all([members(), vmlist()]);
          const mine = v.guests.filter(
            (g) => g.node === m.nodename && (g.type === 'lxc' || g.type === 'qemu'),
          );
          const ps = session.read(
            mine.map((g) => path(`nodes/${g.node}/${CONF_DIR[g.type as 'lxc' | 'qemu']}/${g.vmid}.conf`)),
          );
          for (const p of ps) p.catch(() => undefined);
          return new Map(mine.map((g, i) => [g.vmid, ps[i]!]));
        })());
      const parsedConfs = new Map<number, Promise<GuestConfig>>();
      const guestConfig = (node: string, kind: 'lxc' | 'qemu', vmid: number): Promise<GuestConfig> => {
        let p = parsedConfs.get(vmid);
        if (!p) {
          p = (async () => {
            const text = await (await confs()).get(vmid);
            if (text === undefined)
              throw new AgentError('AGENT_SOURCE', `${kind} ${vmid}: not a guest of ${node} in .vmlist`);
            const parsed = parseGuestConfigFile(text, kind);
            return {
              current: parsed.data.current,
              pendingKeys: pendingKeysOf(parsed.data),
              warnings: parsed.warnings,
            };
          })();
          parsedConfs.set(vmid, p);
        }
        return p;
      };

      let detection: Promise<Detection> | undefined;
      const detect = (): Promise<Detection> =>
        (detection ??= opts.detect ? opts.detect() : detectWithPveversion(opts));

      const clusterStatus = async (): Promise<ClusterStatusEntry[]> => {
        const m = await members();
        let levels: Record<string, string> = {};
        try {
          levels = levelsFromRrd(await rrd());
        } catch {
          /* levels stay unknown ('') */
        }
        const standaloneIp =
          m.cluster === undefined && opts.hostsFile !== undefined
            ? await readLocalIp(opts.hostsFile, m.nodename)
            : undefined;
        return clusterStatusFromMembers(m, m.nodename, {
          levels,
          ...(standaloneIp !== undefined ? { localIp: standaloneIp } : {}),
        });
      };

      const guests = async () => {
        const [m, v, r] = await Promise.all([members(), vmlist(), rrd()]);
        const configs: Record<string, ConfigMap> = {};
        const local = v.guests.filter(
          (g) => g.node === m.nodename && (g.type === 'lxc' || g.type === 'qemu'),
        );
        await Promise.all(
          local.map(async (g) => {
            try {
              configs[String(g.vmid)] = (await guestConfig(g.node, g.type as 'lxc' | 'qemu', g.vmid)).current;
            } catch {
              /* reported when the guest itself is collected */
            }
          }),
        );
        const all = clusterResourcesFromFiles({
          vmlist: v,
          rrd: r,
          members: m,
          configs,
          localNode: m.nodename,
        });
        return all
          .filter((x) => x.type === 'lxc' || x.type === 'qemu')
          .map((x) => {
            // pve-manager's extract_vm_stats writes `($d->[i] || 0) + 0`: the `U` that pvestatd
            // sends for a stopped guest becomes 0 in /cluster/resources, not an absent key.
            if (r.vms[String(x.vmid)] === undefined) return x;
            const y = { ...x };
            for (const k of [
              'cpu',
              'mem',
              'disk',
              'netin',
              'netout',
              'diskread',
              'diskwrite',
              'maxcpu',
              'maxmem',
              'maxdisk',
            ] as const) {
              y[k] ??= 0;
            }
            return y;
          });
      };

      const nodeStatus = async (node: string): Promise<{ status: NodeStatus; error?: string }> => {
        const warnings: string[] = [];
        const snap = await readProcSnapshot(opts.procRoot, warnings);
        for (const w of warnings) opts.warn?.(w);
        const d = await detect().catch(() => undefined);
        if (d?.pveVersion) snap.pveversion = d.pveVersion;
        let error: string | undefined;
        try {
          // pvestatd's view of the root filesystem and CPU (the .rrd node entry): /proc cannot give
          // the former, and the latter is the fallback before two /proc/stat samples exist.
          const n = (await rrd()).nodes[node];
          if (n?.roottotal !== undefined && n.rootused !== undefined) {
            const free = n.roottotal - n.rootused;
            snap.rootfs = { total: n.roottotal, used: n.rootused, free, avail: free };
          }
          if (n?.cpu !== undefined) snap.cpu = { busyRatio: n.cpu, ioWaitRatio: n.iowait ?? 0 };
        } catch (e) {
          error = `${errorText(e)} (node status from /proc only)`;
        }
        const status = nodeStatusFromProc(snap);
        // /nodes/{node}/status `memory.free` is MemFree, not total − used: a PVE 9.1.2 capture
        // (pve-reference fixtures, unattributed-captures/pve9.1.2.api.nodes-X-status.json) has
        // used = total − MemAvailable and free + used < total.
        if (status.memory && snap.meminfo) status.memory.free = snap.meminfo.freeBytes;
        return error === undefined ? { status } : { status, error };
      };

      // /etc/pve files of the ops readers, in one batch per call; a missing file reads as ''
      const pveRead = async (rels: string[]): Promise<string[]> =>
        Promise.all(
          session.read(rels.map(path)).map((p) =>
            p.catch((e: unknown) => {
              if (/ENOENT|no such file/i.test(errorText(e))) return '';
              throw e;
            }),
          ),
        );

      return {
        backups: (_node, guests) => ops.backups(pveRead, guests),
        ha: () => ops.ha(pveRead),
        replication: (_node, guests) => ops.replication(pveRead, guests),
        async get(p) {
          if (p === '/cluster/status') return clusterStatus();
          if (p === '/cluster/resources') return guests();
          const m = /^\/nodes\/([^/]+)\/status$/.exec(p);
          if (m) return (await nodeStatus(m[1]!)).status;
          throw new AgentError('AGENT_SOURCE', `files source: no file answers ${p}`);
        },
        detect,
        localNode: async () => (await members()).nodename,
        clusterCa: () => firstBatch().get('pve-root-ca.pem')!,
        guestConfig,
        nodeStatus,
        clusterStatus,
        guests,
        async storages(node) {
          const cfg = parseStorageCfg(await firstBatch().get('storage.cfg')!);
          for (const w of cfg.warnings) opts.warn?.(w);
          return storagesFromFiles(cfg.data, await rrd(), node);
        },
        health: (node) =>
          localHealth({
            node,
            procRoot: opts.procRoot,
            pveRoot: opts.pveRoot,
            pkgUpdatesFile: opts.pkgUpdatesFile ?? PKGUPDATES_DEFAULT,
            detect,
            readPve: (paths) => session.read(paths),
            // No file holds the Ceph cluster's health: ask pvesh, on Ceph nodes only.
            cephStatus: () => runPvesh(opts, '/cluster/ceph/status'),
            aptSecurity,
          }),
        close: () => session.close(),
      };
    },
  };
}
