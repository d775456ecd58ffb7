import { after, before, describe } from 'node:test';
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, SPEC, type TestApp } from './testing.ts';
import { DIALECTS } from './storage/testing.ts';
import type { IngestRecord } from './ingest/listeners.ts';

describe('read API', () => {
  let t: TestApp;
  let read: string;
  const records: IngestRecord[] = [];
  before(async () => {
    t = await makeTestApp({}, { listeners: [{ name: 'test', afterIngest: (r) => void records.push(r) }] });
    const a = await t.register();
    for (const k of ['cluster', 'node', 'lxc', 'qemu'] as const)
      assert.equal((await t.post(`/api/proxmox/${k}`, a.access, SPEC[k])).status, 200);
    read = await t.pat('read');
  });
  after(async () => t.app.close());

  test('the spec’s curl bodies read back as a cluster with its node and two guests', async () => {
    const c = await t.get('/api/clusters', read);
    const clusters = c.json.data as Record<string, unknown>[];
    assert.equal(clusters.length, 1);
    assert.equal(clusters[0]!['cluster_name'], 'production-cluster');
    for (const k of ['id', 'cluster_name', 'quorate', 'nodes', 'version']) assert.ok(k in clusters[0]!, k);
    const one = await t.get(`/api/clusters/${String(clusters[0]!['id'])}`, read);
    assert.equal((one.json.data as { node_list: unknown[] }).node_list.length, 1);
    const nodes = (await t.get('/api/nodes', read)).json.data as Record<string, unknown>[];
    assert.equal(nodes.length, 1);
    for (const k of ['id', 'name', 'cluster_id', 'online', 'pve_version', 'last_seen'])
      assert.ok(k in nodes[0]!, k);
    assert.equal(nodes[0]!['cluster_id'], clusters[0]!['id']);
    const node = await t.get(`/api/nodes/${String(nodes[0]!['id'])}`, read);
    assert.equal((node.json.data as { history: { samples: unknown[] } }).history.samples.length, 1);
    const guests = await t.get('/api/guests', read);
    assert.equal(guests.json['total'], 2);
    const g = (guests.json.data as Record<string, unknown>[]).find((x) => x['vmid'] === 100)!;
    for (const k of ['id', 'vmid', 'type', 'name', 'node', 'status', 'tags']) assert.ok(k in g, k);
    assert.equal(g['type'], 'lxc');
    assert.deepEqual(g['tags'], ['production', 'web', 'nginx']);
  });

  test('a guest shows its parsed config and config history', async () => {
    const list = (await t.get('/api/guests?type=lxc', read)).json.data as { id: string }[];
    const d = (await t.get(`/api/guests/${list[0]!.id}`, read)).json.data as Record<string, unknown>;
    const nets = d['networks'] as Record<string, unknown>[];
    assert.equal(nets[0]!['bridge'], 'vmbr0');
    assert.equal(nets[0]!['ip'], '10.0.1.100/24');
    const disks = d['disks'] as Record<string, unknown>[];
    assert.equal(disks[0]!['key'], 'rootfs');
    assert.equal((d['config_versions'] as unknown[]).length, 1);
  });

  test('filters and paging: type, text, limit/offset; bad paging is a 400', async () => {
    assert.equal((await t.get('/api/guests?type=qemu', read)).json['total'], 1);
    assert.equal((await t.get('/api/guests?q=db-prod', read)).json['total'], 1);
    assert.equal((await t.get('/api/guests?tag=nginx', read)).json['total'], 1);
    const p = await t.get('/api/guests?limit=1&offset=1', read);
    assert.equal((p.json.data as unknown[]).length, 1);
    assert.equal((await t.get('/api/guests?limit=abc', read)).status, 400);
    assert.equal((await t.get('/api/guests?limit=0', read)).status, 400);
  });

  test('events list first_seen for cluster, node and guests', async () => {
    const ev = (await t.get('/api/events', read)).json.data as { type: string; subject: string }[];
    assert.equal(ev.filter((e) => e.type === 'first_seen').length, 4);
  });

  test('unknown ids are 404 not_found; no credentials is 401', async () => {
    assert.equal((await t.get('/api/guests/nope', read)).json['error'], 'not_found');
    const r = await t.app.inject({ method: 'GET', url: '/api/clusters' });
    assert.equal(r.statusCode, 401);
  });

  test('ingest listeners receive every committed report with its events', async () => {
    await t.app.nanny.committer.drain();
    assert.deepEqual(
      records.map((r) => r.kind),
      ['cluster', 'node', 'lxc', 'qemu'],
    );
    assert.ok(records[2]!.guestId);
    assert.equal(records[2]!.events[0]!.type, 'first_seen');
    assert.equal(records[0]!.payload['cluster_name'], 'production-cluster');
  });
});

describe('tenant isolation over HTTP', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
    await t.storage.createTenant('acme', new Date().toISOString());
  });
  after(async () => t.app.close());

  test('one organisation’s token never reads another’s clusters, nodes, guests or events', async () => {
    const a = await t.register('pve-acme', {}, 'acme');
    for (const k of ['cluster', 'node', 'lxc'] as const)
      assert.equal((await t.post(`/api/proxmox/${k}`, a.access, SPEC[k])).status, 200);
    const acme = await t.pat('read', 'acme');
    const mine = await t.pat('write');
    const acmeGuest = ((await t.get('/api/guests', acme)).json.data as { id: string }[])[0]!;
    assert.ok(acmeGuest);
    for (const path of ['/api/clusters', '/api/nodes', '/api/guests', '/api/events', '/api/agents'])
      assert.deepEqual((await t.get(path, mine)).json.data, [], path);
    assert.equal((await t.get(`/api/guests/${acmeGuest.id}`, mine)).status, 404);
    assert.equal((await t.post(`/api/agents/${a.agentId}/revoke`, mine, {})).status, 404);
    const metrics = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${mine}` },
    });
    assert.equal(metrics.body.includes('pve-node-01'), false);
  });
});

describe('hardening and operations', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp({ bodyLimitBytes: 4096, rateLimit: 5, rateLimitIp: 0 });
  });
  after(async () => t.app.close());

  test('a body over the limit is 413 payload_too_large', async () => {
    const a = await t.register();
    const r = await t.post('/api/proxmox/lxc', a.access, { ...SPEC.lxc, description: 'x'.repeat(5000) });
    assert.equal(r.status, 413);
    assert.equal(r.json['error'], 'payload_too_large');
  });

  test('the per-token rate limit answers 429 rate_limited with Retry-After', async () => {
    const a = await t.register('limited');
    const statuses: number[] = [];
    let retry: string | undefined;
    for (let i = 0; i < 7; i++) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/api/proxmox/node',
        headers: { authorization: `Bearer ${a.access}` },
        payload: SPEC.node,
      });
      statuses.push(r.statusCode);
      if (r.statusCode === 429) {
        retry = r.headers['retry-after'] as string;
        assert.equal(r.json().error, 'rate_limited');
      }
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
    assert.ok(Number(retry) >= 1 && Number(retry) <= 60);
  });

  test('responses carry security headers', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/clusters' });
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.match(String(r.headers['content-security-policy']), /default-src 'none'/);
  });

  test('healthz, readyz, the OpenAPI document and its page answer', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.match(doc.openapi, /^3\./);
    for (const p of ['/api/proxmox/lxc', '/api/agent/register', '/api/guests', '/api/guests/{id}'])
      assert.ok(doc.paths[p], p);
    const page = await t.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger/i);
  });

  test('metrics show fleet gauges and server metrics in the Prometheus text format', async () => {
    const a = await t.register('metrics-agent');
    await t.post('/api/proxmox/cluster', a.access, SPEC.cluster);
    await t.post('/api/proxmox/node', a.access, { ...SPEC.node, cpu_usage_ratio: 0.25, uptime_seconds: 99 });
    await t.post('/api/proxmox/lxc', a.access, SPEC.lxc);
    const read = await t.pat('read');
    assert.equal((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
    const r = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${read}` },
    });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /text\/plain; version=0.0.4/);
    assert.match(r.body, /^nanny_cluster_quorate\{cluster="production-cluster",cluster_id="[^"]+"\} 1$/m);
    assert.match(
      r.body,
      /^nanny_node_cpu_usage_ratio\{cluster="production-cluster",node="pve-node-01"\} 0.25$/m,
    );
    assert.match(r.body, /^nanny_node_uptime_seconds\{.*\} 99$/m);
    assert.match(r.body, /^nanny_guest_running\{.*vmid="100".*status="running"\} 1$/m);
    assert.match(r.body, /^nannyapi_ingest_reports_total\{kind="lxc"\} \d+$/m);
    assert.match(r.body, /^process_resident_memory_bytes \d+$/m);
  });
});

for (const dialect of DIALECTS) {
  test(`parallel first reports of three agents over HTTP give one cluster (${dialect.name})`, async (t) => {
    const opened = await dialect.open();
    if (!requires(t, 'postgres', opened !== undefined, dialect.skipReason) || !opened) return;
    const app = await makeTestApp({}, { storage: opened.storage });
    try {
      const agents = await Promise.all(['pve1', 'pve2', 'pve3'].map((h) => app.register(h)));
      const fp = { cluster_fingerprint: '9'.repeat(64) };
      const rs = await Promise.all(
        agents.flatMap((a, i) => [
          // naming its node, as nannyagent does: a fresh agent's cluster report naming none is
          // refused once another agent reports for the cluster (issue 13)
          app.post('/api/proxmox/cluster', a.access, {
            ...SPEC.cluster,
            ...fp,
            reporting_node: `pve${i + 1}`,
          }),
          app.post('/api/proxmox/node', a.access, {
            ...SPEC.node,
            ...fp,
            cluster_name: 'production-cluster',
            name: `pve${i + 1}`,
          }),
          // each agent reports its own node's guests (issue 13, M2); one guest, migrated to pve1
          app.post('/api/proxmox/lxc', a.access, {
            ...SPEC.lxc,
            ...fp,
            cluster_name: 'production-cluster',
            node: `pve${i + 1}`,
            vmid: 100 + i,
          }),
        ]),
      );
      assert.deepEqual(
        rs.map((r) => r.status),
        Array(9).fill(200),
      );
      const read = await app.pat('read');
      const clusters = (await app.get('/api/clusters', read)).json.data as { nodes_reporting: number }[];
      assert.equal(clusters.length, 1);
      assert.equal(clusters[0]!.nodes_reporting, 3);
      assert.equal((await app.get('/api/guests', read)).json['total'], 3);
    } finally {
      await app.app.close();
      await opened.cleanup();
    }
  });
}

test('a storage failure is a 500 server_error without details; the next request works', async () => {
  const { createKyselyStorage } = await import('./storage/kysely-storage.ts');
  const real = await createKyselyStorage({ sqliteFile: ':memory:' });
  let fail = true;
  const storage = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'ingest' && fail)
        return async () => {
          throw new Error('disk on fire: secret detail');
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const t = await makeTestApp({}, { storage });
  try {
    const a = await t.register();
    const r = await t.post('/api/proxmox/node', a.access, SPEC.node);
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, {
      success: false,
      error: 'server_error',
      error_description: 'Storing the report failed',
    });
    fail = false;
    assert.equal((await t.post('/api/proxmox/node', a.access, SPEC.node)).status, 200);
  } finally {
    await t.app.close();
    await real.close();
  }
});
