// The command line of the simulated tools (dist/pve-tools.mjs, exec'd by the DIR/<node>/bin wrappers):
//   node pve-tools.mjs <pvesh|pveversion|pvecm> --state <state.json> --node <name> [tool args…]
// `toolsMain(argv, io)` is testable in-process; tools-main.ts wires it to the process.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCommandLine } from '@nanny/settings';
import { readState, resolveStatePath } from './store.ts';
import { runTool } from './tools.ts';

export interface ToolsIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const USAGE = 'usage: pve-tools.mjs <pvesh|pveversion|pvecm> --state FILE --node NAME [args…]\n';

export async function toolsMain(argv: readonly string[], io: ToolsIo): Promise<number> {
  const [tool, ...rest] = argv;
  // The wrappers put --state and --node first; everything after them belongs to the tool (whose
  // own options, e.g. pvesh's --output-format, are the tool's to judge), so only that head is parsed.
  let head = 0;
  while (head < rest.length && (rest[head] === '--state' || rest[head] === '--node') && head < 4) head += 2;
  const p = parseCommandLine(rest.slice(0, head), {
    state: { type: 'string', arg: 'FILE' },
    node: { type: 'string', arg: 'NAME' },
  });
  const statePath = p.values.state;
  const node = p.values.node;
  if (!tool || p.errors.length > 0 || typeof statePath !== 'string' || typeof node !== 'string') {
    io.stderr(`${p.errors.map((e) => `pve-tools: ${e}\n`).join('')}${USAGE}`);
    return 2;
  }
  const path = resolveStatePath(statePath);
  const r = await runTool(tool, node, rest.slice(head), {
    readState: () => readState(path),
    nowMs: () => Date.now(),
    sleep: (ms) => sleep(ms),
  });
  if (r.stdout) io.stdout(r.stdout);
  if (r.stderr) io.stderr(r.stderr);
  return r.code;
}
