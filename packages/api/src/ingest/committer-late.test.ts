/**
 * A node or guest report that a stalled replica commits after a newer one of the same node or guest
 * (storage/ingest-late.test.ts) comes back `stale`: the committer queues no facts for it and runs no
 * listener, so the alert engine never sees the old status or uptime as news.
 */
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import type { FastifyBaseLogger } from 'fastify';
import { DIALECTS } from '../storage/testing.ts';
import type { IngestJob } from '../storage/storage.ts';
import { createGroupCommitter } from './committer.ts';
import type { IngestListener } from './listeners.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const iso = (s: number): string => new Date(T0 + s * 1000).toISOString();
const silent = { error: () => undefined } as unknown as FastifyBaseLogger;

for (const d of DIALECTS)
  test(`${d.name}: a late node or guest report is answered, and neither queued for nor passed to the listeners`, async (t) => {
    const opened = await d.open();
    if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return;
    t.after(opened.cleanup);
    const { storage } = opened;
    const tenant = await storage.ensureTenant('late-listeners', iso(0));
    const agent = await storage.createAgent({
      tenant_id: tenant.id,
      hostname: 'pve1',
      cluster_name: null,
      cluster_fingerprint: null,
      agent_version: null,
      pve_version: null,
      created_at: iso(0),
    });
    const heard: string[] = [];
    const queued: string[] = [];
    const label = (kind: string, receivedAt: string) => `${kind} ${(Date.parse(receivedAt) - T0) / 1000}`;
    const listener: IngestListener = {
      name: 'record',
      afterIngest: (r) => void heard.push(label(r.kind, r.receivedAt)),
      queue: (r) => {
        queued.push(label(r.kind, r.receivedAt));
        return [];
      },
    };
    const committer = createGroupCommitter(storage, [listener], silent);
    const job = (kind: 'node' | 'lxc', payload: Record<string, unknown>, at: number): IngestJob => ({
      tenantId: tenant.id,
      agentId: agent.id,
      tokenVersion: agent.token_version,
      kind,
      payload,
      receivedAt: iso(at),
    });
    const node = (at: number) => job('node', { name: 'pve1', uptime_seconds: 1000 + at }, at);
    const guest = (at: number, status: string) => job('lxc', { vmid: 101, node: 'pve1', status }, at);
    for (const j of [node(0), guest(1, 'running'), node(60), guest(61, 'running')]) await committer.submit(j);
    const late = await Promise.all([committer.submit(guest(30, 'stopped')), committer.submit(node(31))]);
    await committer.drain();
    assert.deepEqual(
      late.map((o) => o.ok && o.stale),
      [true, true],
    );
    const expected = ['node 0', 'lxc 1', 'node 60', 'lxc 61'];
    assert.deepEqual(heard, expected);
    assert.deepEqual(queued, expected);
  });
