import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from './log.ts';
import { createSpool, type SpoolItem } from './spool.ts';

const it = (n: number): SpoolItem => ({ endpoint: '/api/proxmox/lxc', body: { vmid: n }, queued_at: 'x' });

async function drain(s: ReturnType<typeof createSpool>): Promise<number[]> {
  const out: number[] = [];
  for (;;) {
    const i = await s.peek();
    if (!i) return out;
    out.push((i.body as { vmid: number }).vmid);
    await s.ack(i);
  }
}

test('items come out in the order they went in, across pushes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = createSpool({ dir, maxItems: 100, log: memoryLogger() });
  await s.open();
  await s.push([it(1), it(2)]);
  await s.push([it(3)]);
  assert.equal(s.depth(), 3);
  assert.deepEqual(await drain(s), [1, 2, 3]);
  assert.equal(s.depth(), 0);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.jsonl')),
    [],
  );
});

test('the spool survives a restart, resuming after the last delivered item', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = createSpool({ dir, maxItems: 100, log: memoryLogger() });
  await a.open();
  await a.push([it(1), it(2), it(3)]);
  await a.push([it(4)]);
  const first = await a.peek();
  await a.ack(first!);
  const b = createSpool({ dir, maxItems: 100, log: memoryLogger() });
  await b.open();
  assert.equal(b.depth(), 3);
  assert.deepEqual(await drain(b), [2, 3, 4]);
  const mode = statSync(join(dir, 'cursor.json')).mode & 0o777;
  assert.equal(mode, 0o600);
});

test('a full spool drops the oldest items with a warning', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = memoryLogger();
  const s = createSpool({ dir, maxItems: 4, log });
  await s.open();
  await s.push([it(1), it(2), it(3)]);
  await s.push([it(4), it(5)]);
  await s.push([it(6)]);
  assert.equal(s.depth(), 4);
  assert.ok(log.lines.some((l) => l.startsWith('[WARN] spool full (4 items): dropped the 1 oldest')));
  const again = createSpool({ dir, maxItems: 4, log });
  await again.open();
  assert.deepEqual(await drain(again), [3, 4, 5, 6]);
});
