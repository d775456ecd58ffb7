// `pve-sim` command line: layout, event, serve, tick, info — `main(argv, io)`, testable in-process
// like the agent's and the API's; main.ts wires it to the process (entry of dist/pve-sim.mjs).
import { errorMessage } from './errors.ts';
import { readFileSync } from 'node:fs';
import { optionsHelp, parseCommandLine, type OptionSpecs } from '@nanny/settings';
import { createLayout, openLayout } from './sim.ts';
import { scenarioFromFlags, type Scenario } from './generate.ts';
import { EVENT_TYPES, PVESH_STARTUP_MS, type SimEvent } from './events.ts';
import { startServers } from './https.ts';

class UsageError extends Error {}

export interface SimIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** serve/tick: resolves when they should stop (default: SIGINT/SIGTERM) */
  stopSignal?: Promise<void>;
  /** serve: called once the servers listen, with what was printed as JSON */
  onServing?: (info: { nodes: { node: string; url: string; fingerprint: string }[]; token: string }) => void;
}

interface Spec {
  /** usage line and description; the options list is generated from `options` */
  usage: string;
  options: OptionSpecs;
}

const HELP_OPTION: OptionSpecs = { help: { type: 'boolean', short: 'h', help: 'this help' } };

const HELP: Record<string, Spec> = {
  layout: {
    usage: `pve-sim layout --out DIR (--nodes N [--standalone] --guests G [--seed S] | --scenario FILE) [options]

Writes one folder per node: DIR/<node>/bin (pvesh, pveversion, pvecm), DIR/<node>/etc-pve, DIR/<node>/proc,
and the model in DIR/.sim/state.json.`,
    options: {
      out: { type: 'string', arg: 'DIR', help: 'target folder (must be absent or empty)' },
      nodes: { type: 'string', arg: 'N', help: 'number of nodes (default 3)' },
      standalone: { type: 'boolean', help: 'N standalone nodes (no cluster) instead of one N-node cluster' },
      guests: {
        type: 'string',
        arg: 'G',
        help: 'number of guests (LXC and QEMU mixed), spread over the nodes (default 10)',
      },
      seed: { type: 'string', arg: 'S', help: 'random seed (default 1): the same seed gives the same fleet' },
      'cluster-name': { type: 'string', arg: 'NAME', help: 'cluster name (default prod)' },
      'pve-version': {
        type: 'string',
        arg: 'V',
        help: 'PVE version of every node (default 9.1.1; e.g. 8.4.14, 7.4-16)',
      },
      clock: {
        type: 'string',
        arg: 'MODE',
        help: 'frozen (time stands still: all renderings identical) or live (default live)',
      },
      epoch: { type: 'string', arg: 'SECONDS', help: 'the frozen instant (default 1764000000)' },
      scenario: {
        type: 'string',
        arg: 'FILE',
        help: 'a scenario file (JSON; see packages/pve-sim/scenarios/) instead of the flags above',
      },
    },
  },
  event: {
    usage: `pve-sim event --state DIR <event> [options]

Events: ${EVENT_TYPES.join(', ')}`,
    options: {
      state: { type: 'string', arg: 'DIR', help: 'the layout' },
      node: {
        type: 'string',
        arg: 'NAME',
        help: 'node-offline|node-online|node-reboot|version-upgrade|pmxcfs-hang|pmxcfs-release|guest-create (and optional for pvesh-delay: only that node)',
      },
      cluster: {
        type: 'string',
        arg: 'C',
        help: 'quorum-lost|quorum-regained|heal (default: every cluster); with a vmid: the cluster (name, id or one of its nodes) when vmids repeat across clusters',
      },
      groups: {
        type: 'string',
        arg: 'A,B/C,D',
        help: 'partition: the corosync partitions, nodes by comma, groups by slash (pve1,pve2,pve3/pve4,pve5); every node of the cluster in one group; heal (or quorum-regained) joins them again',
      },
      vmid: {
        type: 'string',
        arg: 'N',
        help: 'guest-start|guest-stop|guest-destroy|guest-migrate|config-change (and guest-create)',
      },
      target: { type: 'string', arg: 'NODE', help: 'guest-migrate' },
      version: { type: 'string', arg: 'V', help: 'version-upgrade (e.g. 9.1.1)' },
      kind: { type: 'string', arg: 'lxc|qemu', help: 'guest-create' },
      name: { type: 'string', arg: 'NAME', help: 'guest-create' },
      start: { type: 'boolean', help: 'guest-create: start it' },
      set: { type: 'string', arg: 'KEY=VALUE', multiple: true, help: 'config-change (repeatable)' },
      delete: { type: 'string', arg: 'KEY', multiple: true, help: 'config-change (repeatable)' },
      pending: { type: 'boolean', help: 'config-change: as a pending change' },
      description: { type: 'string', arg: 'TEXT', help: 'config-change' },
      ms: {
        type: 'string',
        arg: 'N',
        help: `pvesh-delay: start-up delay per pvesh call in ms (default ${PVESH_STARTUP_MS}, the modelled Perl start-up of the real pvesh; 0 switches it off)`,
      },
      mode: { type: 'string', arg: 'M', help: 'clock: frozen|live' },
      fail: {
        type: 'string',
        arg: 'VMID',
        multiple: true,
        help: 'backup-run: this guest fails (repeatable)',
      },
      error: {
        type: 'string',
        arg: 'TEXT',
        help: 'backup-run: the whole job fails; replication-fail: the error',
      },
      'ha-state': {
        type: 'string',
        arg: 'S',
        help: 'ha-state: CRM state (error, fence, started…) of --vmid, or of --node',
      },
      epoch: { type: 'string', arg: 'SECONDS', help: 'clock: the frozen instant' },
      seconds: { type: 'string', arg: 'N', help: 'clock-advance (frozen clock only)' },
      json: {
        type: 'string',
        arg: "'{...}'",
        help: 'the event as JSON instead ({"type": "node-offline", "node": "pve2"})',
      },
    },
  },
  serve: {
    usage: `pve-sim serve --state DIR [--node NAME ...] [--port P] [--host 127.0.0.1] [--no-tick]

Serves the HTTPS API (/api2/json/...) of each node (default: every node), each on its own port
(--port P: P, P+1, …; 0 = random ports). Prints per node its URL and certificate fingerprint, and the
API token (Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET). In live clock mode it also refreshes
/proc and .rrd every second (disable with --no-tick). Stops on SIGINT/SIGTERM.`,
    options: {
      state: { type: 'string', arg: 'DIR', help: 'the layout' },
      node: { type: 'string', arg: 'NAME', multiple: true, help: 'serve only this node (repeatable)' },
      port: { type: 'string', arg: 'P', help: 'first port (default 0: random ports)' },
      host: { type: 'string', arg: 'ADDRESS', help: 'address to listen on (default 127.0.0.1)' },
      'no-tick': { type: 'boolean', help: 'do not refresh /proc and .rrd' },
      json: {
        type: 'boolean',
        help: 'print one JSON line {"nodes":[{"node","url","fingerprint"}],"token":…} instead',
      },
    },
  },
  tick: {
    usage: `pve-sim tick --state DIR [--interval MS] [--once]

Re-renders the time-dependent files (/proc/*, .rrd) of every node every MS milliseconds (default 1000),
so counters move on disk in live clock mode.`,
    options: {
      state: { type: 'string', arg: 'DIR', help: 'the layout' },
      interval: { type: 'string', arg: 'MS', help: 'milliseconds between refreshes (default 1000)' },
      once: { type: 'boolean', help: 'one refresh, then exit' },
    },
  },
  info: {
    usage: `pve-sim info --state DIR

Prints the layout: clusters, nodes (with their bin/etc-pve/proc paths), guest counts, clock and token.`,
    options: { state: { type: 'string', arg: 'DIR', help: 'the layout' } },
  },
};

const usageOf = (spec: Spec): string => `${spec.usage}

${optionsHelp(spec.options)}
`;

const TOP = `pve-sim — a Proxmox VE simulator

Usage: pve-sim <command> [options]     (pve-sim <command> --help for details)

Commands:
  layout   lay out a fleet (flags or a scenario file)
  event    trigger an event on a layout (node offline, quorum lost, partition, guest migrate, …)
  serve    serve the HTTPS API of a layout's nodes
  tick     keep /proc and .rrd moving (live clock) without serving
  info     describe a layout
`;

interface Args {
  v: Map<string, string>;
  f: Set<string>;
  r: Map<string, string[]>;
  pos: string[];
}

function parse(cmd: string, argv: string[]): Args {
  const spec = HELP[cmd]!;
  const p = parseCommandLine(argv, { ...HELP_OPTION, ...spec.options });
  if (p.errors.length > 0) throw new UsageError(p.errors.join('\n'));
  const a: Args = { v: new Map(), f: new Set(), r: new Map(), pos: p.positionals };
  for (const [k, val] of Object.entries(p.values)) {
    if (Array.isArray(val)) a.r.set(k, val);
    else if (val === true) a.f.add(k);
    else if (typeof val === 'string') a.v.set(k, val);
  }
  return a;
}

function int(v: string | undefined, name: string, def?: number): number {
  if (v === undefined) {
    if (def === undefined) throw new UsageError(`--${name} is required`);
    return def;
  }
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer, got '${v}'`);
  return Number(v);
}

function need(v: Map<string, string>, key: string): string {
  const x = v.get(key);
  if (x === undefined) throw new UsageError(`--${key} is required`);
  return x;
}

function cmdLayout(a: Args, io: SimIo): void {
  const out = need(a.v, 'out');
  let scenario: Scenario;
  const file = a.v.get('scenario');
  if (file !== undefined) {
    for (const k of ['nodes', 'guests', 'seed', 'cluster-name', 'pve-version']) {
      if (a.v.has(k)) throw new UsageError(`--${k} cannot be combined with --scenario`);
    }
    try {
      scenario = JSON.parse(readFileSync(file, 'utf8')) as Scenario;
    } catch (e) {
      throw new UsageError(`cannot read scenario '${file}': ${errorMessage(e)}`);
    }
    if (a.v.has('clock') || a.v.has('epoch')) {
      scenario.clock = { ...scenario.clock };
      if (a.v.has('clock')) scenario.clock.mode = a.v.get('clock') as 'frozen' | 'live';
      if (a.v.has('epoch')) scenario.clock.epoch = int(a.v.get('epoch'), 'epoch');
    }
  } else {
    const clock = a.v.get('clock');
    if (clock !== undefined && clock !== 'frozen' && clock !== 'live')
      throw new UsageError(`--clock must be frozen or live`);
    const nodes = int(a.v.get('nodes'), 'nodes', 3);
    if (nodes < 1) throw new UsageError('--nodes must be at least 1');
    const guests = int(a.v.get('guests'), 'guests', 10);
    if (guests < 0) throw new UsageError('--guests must be >= 0');
    scenario = scenarioFromFlags({
      nodes,
      standalone: a.f.has('standalone'),
      guests,
      seed: int(a.v.get('seed'), 'seed', 1),
      ...(a.v.has('cluster-name') ? { clusterName: a.v.get('cluster-name')! } : {}),
      ...(a.v.has('pve-version') ? { pveVersion: a.v.get('pve-version')! } : {}),
      ...(clock ? { clock: clock as 'frozen' | 'live' } : {}),
      ...(a.v.has('epoch') ? { epoch: int(a.v.get('epoch'), 'epoch') } : {}),
    });
  }
  const t0 = Date.now();
  const sim = createLayout({ out, scenario });
  const s = sim.state();
  const ms = Date.now() - t0;
  io.stdout(
    `laid out ${s.nodes.length} node(s), ${s.guests.length} guest(s) in ${sim.root} (${ms} ms, clock ${s.clock.mode})\n` +
      s.nodes.map((n) => `  ${n.name}: ${sim.root}/${n.name}/{bin,etc-pve,proc}\n`).join('') +
      `token: PVEAPIToken=${s.tokens[0]!.tokenId}=${s.tokens[0]!.secret}\n`,
  );
}

function eventFrom(a: Args): SimEvent {
  const json = a.v.get('json');
  if (json !== undefined) {
    try {
      return JSON.parse(json) as SimEvent;
    } catch (e) {
      throw new UsageError(`--json: ${errorMessage(e)}`);
    }
  }
  const type = a.pos[0];
  if (!type) throw new UsageError(`which event? (${EVENT_TYPES.join(', ')})`);
  if (a.pos.length > 1) throw new UsageError(`unexpected argument '${a.pos[1]}'`);
  if (!(EVENT_TYPES as readonly string[]).includes(type))
    throw new UsageError(`unknown event '${type}' (${EVENT_TYPES.join(', ')})`);
  const node = (): string => need(a.v, 'node');
  const guest = (): { vmid: number; cluster?: string } => ({
    vmid: int(a.v.get('vmid'), 'vmid'),
    ...(a.v.has('cluster') ? { cluster: a.v.get('cluster')! } : {}),
  });
  const cluster = a.v.has('cluster') ? { cluster: a.v.get('cluster')! } : {};
  switch (type) {
    case 'node-offline':
    case 'node-online':
    case 'node-reboot':
    case 'pmxcfs-hang':
    case 'pmxcfs-release':
      return { type, node: node() };
    case 'quorum-lost':
    case 'quorum-regained':
    case 'heal':
      return { type, ...cluster };
    case 'partition':
      return {
        type,
        groups: need(a.v, 'groups')
          .split('/')
          .map((g) => g.split(',').filter((n) => n !== '')),
      };
    case 'version-upgrade':
      return { type, node: node(), version: need(a.v, 'version') };
    case 'guest-start':
    case 'guest-stop':
    case 'guest-destroy':
      return { type, ...guest() };
    case 'guest-migrate':
      return { type, ...guest(), target: need(a.v, 'target') };
    case 'guest-create': {
      const kind = need(a.v, 'kind');
      if (kind !== 'lxc' && kind !== 'qemu') throw new UsageError('--kind must be lxc or qemu');
      return {
        type,
        node: node(),
        kind,
        ...(a.v.has('vmid') ? { vmid: int(a.v.get('vmid'), 'vmid') } : {}),
        ...(a.v.has('name') ? { name: a.v.get('name')! } : {}),
        ...(a.f.has('start') ? { start: true } : {}),
      };
    }
    case 'config-change': {
      const set: Record<string, string> = {};
      for (const kv of a.r.get('set') ?? []) {
        const eq = kv.indexOf('=');
        if (eq < 1) throw new UsageError(`--set wants KEY=VALUE, got '${kv}'`);
        set[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      return {
        type,
        ...guest(),
        set,
        delete: a.r.get('delete') ?? [],
        pending: a.f.has('pending'),
        ...(a.v.has('description') ? { description: a.v.get('description')! } : {}),
      };
    }
    case 'pvesh-delay':
      return {
        type,
        ...(a.v.has('ms') ? { ms: int(a.v.get('ms'), 'ms') } : {}),
        ...(a.v.has('node') ? { node: a.v.get('node')! } : {}),
      };
    case 'clock': {
      const mode = need(a.v, 'mode');
      if (mode !== 'frozen' && mode !== 'live') throw new UsageError('--mode must be frozen or live');
      return { type, mode, ...(a.v.has('epoch') ? { epoch: int(a.v.get('epoch'), 'epoch') } : {}) };
    }
    case 'clock-advance':
      return { type, seconds: int(a.v.get('seconds'), 'seconds') };
    case 'backup-run':
      return {
        type,
        node: node(),
        ...(a.r.has('fail') ? { fail: a.r.get('fail')!.map((v) => int(v, 'fail')) } : {}),
        ...(a.v.has('error') ? { error: a.v.get('error')! } : {}),
      };
    case 'ha-state':
      return {
        type,
        state: need(a.v, 'ha-state'),
        ...(a.v.has('vmid') ? { vmid: int(a.v.get('vmid'), 'vmid') } : { node: node() }),
        ...cluster,
      };
    case 'replication-fail':
    case 'replication-ok':
      return {
        type,
        vmid: int(a.v.get('vmid'), 'vmid'),
        ...(a.v.has('error') ? { error: a.v.get('error')! } : {}),
      };
    default:
      throw new UsageError(
        `${type}: give it as --json '{"type": "${type}", …}' (packages/pve-sim/README.md)`,
      );
  }
}

async function cmdServe(a: Args, io: SimIo): Promise<void> {
  const sim = openLayout(need(a.v, 'state'));
  const nodes = a.r.get('node') ?? sim.state().nodes.map((n) => n.name);
  const servers = await startServers(sim, {
    nodes,
    port: int(a.v.get('port'), 'port', 0),
    host: a.v.get('host') ?? '127.0.0.1',
  });
  const s = sim.state();
  const token = `${s.tokens[0]!.tokenId}=${s.tokens[0]!.secret}`;
  io.onServing?.({
    nodes: servers.list.map((x) => ({ node: x.node, url: x.url, fingerprint: x.fingerprint })),
    token,
  });
  if (a.f.has('json')) {
    io.stdout(
      JSON.stringify({
        nodes: servers.list.map((x) => ({ node: x.node, url: x.url, fingerprint: x.fingerprint })),
        token,
        authorization: `PVEAPIToken=${token}`,
      }) + '\n',
    );
  } else {
    for (const x of servers.list) io.stdout(`${x.node}: ${x.url}  (sha256 fingerprint ${x.fingerprint})\n`);
    io.stdout(`token: ${token}\nheader: Authorization: PVEAPIToken=${token}\n`);
  }
  let timer: NodeJS.Timeout | undefined;
  if (!a.f.has('no-tick')) {
    timer = setInterval(() => {
      try {
        const st = sim.state();
        if (st.clock.mode === 'live') sim.refresh();
      } catch (e) {
        io.stderr(`tick: ${errorMessage(e)}\n`);
      }
    }, 1000);
  }
  await stopped(io);
  if (timer) clearInterval(timer);
  await servers.close();
}

async function cmdTick(a: Args, io: SimIo): Promise<void> {
  const sim = openLayout(need(a.v, 'state'));
  if (a.f.has('once')) {
    sim.refresh();
    return;
  }
  const interval = int(a.v.get('interval'), 'interval', 1000);
  const timer = setInterval(() => sim.refresh(), interval);
  await stopped(io);
  clearInterval(timer);
}

function cmdInfo(a: Args, io: SimIo): void {
  const sim = openLayout(need(a.v, 'state'));
  const s = sim.state();
  const lines = [
    `layout ${sim.root}  clock ${s.clock.mode}${s.clock.mode === 'frozen' ? ` @${s.clock.epoch}` : ''}  pvesh delay ${s.pveshDelayMs} ms`,
  ];
  for (const c of s.clusters) {
    const nodes = s.nodes.filter((n) => n.clusterId === c.id);
    lines.push(
      `${c.id}: ${c.name === null ? 'standalone' : `cluster '${c.name}'`}${c.partitioned ? ' (partitioned)' : ''}${c.groups ? ` (partitions ${c.groups.map((g) => g.join(',')).join(' / ')})` : ''}`,
    );
    for (const n of nodes) {
      const g = s.guests.filter((x) => x.node === n.name).length;
      lines.push(
        `  ${n.name} nodeid ${n.nodeid} ${n.ip} pve ${n.pveVersion} guests ${g}${n.isolated ? ' OFFLINE' : ''}${n.hung ? ' HUNG' : ''}  ${sim.root}/${n.name}`,
      );
    }
  }
  lines.push(`token: PVEAPIToken=${s.tokens[0]!.tokenId}=${s.tokens[0]!.secret}`);
  io.stdout(lines.join('\n') + '\n');
}

function stopped(io: SimIo): Promise<void> {
  return (
    io.stopSignal ??
    new Promise<void>((r) => {
      process.once('SIGINT', () => r());
      process.once('SIGTERM', () => r());
    })
  );
}

/** Runs one command; returns the exit code (2: usage, 1: failure). */
export async function main(argv: readonly string[], io: SimIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    io.stdout(TOP);
    return cmd ? 0 : 2;
  }
  const spec = HELP[cmd];
  if (!spec) {
    io.stderr(`pve-sim: unknown command '${cmd}'\n\n${TOP}`);
    return 2;
  }
  try {
    const a = parse(cmd, rest);
    if (a.f.has('help')) {
      io.stdout(usageOf(spec));
      return 0;
    }
    if (cmd !== 'event' && a.pos.length > 0) throw new UsageError(`unexpected argument '${a.pos[0]}'`);
    if (cmd === 'layout') cmdLayout(a, io);
    else if (cmd === 'event') {
      const sim = openLayout(need(a.v, 'state'));
      const ev = eventFrom(a);
      sim.apply(ev);
      io.stdout(`applied ${ev.type}\n`);
    } else if (cmd === 'serve') await cmdServe(a, io);
    else if (cmd === 'tick') await cmdTick(a, io);
    else if (cmd === 'info') cmdInfo(a, io);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(
        `${e.message
          .split('\n')
          .map((l) => `pve-sim ${cmd}: ${l}`)
          .join('\n')}\n(see pve-sim ${cmd} --help)\n`,
      );
      return 2;
    }
    io.stderr(`pve-sim ${cmd}: ${errorMessage(e)}\n`);
    return 1;
  }
}
