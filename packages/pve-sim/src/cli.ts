// `pve-sim` command line: layout, event, serve, tick, info. Entry of dist/pve-sim.mjs.
import { readFileSync } from 'node:fs';
import { createLayout, openLayout } from './sim.ts';
import { scenarioFromFlags, type Scenario } from './generate.ts';
import { EVENT_TYPES, PVESH_STARTUP_MS, type SimEvent } from './events.ts';
import { startServers } from './https.ts';

class UsageError extends Error {}

interface Spec {
  usage: string;
  values: string[];
  flags: string[];
  repeat?: string[];
}

const HELP: Record<string, Spec> = {
  layout: {
    usage: `pve-sim layout --out DIR (--nodes N [--standalone] --guests G [--seed S] | --scenario FILE) [options]

Writes one folder per node: DIR/<node>/bin (pvesh, pveversion, pvecm), DIR/<node>/etc-pve, DIR/<node>/proc,
and the model in DIR/.sim/state.json.

  --out DIR            target folder (must be absent or empty)
  --nodes N            number of nodes (default 3)
  --standalone         N standalone nodes (no cluster) instead of one N-node cluster
  --guests G           number of guests (LXC and QEMU mixed), spread over the nodes (default 10)
  --seed S             random seed (default 1): the same seed gives the same fleet
  --cluster-name NAME  cluster name (default prod)
  --pve-version V      PVE version of every node (default 9.1.1; e.g. 8.4.14, 7.4-16)
  --clock MODE         frozen (time stands still: all renderings identical) or live (default live)
  --epoch SECONDS      the frozen instant (default 1764000000)
  --scenario FILE      a scenario file (JSON; see packages/pve-sim/scenarios/) instead of the flags above
`,
    values: ['out', 'nodes', 'guests', 'seed', 'cluster-name', 'pve-version', 'clock', 'epoch', 'scenario'],
    flags: ['standalone'],
  },
  event: {
    usage: `pve-sim event --state DIR <event> [options]

Events: ${EVENT_TYPES.join(', ')}

  --node NAME         node-offline|node-online|node-reboot|version-upgrade|pmxcfs-hang|pmxcfs-release|guest-create
                      (and optional for pvesh-delay: only that node)
  --cluster C         quorum-lost|quorum-regained (default: every cluster); with a vmid: the cluster (name, id or
                      one of its nodes) when vmids repeat across clusters
  --vmid N            guest-start|guest-stop|guest-destroy|guest-migrate|config-change (and guest-create)
  --target NODE       guest-migrate
  --version V         version-upgrade (e.g. 9.1.1)
  --kind lxc|qemu     guest-create;  --name NAME, --start
  --set KEY=VALUE     config-change (repeatable);  --delete KEY (repeatable);  --pending;  --description TEXT
  --ms N              pvesh-delay: start-up delay per pvesh call in ms (default ${PVESH_STARTUP_MS}, the modelled
                      Perl start-up of the real pvesh; 0 switches it off)
  --mode M            clock: frozen|live;  --epoch SECONDS
  --seconds N         clock-advance (frozen clock only)
  --json '{...}'      the event as JSON instead ({"type": "node-offline", "node": "pve2"})
`,
    values: [
      'state',
      'node',
      'cluster',
      'vmid',
      'target',
      'version',
      'kind',
      'name',
      'ms',
      'mode',
      'epoch',
      'seconds',
      'description',
      'json',
    ],
    flags: ['start', 'pending'],
    repeat: ['set', 'delete'],
  },
  serve: {
    usage: `pve-sim serve --state DIR [--node NAME ...] [--port P] [--host 127.0.0.1] [--no-tick]

Serves the HTTPS API (/api2/json/...) of each node (default: every node), each on its own port
(--port P: P, P+1, …; 0 = random ports). Prints per node its URL and certificate fingerprint, and the
API token (Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET). In live clock mode it also refreshes
/proc and .rrd every second (disable with --no-tick). Stops on SIGINT/SIGTERM.
  --json              print one JSON line {"nodes":[{"node","url","fingerprint"}],"token":…} instead
`,
    values: ['state', 'port', 'host'],
    flags: ['no-tick', 'json'],
    repeat: ['node'],
  },
  tick: {
    usage: `pve-sim tick --state DIR [--interval MS] [--once]

Re-renders the time-dependent files (/proc/*, .rrd) of every node every MS milliseconds (default 1000),
so counters move on disk in live clock mode. --once: one refresh, then exit.
`,
    values: ['state', 'interval'],
    flags: ['once'],
  },
  info: {
    usage: `pve-sim info --state DIR

Prints the layout: clusters, nodes (with their bin/etc-pve/proc paths), guest counts, clock and token.
`,
    values: ['state'],
    flags: [],
  },
};

const TOP = `pve-sim — a Proxmox VE simulator

Usage: pve-sim <command> [options]     (pve-sim <command> --help for details)

Commands:
  layout   lay out a fleet (flags or a scenario file)
  event    trigger an event on a layout (node offline, quorum lost, guest migrate, pmxcfs hang, …)
  serve    serve the HTTPS API of a layout's nodes
  tick     keep /proc and .rrd moving (live clock) without serving
  info     describe a layout
`;

function parse(
  cmd: string,
  argv: string[],
): { v: Map<string, string>; f: Set<string>; r: Map<string, string[]>; pos: string[] } {
  const spec = HELP[cmd]!;
  const v = new Map<string, string>();
  const f = new Set<string>();
  const r = new Map<string, string[]>();
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      pos.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    if (spec.flags.includes(key)) {
      if (inline !== undefined) throw new UsageError(`--${key} takes no value`);
      f.add(key);
    } else if (spec.values.includes(key) || spec.repeat?.includes(key)) {
      const val = inline ?? argv[++i];
      if (val === undefined) throw new UsageError(`--${key} needs a value`);
      if (spec.repeat?.includes(key)) r.set(key, [...(r.get(key) ?? []), val]);
      else v.set(key, val);
    } else throw new UsageError(`unknown option --${key} for '${cmd}'`);
  }
  return { v, f, r, pos };
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

function cmdLayout(a: ReturnType<typeof parse>): void {
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
      throw new UsageError(`cannot read scenario '${file}': ${(e as Error).message}`);
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
  process.stdout.write(
    `laid out ${s.nodes.length} node(s), ${s.guests.length} guest(s) in ${sim.root} (${ms} ms, clock ${s.clock.mode})\n` +
      s.nodes.map((n) => `  ${n.name}: ${sim.root}/${n.name}/{bin,etc-pve,proc}\n`).join('') +
      `token: PVEAPIToken=${s.tokens[0]!.tokenId}=${s.tokens[0]!.secret}\n`,
  );
}

function eventFrom(a: ReturnType<typeof parse>): SimEvent {
  const json = a.v.get('json');
  if (json !== undefined) {
    try {
      return JSON.parse(json) as SimEvent;
    } catch (e) {
      throw new UsageError(`--json: ${(e as Error).message}`);
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
      return { type, ...cluster };
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
  }
  throw new UsageError(`unknown event '${type}'`);
}

async function cmdServe(a: ReturnType<typeof parse>): Promise<void> {
  const sim = openLayout(need(a.v, 'state'));
  const nodes = a.r.get('node') ?? sim.state().nodes.map((n) => n.name);
  const servers = await startServers(sim, {
    nodes,
    port: int(a.v.get('port'), 'port', 0),
    host: a.v.get('host') ?? '127.0.0.1',
  });
  const s = sim.state();
  const token = `${s.tokens[0]!.tokenId}=${s.tokens[0]!.secret}`;
  if (a.f.has('json')) {
    process.stdout.write(
      JSON.stringify({
        nodes: servers.list.map((x) => ({ node: x.node, url: x.url, fingerprint: x.fingerprint })),
        token,
        authorization: `PVEAPIToken=${token}`,
      }) + '\n',
    );
  } else {
    for (const x of servers.list)
      process.stdout.write(`${x.node}: ${x.url}  (sha256 fingerprint ${x.fingerprint})\n`);
    process.stdout.write(`token: ${token}\nheader: Authorization: PVEAPIToken=${token}\n`);
  }
  let timer: NodeJS.Timeout | undefined;
  if (!a.f.has('no-tick')) {
    timer = setInterval(() => {
      try {
        const st = sim.state();
        if (st.clock.mode === 'live') sim.refresh();
      } catch (e) {
        process.stderr.write(`tick: ${(e as Error).message}\n`);
      }
    }, 1000);
  }
  await new Promise<void>((resolveStop) => {
    const stop = (): void => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  if (timer) clearInterval(timer);
  await servers.close();
}

async function cmdTick(a: ReturnType<typeof parse>): Promise<void> {
  const sim = openLayout(need(a.v, 'state'));
  if (a.f.has('once')) {
    sim.refresh();
    return;
  }
  const interval = int(a.v.get('interval'), 'interval', 1000);
  const timer = setInterval(() => sim.refresh(), interval);
  await new Promise<void>((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
  clearInterval(timer);
}

function cmdInfo(a: ReturnType<typeof parse>): void {
  const sim = openLayout(need(a.v, 'state'));
  const s = sim.state();
  const lines = [
    `layout ${sim.root}  clock ${s.clock.mode}${s.clock.mode === 'frozen' ? ` @${s.clock.epoch}` : ''}  pvesh delay ${s.pveshDelayMs} ms`,
  ];
  for (const c of s.clusters) {
    const nodes = s.nodes.filter((n) => n.clusterId === c.id);
    lines.push(
      `${c.id}: ${c.name === null ? 'standalone' : `cluster '${c.name}'`}${c.partitioned ? ' (partitioned)' : ''}`,
    );
    for (const n of nodes) {
      const g = s.guests.filter((x) => x.node === n.name).length;
      lines.push(
        `  ${n.name} nodeid ${n.nodeid} ${n.ip} pve ${n.pveVersion} guests ${g}${n.isolated ? ' OFFLINE' : ''}${n.hung ? ' HUNG' : ''}  ${sim.root}/${n.name}`,
      );
    }
  }
  lines.push(`token: PVEAPIToken=${s.tokens[0]!.tokenId}=${s.tokens[0]!.secret}`);
  process.stdout.write(lines.join('\n') + '\n');
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(TOP);
    return cmd ? 0 : 2;
  }
  const spec = HELP[cmd];
  if (!spec) {
    process.stderr.write(`pve-sim: unknown command '${cmd}'\n\n${TOP}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(spec.usage);
    return 0;
  }
  try {
    const a = parse(cmd, rest);
    if (cmd !== 'event' && a.pos.length > 0) throw new UsageError(`unexpected argument '${a.pos[0]}'`);
    if (cmd === 'layout') cmdLayout(a);
    else if (cmd === 'event') {
      const sim = openLayout(need(a.v, 'state'));
      const ev = eventFrom(a);
      sim.apply(ev);
      process.stdout.write(`applied ${ev.type}\n`);
    } else if (cmd === 'serve') await cmdServe(a);
    else if (cmd === 'tick') await cmdTick(a);
    else if (cmd === 'info') cmdInfo(a);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`pve-sim ${cmd}: ${e.message}\n(see pve-sim ${cmd} --help)\n`);
      return 2;
    }
    process.stderr.write(`pve-sim ${cmd}: ${(e as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`pve-sim: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
