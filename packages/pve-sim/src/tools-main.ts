// Entry of dist/pve-tools.mjs, exec'd by the DIR/<node>/bin wrappers:
//   node pve-tools.mjs <pvesh|pveversion|pvecm> --state <state.json> --node <name> [tool args…]
import { setTimeout as sleep } from 'node:timers/promises';
import { readState, resolveStatePath } from './store.ts';
import { runTool } from './tools.ts';

async function main(argv: string[]): Promise<number> {
  const [tool, ...rest] = argv;
  let statePath: string | undefined;
  let node: string | undefined;
  const args: string[] = [];
  // the wrappers put --state and --node first; everything after them belongs to the tool
  let i = 0;
  for (; i < rest.length; i++) {
    const a = rest[i]!;
    if (statePath === undefined && a === '--state') statePath = rest[++i];
    else if (node === undefined && a === '--node') node = rest[++i];
    else break;
  }
  args.push(...rest.slice(i));
  if (!tool || !statePath || !node) {
    process.stderr.write('usage: pve-tools.mjs <pvesh|pveversion|pvecm> --state FILE --node NAME [args…]\n');
    return 2;
  }
  const path = resolveStatePath(statePath);
  const r = await runTool(tool, node, args, {
    readState: () => readState(path),
    nowMs: () => Date.now(),
    sleep: (ms) => sleep(ms),
  });
  if (r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stderr.write(r.stderr);
  return r.code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`pve-sim: ${(e as Error).message}\n`);
    process.exitCode = 2;
  },
);
