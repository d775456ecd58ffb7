/** Entry point of the bundle (dist/nannyagent.mjs): wires the process to the CLI. */
import process from 'node:process';
import { main } from './cli.ts';

// `nannyagent … | head -n1` closes our stdout early: that is the reader's choice, not a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

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
