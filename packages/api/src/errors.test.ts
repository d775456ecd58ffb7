import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { ApiError, CliError, DeliveryError, ERRORS, NannyError, errorMessage } from './errors.ts';
import { backoffMs } from './backoff.ts';
import { createDeliveryWorker, type DeliveryStore } from './notify/queue.ts';

/** Rows of the table under "## Errors" in docs/api.md: `| HTTP | error | key | when |`. */
function docsErrorTable(): { status: number; code: string; key: string }[] {
  const md = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
  const section = md.split(/^## Errors$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows: { status: number; code: string; key: string }[] = [];
  for (const m of section.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \| `(NANNY_ERR_[A-Z_]+)` \|/gm))
    rows.push({ status: Number(m[1]), code: m[2]!, key: m[3]! });
  return rows;
}

test("docs/api.md's error table lists exactly the catalogue, with the same status and code", () => {
  const documented = docsErrorTable().sort((a, b) => a.key.localeCompare(b.key));
  const catalogue = Object.entries(ERRORS)
    .map(([key, e]) => ({ status: e.status, code: e.code as string, key }))
    .sort((a, b) => a.key.localeCompare(b.key));
  assert.ok(documented.length > 0, 'no error table found under "## Errors"');
  assert.deepEqual(documented, catalogue);
});

test('delivery and CLI errors are catalogued errors with stable keys, cause kept', () => {
  const cause = new Error('ECONNREFUSED');
  const d = new DeliveryError('POST https://hook failed', true, { cause });
  assert.ok(d instanceof NannyError);
  assert.equal(d.key, 'NANNY_ERR_DELIVERY');
  assert.equal(d.retryable, true);
  assert.equal(d.cause, cause);
  const c = new CliError('--uses: a positive integer');
  assert.ok(c instanceof NannyError);
  assert.equal(c.key, 'NANNY_ERR_CLI');
  assert.equal(c.name, 'CliError');
  const a = new ApiError('NANNY_ERR_NOT_FOUND', 'No such alert');
  assert.deepEqual([a.status, a.code], [404, 'not_found']);
});

test('errorMessage reads anything thrown', () => {
  assert.equal(errorMessage(new Error('boom')), 'boom');
  assert.equal(errorMessage('plain'), 'plain');
  assert.equal(errorMessage(42), '42');
});

test('backoff doubles from the base, stops at the cap and never waits less than half', () => {
  assert.equal(
    backoffMs(1, 1000, 60_000, () => 1),
    1000,
  );
  assert.equal(
    backoffMs(3, 1000, 60_000, () => 1),
    4000,
  );
  assert.equal(
    backoffMs(3, 1000, 60_000, () => 0),
    2000,
  );
  assert.equal(
    backoffMs(50, 1000, 60_000, () => 1),
    60_000,
  );
});

test('a failed delivery pass is logged with the stack and the cause', async () => {
  const lines: string[] = [];
  const app = Fastify({ logger: { level: 'error', stream: { write: (l: string) => void lines.push(l) } } });
  const store = {
    claimDeliveries: () =>
      Promise.reject(new Error('claim failed', { cause: new Error('SQLITE_BUSY: database is locked') })),
  } as unknown as DeliveryStore;
  const worker = createDeliveryWorker({ store, notifiers: {} as never, log: app.log });
  assert.equal(await worker.runOnce(), 0);
  const rec = JSON.parse(lines[0]!) as { msg: string; err: { message: string; stack: string } };
  assert.equal(rec.msg, 'delivery pass failed');
  assert.match(rec.err.message, /claim failed: SQLITE_BUSY/);
  assert.match(rec.err.stack, /errors\.test\.ts[\s\S]*caused by: Error: SQLITE_BUSY/);
  await app.close();
});
