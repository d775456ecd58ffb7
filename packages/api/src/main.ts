/** Entry of the bundle dist/nannyapi.mjs (`npx nannyapi`, `npm start`). */
import process from 'node:process';
import { runCli } from './cli.ts';
import { errorMessage } from './errors.ts';

// `nannyapi … | head -n1` closes our stdout early: that is the reader's choice, not a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

runCli(process.argv.slice(2), {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`nannyapi: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  },
);
