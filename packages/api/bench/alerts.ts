/**
 * Alert benchmark (not a test). Measures, on this machine:
 *   1. latency from sending the ingest that reports a problem (a non-quorate cluster) over real
 *      HTTP to the webhook request arriving at a receiver on loopback; the same for the resolve
 *   2. the pure engine's cost per node report with 10 and with 10,000 nodes in the state, and per
 *      guest report with 10 and 100,000 guests
 *   3. the same through the whole service (evaluation + the persisted state), 10 vs 10,000 nodes
 *
 *   node --import tsx packages/api/bench/alerts.ts [--rounds 30] [--evals 200000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { launch } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config.ts';
import { TOKEN_PREFIX, hashToken, newToken } from '../src/auth/tokens.ts';
import { createState, evaluate } from '../src/alerts/engine.ts';
import type { EngineState, GuestFact, NodeFact } from '../src/alerts/types.ts';
import { createAlertService } from '../src/alerts/service.ts';
import { createKyselyStorage } from '../src/storage/kysely-storage.ts';
import { createAlertStore } from '../src/storage/alerts.ts';
import { startHttpReceiver } from '../src/notify/testing.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function latency(rounds: number) {
  const dir = mkdtempSync(join(tmpdir(), 'nanny-bench-alerts-'));
  const hook = await startHttpReceiver();
  const { config } = loadConfig({
    NANNYAPI_DATA_DIR: dir,
    NANNYAPI_RATE_LIMIT: '0',
    NANNYAPI_RATE_LIMIT_IP: '0',
    NANNYAPI_LOG_LEVEL: 'warn',
    NANNYAPI_ALLOWED_CHANNEL_NETWORKS: '127.0.0.0/8', // the receiver is on loopback
  });
  const app = await launch(config);
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const storage = app.nanny.storage;
    const tenant = await storage.ensureTenant('default', new Date().toISOString());
    const pat = newToken(TOKEN_PREFIX.personal);
    await storage.createApiToken(
      {
        tenant_id: tenant.id,
        user_id: null,
        name: 'bench',
        scope: 'write',
        created_at: new Date().toISOString(),
      },
      hashToken(pat),
    );
    const enrollment = newToken(TOKEN_PREFIX.enrollment);
    await storage.createEnrollmentToken(
      {
        tenant_id: tenant.id,
        max_uses: 1,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        created_at: new Date().toISOString(),
      },
      hashToken(enrollment),
    );
    const post = (path: string, token: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const reg = (await (
      await fetch(`${base}/api/agent/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ enrollment_token: enrollment, hostname: 'pve1', cluster_name: 'prod' }),
      })
    ).json()) as { access_token: string };
    const ch = await post('/api/notification-channels', pat, {
      type: 'webhook',
      name: 'bench',
      url: `${hook.url}/b`,
      secret: 'k',
    });
    if (ch.status !== 201) throw new Error(`channel: ${ch.status} ${await ch.text()}`);
    const cluster = (quorate: number) => ({
      cluster_name: 'prod',
      cluster_id: 'cluster',
      nodes: 3,
      quorate,
      reporting_node: 'pve1',
    });
    const fire: number[] = [];
    const resolve: number[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const [q, out] of [
        [0, fire],
        [1, resolve],
      ] as const) {
        const n = hook.received.length;
        const t0 = performance.now();
        const r = await post('/api/proxmox/cluster', reg.access_token, cluster(q));
        if (r.status !== 200) throw new Error(`ingest: ${r.status}`);
        await r.arrayBuffer();
        await hook.waitFor(n + 1, 5000);
        out.push(performance.now() - t0);
      }
    }
    return { fire, resolve };
  } finally {
    await app.close();
    await hook.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function nodeFact(i: number, at: number): NodeFact {
  return {
    kind: 'node',
    clusterId: `c${i % 100}`,
    clusterName: `cluster-${i % 100}`,
    node: `pve${i}`,
    at,
    collectedAt: at,
    intervalSeconds: 60,
    pveVersion: 'pve-manager/8.4.1/2a5fa54a8503f96d',
    uptimeSeconds: 100_000 + at / 1000,
    cpuRatio: 0.3 + (i % 7) / 100,
    memUsed: 40e9,
    memTotal: 64e9,
    swapUsed: 0,
    swapTotal: 8e9,
    rootfsUsed: 30e9,
    rootfsTotal: 100e9,
    load5: 2,
    cpuThreads: 16,
  };
}

function fill(n: number): EngineState {
  const st = createState();
  for (let i = 0; i < n; i++) evaluate(st, nodeFact(i, 0), 0);
  return st;
}

function engineCost(nodes: number, evals: number): number {
  const st = fill(nodes);
  let at = 60_000;
  // warm-up
  for (let i = 0; i < 20_000; i++) evaluate(st, nodeFact(i % nodes, at), at);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < evals; i++) {
    if (i % nodes === 0) at += 60_000;
    evaluate(st, nodeFact(i % nodes, at), at);
  }
  return Number(process.hrtime.bigint() - t0) / evals / 1000; // µs
}

function guestCost(guests: number, evals: number): number {
  const st = createState();
  const fact = (i: number, at: number): GuestFact => ({
    kind: 'guest',
    clusterId: `c${i % 100}`,
    at,
    vmid: 100 + i,
    guestType: 'lxc',
    name: `ct${i}`,
    node: `pve${i % 1000}`,
    status: 'running',
    tags: ['prod'],
  });
  for (let i = 0; i < guests; i++) evaluate(st, fact(i, 0), 0);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < evals; i++) evaluate(st, fact(i % guests, i), i);
  return Number(process.hrtime.bigint() - t0) / evals / 1000;
}

async function serviceCost(nodes: number, evals: number): Promise<number> {
  const storage = await createKyselyStorage({ sqliteFile: ':memory:' });
  const store = storage.extend(createAlertStore);
  const service = createAlertService({ store, tickMs: 3600_000 });
  try {
    await service.start();
    let at = Date.parse('2026-11-25T00:00:00Z');
    const payload = (i: number) => ({
      name: `pve${i}`,
      pve_version: 'pve-manager/8.4.1/2a5fa54a8503f96d',
      uptime_seconds: 100_000,
      cpu_usage_ratio: 0.3,
      mem_used_bytes: 40e9,
      mem_total_bytes: 64e9,
      interval_seconds: 60,
    });
    for (let i = 0; i < nodes; i++)
      await service.onIngest({
        tenantId: 't',
        kind: 'node',
        clusterId: `c${i % 100}`,
        payload: payload(i),
        receivedAt: at,
      });
    await service.flush();
    const t0 = process.hrtime.bigint();
    // As the server does it: the ingest batch queues the facts, the leader evaluates them in
    // batches of up to 1000 and commits each batch with its state changes and queue removal.
    let rows: { tenantId: string; body: string }[] = [];
    for (let i = 0; i < evals; i++) {
      if (i % nodes === 0) at += 60_000;
      rows.push(
        ...service.queueRows({
          tenantId: 't',
          kind: 'node',
          clusterId: `c${i % 100}`,
          payload: payload(i % nodes),
          receivedAt: at,
        }),
      );
      if (rows.length >= 1000) {
        await store.enqueue(rows);
        await service.flush();
        rows = [];
      }
    }
    await store.enqueue(rows);
    await service.flush();
    return Number(process.hrtime.bigint() - t0) / evals / 1000;
  } finally {
    await service.stop();
    await storage.close();
  }
}

const rounds = arg('rounds', 30);
const evals = arg('evals', 200_000);
const lat = await latency(rounds);
console.log(
  `ingest → webhook, quorum lost  (${rounds} rounds): median ${fmt(pct(lat.fire, 50))}, p95 ${fmt(pct(lat.fire, 95))}, max ${fmt(Math.max(...lat.fire))}`,
);
console.log(
  `ingest → webhook, resolved     (${rounds} rounds): median ${fmt(pct(lat.resolve, 50))}, p95 ${fmt(pct(lat.resolve, 95))}, max ${fmt(Math.max(...lat.resolve))}`,
);
for (const n of [10, 10_000])
  console.log(
    `engine evaluate() per node report, ${String(n).padStart(6)} nodes in state: ${engineCost(n, evals).toFixed(2)} µs`,
  );
for (const n of [10, 100_000])
  console.log(
    `engine evaluate() per guest report, ${String(n).padStart(6)} guests in state: ${guestCost(n, evals).toFixed(2)} µs`,
  );
for (const n of [10, 10_000]) {
  const us = await serviceCost(n, Math.min(evals, 50_000));
  console.log(
    `queue + leader evaluation per node report incl. state write, ${String(n).padStart(6)} nodes: ${us.toFixed(2)} µs`,
  );
}
