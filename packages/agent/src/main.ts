/** Entry point of the bundle (dist/nannyagent.mjs): wires the process to the CLI. */
import process from 'node:process';
import { main } from './cli.ts';

const code = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  onSignal: (handler) => {
    process.once('SIGTERM', handler);
    process.once('SIGINT', handler);
  },
});
process.exitCode = code;
