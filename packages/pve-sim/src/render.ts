// Writes the model to disk: per node DIR/<node>/{bin,etc-pve,proc}. Files are replaced atomically
// (temp + rename) and only when their content or mode changes, so readers never see a torn file and
// a frozen model leaves the tree untouched. A hung node's etc-pve is left alone (its pmxcfs is stuck).
import { etcPveOpsFiles, replicationStateFile, taskFiles } from './ops.ts';
import {
  closeSync,
  constants,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  chmodSync,
  readlinkSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { GuestState, NodeState, SimState } from './model.ts';
import { clusterById, clusterGuests, clusterNodes, viewOf } from './model.ts';
import {
  guestConfPath,
  renderCorosyncConf,
  renderGuestConf,
  renderMembers,
  renderRrd,
  renderStorageCfg,
  renderVersion,
  renderVmlist,
} from './pmxcfs.ts';
import { renderProc } from './proc.ts';
import { aptLists, cephConf, pkgUpdatesJson, pveSslPem } from './storage-ops.ts';

export interface RenderOptions {
  /** absolute path of pve-tools.mjs (the bundle the bin/ wrappers exec) */
  toolsBundle: string;
  /** absolute state file path, baked into the wrappers */
  statePath: string;
}

let tmpCounter = 0;

interface FileSpec {
  content: string;
  mode: number;
}

/** Where a layout remembers what it last wrote (relative path → hash of content and mode). */
function manifestPath(opts: RenderOptions): string {
  return join(dirname(opts.statePath), 'manifest.json');
}

function fileHash(f: FileSpec): string {
  return createHash('sha1').update(f.content).update(String(f.mode)).digest('base64').slice(0, 16);
}

class Writer {
  private readonly made = new Set<string>();
  /** chmod only when the umask would strip bits of the wanted mode (saves a syscall per file) */
  private readonly umask = process.umask();
  constructor(private readonly atomic: boolean) {}
  private fixMode(path: string, mode: number): void {
    if ((mode & this.umask) !== 0) chmodSync(path, mode);
  }
  /** first path written per content key: replicated files (same bytes on every node) are hard links */
  private readonly shared = new Map<string, string>();
  write(path: string, f: FileSpec, shareKey?: string): void {
    const dir = dirname(path);
    if (!this.made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.made.add(dir);
    }
    // Creating thousands of files is the slow part of a big layout; a link is ~10x cheaper than a
    // create. Every later replacement goes through rename, so nodes never share a changed file.
    const first = shareKey === undefined ? undefined : this.shared.get(shareKey);
    const target = this.atomic ? join(dir, `.tmp-${process.pid}-${tmpCounter++}`) : path;
    if (first !== undefined) linkSync(first, target);
    else {
      writeFileSync(target, f.content, { mode: f.mode });
      this.fixMode(target, f.mode);
    }
    if (this.atomic) renameSync(target, path);
    if (shareKey !== undefined && first === undefined) this.shared.set(shareKey, path);
  }
}

function isFifo(path: string): boolean {
  try {
    return lstatSync(path).isFIFO();
  } catch {
    return false;
  }
}

function ensureSymlink(path: string, target: string): void {
  try {
    if (lstatSync(path).isSymbolicLink() && readlinkSync(path) === target) return;
    rmSync(path, { recursive: true, force: true });
  } catch {
    /* absent */
  }
  symlinkSync(target, path);
}

export function nodeDir(root: string, node: string): string {
  return join(root, node);
}

/**
 * Every regular file of a node's etc-pve (relative path → content + mode): what pmxcfs would serve.
 * `confCache` shares the rendered guest configs between the nodes of a cluster (replicated files).
 */
export function etcPveFiles(
  state: SimState,
  n: NodeState,
  now: number,
  confCache: Map<GuestState, string> = new Map(),
): Map<string, FileSpec> {
  const cluster = clusterById(state, n.clusterId);
  const quorate = viewOf(state, n).quorate;
  const files = new Map<string, FileSpec>();
  // dot-files are 0440 root:www-data; config files 0640, 0440 while the node has no quorum
  const ro = 0o440;
  const rw = quorate ? 0o640 : 0o440;
  files.set('.members', { content: renderMembers(state, n), mode: ro });
  files.set('.vmlist', { content: renderVmlist(state, cluster), mode: ro });
  files.set('.rrd', { content: renderRrd(state, n, now), mode: ro });
  files.set('.version', { content: renderVersion(state, n), mode: ro });
  files.set('.clusterlog', { content: '{\n"data": [\n]\n}\n', mode: ro });
  if (cluster.name !== null)
    files.set('corosync.conf', { content: renderCorosyncConf(state, cluster), mode: rw });
  files.set('pve-root-ca.pem', { content: cluster.caPem, mode: rw });
  files.set('storage.cfg', { content: renderStorageCfg(), mode: rw });
  for (const [rel, content] of Object.entries(etcPveOpsFiles(state, n)))
    files.set(rel, { content, mode: rw });
  if (cluster.ceph) files.set('ceph.conf', { content: cephConf(cluster), mode: rw });
  // every node's pve-ssl.pem is visible cluster-wide (nodes/<node>/), as in pmxcfs
  for (const m of clusterNodes(state, cluster.id))
    files.set(`nodes/${m.name}/pve-ssl.pem`, { content: pveSslPem(state, m), mode: rw });
  for (const g of clusterGuests(state, cluster.id)) {
    let text = confCache.get(g);
    if (text === undefined) {
      text = renderGuestConf(g);
      confCache.set(g, text);
    }
    files.set(guestConfPath(g), { content: text, mode: rw });
  }
  return files;
}

function binFiles(n: NodeState, opts: RenderOptions): Map<string, FileSpec> {
  const m = new Map<string, FileSpec>();
  for (const tool of ['pvesh', 'pveversion', 'pvecm']) {
    const script =
      `#!/bin/sh\n# pve-sim: ${tool} as seen on node ${n.name}\n` +
      `exec node ${shQuote(opts.toolsBundle)} ${tool} --state ${shQuote(opts.statePath)} --node ${shQuote(n.name)} "$@"\n`;
    m.set(tool, { content: script, mode: 0o755 });
  }
  return m;
}

/** The stanzas of /var/lib/dpkg/status an agent may look at (pve-manager and the kernel). */
export function renderDpkgStatus(n: NodeState): string {
  const stanza = (pkg: string, version: string) =>
    `Package: ${pkg}\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: ${version}\n`;
  return [
    stanza('pve-manager', n.pveVersion),
    stanza(`proxmox-kernel-${n.installedKernel}-signed`, n.installedKernelBuild || n.installedKernel),
  ].join('\n');
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The files whose content follows the clock: written on every render, not tracked in the manifest. */
const DYNAMIC = new Set(['.rrd']);

/**
 * Renders every node (layout, or after an event). Static files are written only when they differ
 * from the manifest of the previous render; files that left the model are removed. A hung node keeps
 * its stuck etc-pve. `fresh`: a new, empty layout (plain writes, no manifest to compare with).
 */
export function renderAll(
  root: string,
  state: SimState,
  now: number,
  opts: RenderOptions,
  fresh = false,
  /** nodes whose files must be rewritten whatever the manifest says (pmxcfs release) */
  force: ReadonlySet<string> = new Set(),
): void {
  const mfPath = manifestPath(opts);
  let old: Record<string, string> = {};
  if (!fresh) {
    try {
      old = JSON.parse(readFileSync(mfPath, 'utf8')) as Record<string, string>;
    } catch {
      old = {};
    }
  }
  const next: Record<string, string> = {};
  const w = new Writer(!fresh);
  const confCache = new Map<GuestState, string>();
  for (const n of state.nodes) {
    const base = nodeDir(root, n.name);
    const track = (rel: string, f: FileSpec): void => {
      const h = fileHash(f);
      next[rel] = h;
      if (old[rel] !== h || force.has(n.name)) w.write(join(root, rel), f, h);
    };
    for (const [name, f] of binFiles(n, opts)) track(`${n.name}/bin/${name}`, f);
    const etcRel = `${n.name}/etc-pve/`;
    if (n.hung) {
      // pmxcfs is stuck: nothing changes on this node's etc-pve until release
      for (const [k, v] of Object.entries(old)) if (k.startsWith(etcRel)) next[k] = v;
    } else {
      for (const other of clusterNodes(state, n.clusterId)) {
        mkdirSync(join(base, 'etc-pve', 'nodes', other.name, 'lxc'), { recursive: true });
        mkdirSync(join(base, 'etc-pve', 'nodes', other.name, 'qemu-server'), { recursive: true });
      }
      for (const [rel, f] of etcPveFiles(state, n, now, confCache)) {
        if (DYNAMIC.has(rel)) w.write(join(base, 'etc-pve', rel), f);
        else track(etcRel + rel, f);
      }
      // the links pmxcfs creates for the local node (relative targets)
      ensureSymlink(join(base, 'etc-pve', 'local'), `nodes/${n.name}`);
      ensureSymlink(join(base, 'etc-pve', 'lxc'), `nodes/${n.name}/lxc`);
      ensureSymlink(join(base, 'etc-pve', 'qemu-server'), `nodes/${n.name}/qemu-server`);
    }
    for (const [rel, content] of Object.entries(renderProc(n, now)))
      w.write(join(base, 'proc', rel), { content, mode: 0o444 });
    // /etc/hosts as the PVE installer writes it: where PVE (and the agent's files source) finds
    // the address of a standalone node, whose .members has no nodelist
    w.write(join(base, 'etc-hosts'), {
      content: `127.0.0.1 localhost.localdomain localhost\n${n.ip} ${n.name}.sim.lan ${n.name}\n`,
      mode: 0o444,
    });
    // dpkg's status file: rewritten only when the installed packages change (version-upgrade),
    // so its mtime tells an agent when `pveversion` has something new to say
    track(`${n.name}/var-lib-dpkg-status`, { content: renderDpkgStatus(n), mode: 0o644 });
    // the node-local files of pve-manager: its task index and logs, the replication state
    for (const [rel, content] of Object.entries(taskFiles(state.ops, n)))
      track(`${n.name}/var-log-pve-tasks/${rel}`, { content, mode: 0o644 });
    track(`${n.name}/var-lib-pve-manager/pve-replication-state.json`, {
      content: replicationStateFile(state, n),
      mode: 0o644,
    });
    // pve-manager's cached update list (pveupdate writes it daily; the `updates` event here)
    track(`${n.name}/pkgupdates`, { content: pkgUpdatesJson(n), mode: 0o644 });
    // apt's lists: the only place that says which of those updates come from a security archive
    for (const [name, content] of Object.entries(aptLists(n)))
      track(`${n.name}/var-lib-apt-lists/${name}`, { content, mode: 0o644 });
  }
  // configs of destroyed or migrated guests (and anything else that left the model)
  for (const rel of Object.keys(old)) {
    if (next[rel] === undefined) rmSync(join(root, rel), { force: true });
  }
  mkdirSync(dirname(mfPath), { recursive: true });
  const tmp = `${mfPath}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(next));
  renameSync(tmp, mfPath);
}

/** The live-mode tick: /proc and .rrd move; nothing else changes. Hung nodes keep their .rrd. */
export function renderDynamic(root: string, state: SimState, now: number): void {
  const w = new Writer(true);
  for (const n of state.nodes) {
    const base = nodeDir(root, n.name);
    const rrd = join(base, 'etc-pve', '.rrd');
    // never replace the FIFO of a hang that began after this state was read
    if (!n.hung && !isFifo(rrd)) w.write(rrd, { content: renderRrd(state, n, now), mode: 0o440 });
    for (const [rel, content] of Object.entries(renderProc(n, now)))
      w.write(join(base, 'proc', rel), { content, mode: 0o444 });
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * pmxcfs hang: every regular file of the node's etc-pve becomes a FIFO, so open() for reading
 * blocks until a writer appears (as a read of a hung FUSE mount blocks). stat/readdir do not block.
 */
export function hangEtcPve(root: string, state: SimState, n: NodeState, now: number): void {
  const base = join(nodeDir(root, n.name), 'etc-pve');
  const rels = [...etcPveFiles(state, n, now).keys()];
  const tmps = rels.map((rel, i) => join(dirname(join(base, rel)), `.fifo-${process.pid}-${i}`));
  for (let i = 0; i < tmps.length; i += 400)
    execFileSync('mkfifo', ['-m', '0440', ...tmps.slice(i, i + 400)]);
  rels.forEach((rel, i) => renameSync(tmps[i]!, join(base, rel)));
}

/** A reader blocked on a FIFO of a hung etc-pve, detached from its path by {@link detachFifos}. */
export interface StuckFifo {
  fifo: string;
  rel: string;
}

/**
 * Release, step 1: move every FIFO of the node's etc-pve aside (readers blocked in open() keep the
 * inode), so that regular files can take their paths again.
 */
export function detachFifos(root: string, n: NodeState): StuckFifo[] {
  const base = join(nodeDir(root, n.name), 'etc-pve');
  const stuck: StuckFifo[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFIFO()) {
        const moved = join(dir, `.released-${process.pid}-${tmpCounter++}`);
        renameSync(p, moved);
        stuck.push({ fifo: moved, rel: p.slice(base.length + 1) });
      }
    }
  };
  walk(base);
  return stuck;
}

/**
 * Release, step 2 (after the regular files are back): open each FIFO for writing — this wakes the
 * readers blocked on it — write the real content, close, remove the FIFO.
 */
export function feedFifos(stuck: StuckFifo[], files: Map<string, FileSpec>): void {
  for (const s of stuck) {
    let fd: number | undefined;
    try {
      fd = openSync(s.fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e; // ENXIO: nobody waiting
    }
    if (fd !== undefined) {
      const buf = Buffer.from(files.get(s.rel)?.content ?? '');
      let off = 0;
      const deadline = Date.now() + 3000;
      while (off < buf.length && Date.now() < deadline) {
        try {
          off += writeSync(fd, buf, off);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') sleepMs(2);
          else break; // EPIPE: the reader went away
        }
      }
      closeSync(fd);
    }
    unlinkSync(s.fifo);
  }
}
