/**
 * A sender whose process was stopped (SIGSTOP, a paused VM, a long GC) while the receiver answered
 * must not call that send "timed out": when the process runs again, Node runs its overdue timers
 * before it reads the sockets, so the deadline fired first although the answer was waiting, and
 * the delivery was sent again — a second webhook for one alert change (seen in
 * test/bench/replica-chaos.ts after a 15-s pause). The deadline now lets waiting I/O be read first.
 */
import { spawnTracked, tempDir, test, waitFor } from '@nanny/testing';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createOutbound } from './outbound.ts';

/** blocks this process's event loop, as a stop would */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: nothing else of this process runs
  }
}

test('an answer that arrived while the sender was stalled past its deadline counts as sent', async (t) => {
  const flag = join(tempDir(t, 'paused-deadline'), 'got');
  // a receiver in a process of its own (it must answer while this one is stalled): it notes the
  // request, answers 200 after 200 ms
  const receiver = spawnTracked(
    t,
    process.execPath,
    [
      '-e',
      `const fs = require('fs');
       require('http').createServer((q, s) => {
         q.resume();
         q.on('end', () => { fs.writeFileSync(${JSON.stringify(flag)}, '1'); setTimeout(() => s.end('ok'), 200); });
       }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  receiver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await waitFor(() => Number(out.trim()) || undefined, { what: 'the receiver to listen' });

  const outbound = createOutbound({ allowedNetworks: ['127.0.0.0/8'] });
  const sent = outbound.post(`http://127.0.0.1:${port}/hook`, '{}', {}, 300).then(
    () => 'sent',
    (e: Error) => e.message,
  );
  // once the receiver has the request, this process stops for 600 ms: the answer comes in meanwhile
  await new Promise<void>((resolve) => {
    const spin = () => {
      if (!existsSync(flag)) return void setImmediate(spin);
      stall(600);
      resolve();
    };
    spin();
  });
  assert.equal(await sent, 'sent');
});
