// Writes the model to disk: per node DIR/<node>/{bin,etc-pve,proc}. Files are replaced atomically
// (temp + rename) and only when their content or mode changes, so readers never see a torn file and
// a frozen model leaves the tree untouched. A hung node's etc-pve is left alone (its pmxcfs is stuck).
import {
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  chmodSync,
  readlinkSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { NodeState, SimState } from './model.ts';
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

export interface RenderOptions {
  /** absolute path of pve-tools.mjs (the bundle the bin/ wrappers exec) */
  toolsBundle: string;
  /** absolute state file path, baked into the wrappers */
  statePath: string;
}

let tmpCounter = 0;

function writeIfChanged(path: string, content: string, mode: number): void {
  try {
    const st = statSync(path);
    if (
      st.isFile() &&
      (st.mode & 0o777) === mode &&
      st.size === Buffer.byteLength(content) &&
      readFileSync(path, 'utf8') === content
    ) {
      return;
    }
  } catch {
    /* absent: write */
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.tmp-${process.pid}-${tmpCounter++}`);
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
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

/** Every regular file of a node's etc-pve (relative path → content + mode): what pmxcfs would serve. */
export function etcPveFiles(
  state: SimState,
  n: NodeState,
  now: number,
): Map<string, { content: string; mode: number }> {
  const cluster = clusterById(state, n.clusterId);
  const quorate = viewOf(state, n).quorate;
  const files = new Map<string, { content: string; mode: number }>();
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
  for (const g of clusterGuests(state, cluster.id))
    files.set(guestConfPath(g), { content: renderGuestConf(g), mode: rw });
  return files;
}

/** Re-render one node's etc-pve (skipped while hung). `dynamicOnly`: only the time-dependent .rrd. */
export function renderEtcPve(
  root: string,
  state: SimState,
  n: NodeState,
  now: number,
  dynamicOnly = false,
): void {
  if (n.hung) return;
  const base = join(nodeDir(root, n.name), 'etc-pve');
  if (dynamicOnly) {
    writeIfChanged(join(base, '.rrd'), renderRrd(state, n, now), 0o440);
    return;
  }
  const files = etcPveFiles(state, n, now);
  for (const other of clusterNodes(state, n.clusterId)) {
    mkdirSync(join(base, 'nodes', other.name, 'lxc'), { recursive: true });
    mkdirSync(join(base, 'nodes', other.name, 'qemu-server'), { recursive: true });
  }
  for (const [rel, f] of files) writeIfChanged(join(base, rel), f.content, f.mode);
  // remove configs of guests that were destroyed or migrated away, and nodes that left
  const nodesDir = join(base, 'nodes');
  for (const nd of readdirSync(nodesDir)) {
    for (const sub of ['lxc', 'qemu-server']) {
      const d = join(nodesDir, nd, sub);
      if (!existsSync(d)) continue;
      for (const f of readdirSync(d)) {
        if (f.endsWith('.conf') && !files.has(`nodes/${nd}/${sub}/${f}`)) unlinkSync(join(d, f));
      }
    }
  }
  // the links pmxcfs creates for the local node (relative targets)
  ensureSymlink(join(base, 'local'), `nodes/${n.name}`);
  ensureSymlink(join(base, 'lxc'), `nodes/${n.name}/lxc`);
  ensureSymlink(join(base, 'qemu-server'), `nodes/${n.name}/qemu-server`);
}

export function renderProcDir(root: string, n: NodeState, now: number): void {
  const base = join(nodeDir(root, n.name), 'proc');
  for (const [rel, content] of Object.entries(renderProc(n, now)))
    writeIfChanged(join(base, rel), content, 0o444);
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** DIR/<node>/bin/{pvesh,pveversion,pvecm}: tiny sh wrappers exec'ing the tools bundle. */
export function renderBin(root: string, n: NodeState, opts: RenderOptions): void {
  const base = join(nodeDir(root, n.name), 'bin');
  for (const tool of ['pvesh', 'pveversion', 'pvecm']) {
    const script =
      `#!/bin/sh\n# pve-sim: ${tool} as seen on node ${n.name}\n` +
      `exec node ${shQuote(opts.toolsBundle)} ${tool} --state ${shQuote(opts.statePath)} --node ${shQuote(n.name)} "$@"\n`;
    writeIfChanged(join(base, tool), script, 0o755);
  }
}

/** Everything of every node (layout, or after an event). Hung nodes keep their stuck etc-pve. */
export function renderAll(root: string, state: SimState, now: number, opts: RenderOptions): void {
  for (const n of state.nodes) {
    renderBin(root, n, opts);
    renderEtcPve(root, state, n, now);
    renderProcDir(root, n, now);
  }
}

/** The live-mode tick: /proc and .rrd move; nothing else changes. */
export function renderDynamic(root: string, state: SimState, now: number): void {
  for (const n of state.nodes) {
    renderEtcPve(root, state, n, now, true);
    renderProcDir(root, n, now);
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

/**
 * Release: the real content goes to every reader already blocked on a FIFO (they were woken by our
 * writer open), then regular files replace the FIFOs. Callers must clear `hung` first.
 */
export function releaseEtcPve(root: string, state: SimState, n: NodeState, now: number): void {
  const base = join(nodeDir(root, n.name), 'etc-pve');
  const files = etcPveFiles(state, n, now);
  const stuck: { fifo: string; content: string }[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFIFO()) {
        const rel = p.slice(base.length + 1);
        const moved = join(dir, `.released-${process.pid}-${tmpCounter++}`);
        renameSync(p, moved);
        stuck.push({ fifo: moved, content: files.get(rel)?.content ?? '' });
      }
    }
  };
  walk(base);
  renderEtcPve(root, state, n, now);
  for (const s of stuck) {
    let fd: number | undefined;
    try {
      fd = openSync(s.fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e; // ENXIO: nobody waiting
    }
    if (fd !== undefined) {
      const buf = Buffer.from(s.content);
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
