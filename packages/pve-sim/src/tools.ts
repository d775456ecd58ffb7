// pvesh / pveversion / pvecm as they behave on one node. runTool() is the whole tool; tools-main.ts
// only feeds it argv and prints the result, so tests can call it in-process too.
import { errorMessage } from './errors.ts';
import { canonicalJson, prettyJson } from './json.ts';
import type { SimState } from './model.ts';
import { nodeByName, viewOf } from './model.ts';
import { apiGet, normalizeApiPath } from './api.ts';
import { pvecmStatus, type ToolOutput } from './pvecm.ts';
import { pveversionShort, pveversionVerbose } from './versions.ts';
import { clusterNodes } from './model.ts';

export type { ToolOutput };

export interface ToolEnv {
  /** fresh state on every call (the state changes while a call waits on a hung pmxcfs) */
  readState: () => SimState;
  nowMs: () => number;
  sleep: (ms: number) => Promise<void>;
  /** give up waiting on a hung pmxcfs after this long (default: never, like the real thing) */
  hangTimeoutMs?: number;
}

const out = (stdout: string, code = 0, stderr = ''): ToolOutput => ({ stdout, stderr, code });
const fail = (stderr: string, code = 255): ToolOutput => ({
  stdout: '',
  stderr: stderr.endsWith('\n') ? stderr : stderr + '\n',
  code,
});

const PVESH_USAGE = `USAGE: pvesh <COMMAND> [ARGS] [OPTIONS]

       pvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]

(pve-sim simulates 'get' with --output-format json|json-pretty)
`;

async function waitWhileHung(env: ToolEnv, node: string, check: (s: SimState) => boolean): Promise<SimState> {
  const started = env.nowMs();
  for (;;) {
    const s = env.readState();
    if (!check(s)) return s;
    if (env.hangTimeoutMs !== undefined && env.nowMs() - started > env.hangTimeoutMs) {
      throw new Error(`pmxcfs on ${node} did not answer within ${env.hangTimeoutMs} ms`);
    }
    await env.sleep(100);
  }
}

function nowOf(s: SimState, ms: number): number {
  return s.clock.mode === 'frozen' ? s.clock.epoch : ms / 1000;
}

async function pvesh(node: string, args: string[], env: ToolEnv): Promise<ToolOutput> {
  const [cmd, ...rest] = args;
  if (!cmd || cmd === 'help' || cmd === '--help') return out(PVESH_USAGE, cmd ? 0 : 255);
  if (cmd !== 'get') {
    if (['ls', 'set', 'create', 'delete', 'usage'].includes(cmd))
      return fail(`pve-sim: 'pvesh ${cmd}' is not simulated (only 'get')`, 2);
    return fail(`ERROR: unknown command 'pvesh ${cmd}'\n${PVESH_USAGE}`);
  }
  let path: string | undefined;
  let format = 'text';
  const query: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a.startsWith('-')) {
      const eq = a.indexOf('=');
      const key = (eq > 0 ? a.slice(0, eq) : a).replace(/^--?/, '');
      let value: string | undefined = eq > 0 ? a.slice(eq + 1) : undefined;
      if (value === undefined) {
        if (
          key === 'noproxy' ||
          key === 'human-readable' ||
          key === 'noborder' ||
          key === 'noheader' ||
          key === 'quiet'
        )
          value = '1';
        else {
          value = rest[++i];
          if (value === undefined)
            return fail(`400 not enough arguments\npvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]`);
        }
      }
      if (key === 'output-format') format = value;
      else if (!['noproxy', 'human-readable', 'noborder', 'noheader', 'quiet'].includes(key))
        query[key] = value;
    } else if (path === undefined) path = a;
    else return fail(`400 too many arguments\npvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]`);
  }
  if (path === undefined)
    return fail(`400 not enough arguments\npvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]`);
  if (!['json', 'json-pretty', 'text', 'yaml'].includes(format)) {
    return fail(
      `400 Parameter verification failed.\noutput-format: value '${format}' does not have a value in the enumeration 'text, json, json-pretty, yaml'\npvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]`,
    );
  }
  if (format === 'text' || format === 'yaml')
    return fail(`pve-sim: --output-format ${format} is not simulated; use json or json-pretty`, 2);
  // the Perl start-up cost of pvesh (see README: figure and reasoning)
  const first = env.readState();
  const delay = first.pveshDelayMs + nodeByName(first, node).pveshDelayMs;
  if (delay > 0) await env.sleep(delay);
  for (const started = env.nowMs(); ;) {
    const s = env.readState();
    const r = apiGet(s, node, path, query, nowOf(s, env.nowMs()));
    if (r.ok === 'blocked') {
      if (env.hangTimeoutMs !== undefined && env.nowMs() - started > env.hangTimeoutMs)
        return fail(`pmxcfs on ${r.node} did not answer`, 124);
      await env.sleep(100);
      continue;
    }
    if (r.ok) return out((format === 'json' ? canonicalJson(r.data) : prettyJson(r.data)) + '\n');
    if (r.status === 501) return fail(`no 'get' handler for '${path}'`);
    if (r.status === 595) {
      const target = /^\/nodes\/([^/]+)/.exec(normalizeApiPath(path))?.[1] ?? '';
      const ip = s.nodes.find((n) => n.name === target)?.ip ?? target;
      return fail(`ssh: connect to host ${ip} port 22: No route to host`);
    }
    return fail(r.message);
  }
}

function pveversion(node: string, args: string[], env: ToolEnv): ToolOutput {
  const s = env.readState();
  const n = nodeByName(s, node);
  if (args.length === 0) return out(pveversionShort(n.pveVersion, n.repoid, n.kernel));
  if (args.length === 1 && (args[0] === '-v' || args[0] === '--verbose')) {
    return out(pveversionVerbose(n.pveVersion, n.repoid, n.kernel, n.installedKernel));
  }
  if (args[0] === '--help' || args[0] === 'help') return out('USAGE: pveversion [--verbose]\n');
  return fail(`Unknown option: ${args[0]!.replace(/^--?/, '')}\nUSAGE: pveversion [--verbose]`, 255);
}

async function pvecm(node: string, args: string[], env: ToolEnv): Promise<ToolOutput> {
  const [cmd] = args;
  const usage = 'USAGE: pvecm <COMMAND> [ARGS] [OPTIONS]\n\n       pvecm status\n       pvecm nodes\n';
  if (!cmd) return fail(`ERROR: no command specified\n${usage}`);
  if (cmd === 'help' || cmd === '--help') return out(usage);
  if (cmd !== 'status' && cmd !== 'nodes') return fail(`ERROR: unknown command 'pvecm ${cmd}'\n${usage}`);
  // pvecm reads corosync.conf through pmxcfs first: it blocks on a hung pmxcfs too
  const s = await waitWhileHung(env, node, (st) => nodeByName(st, node).hung);
  const n = nodeByName(s, node);
  const now = nowOf(s, env.nowMs());
  if (cmd === 'status') return pvecmStatus(s, n, now);
  const st = pvecmStatus(s, n, now);
  if (st.code === 255) return st;
  const view = viewOf(s, n);
  const members = clusterNodes(s, n.clusterId)
    .filter((x) => view.members.has(x.name))
    .sort((a, b) => a.nodeid - b.nodeid);
  const lines = ['', 'Membership information', '----------------------', '    Nodeid      Votes Name'];
  for (const m of members)
    lines.push(
      `${String(m.nodeid).padStart(10)} ${String(1).padStart(10)} ${m.name}${m.name === n.name ? ' (local)' : ''}`,
    );
  return out(lines.join('\n') + '\n');
}

export async function runTool(tool: string, node: string, args: string[], env: ToolEnv): Promise<ToolOutput> {
  try {
    // fail early on an unknown node (a wrapper pointing at a foreign state file)
    nodeByName(env.readState(), node);
    if (tool === 'pvesh') return await pvesh(node, args, env);
    if (tool === 'pveversion') return pveversion(node, args, env);
    if (tool === 'pvecm') return await pvecm(node, args, env);
    return fail(`pve-sim: unknown tool '${tool}' (pvesh, pveversion, pvecm)`, 2);
  } catch (e) {
    return fail(`pve-sim: ${errorMessage(e)}`, 2);
  }
}
