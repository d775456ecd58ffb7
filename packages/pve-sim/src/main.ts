// Entry of dist/pve-sim.mjs: wires the process to the command line (cli.ts).
import process from 'node:process';
import { main } from './cli.ts';

main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`pve-sim: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
