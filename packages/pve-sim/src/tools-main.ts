// Entry of dist/pve-tools.mjs, exec'd by the DIR/<node>/bin wrappers (see tools-cli.ts).
import { errorMessage } from './errors.ts';
import process from 'node:process';
import { toolsMain } from './tools-cli.ts';

toolsMain(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`pve-sim: ${errorMessage(e)}\n`);
    process.exitCode = 2;
  },
);
