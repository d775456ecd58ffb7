/**
 * The route contract as a whole: every route answers through a response schema, /openapi.json
 * describes every answer, the schemas drop nothing a handler returns, query strings are coerced
 * and bounded, bodies other than the spec's are strict.
 */
import { test } from '@nanny/testing';
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { makeTestApp, SPEC, type TestApp } from '../testing.ts';
import { applyBatch } from '../storage/testing.ts';
import { createAlertStore } from '../storage/alerts.ts';
import { testNotification } from '../notify/message.ts';

/** `METHOD /path` of every route, from Fastify's own route tree. */
function routesOf(app: FastifyInstance): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│├└─ ]*)(\S.*?) \(([A-Z, ]+)\)$/u.exec(line);
    if (!m) continue;
    const depth = Math.floor(m[1]!.length / 4);
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + m[2]!;
    stack[depth] = path;
    for (const method of m[3]!.split(', ')) if (method !== 'HEAD') out.push(`${method} ${path}`);
  }
  return out;
}

/** OpenAPI path of a Fastify path: `/api/nodes/:id` → `/api/nodes/{id}`. */
const openapiPath = (p: string) => p.replace(/:(\w+)/g, '{$1}');

// Routes that are not JSON API answers, so have no JSON response schema, each with why.
const NOT_JSON = new Map<string, string>([
  ['GET /', 'the dashboard page (HTML)'],
  ['GET /assets/:file', 'dashboard files'],
  ['GET /openapi.json', 'the OpenAPI document itself'],
  ['GET /api/stream', 'server-sent events (text/event-stream): the dashboard’s live feed'],
  ['GET /docs', 'the Swagger UI page'],
  ['GET /docs/', 'the Swagger UI page'],
  ['GET /docs/static/index.html', 'Swagger UI files'],
  ['GET /docs/static/swagger-initializer.js', 'Swagger UI files'],
  ['GET /docs/*', 'Swagger UI files'],
  ['GET /docs/json', 'the OpenAPI document (Swagger UI copy)'],
  ['GET /docs/yaml', 'the OpenAPI document as YAML'],
]);

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
type OpenApi = { paths: Record<string, Record<string, Operation>>; components?: unknown };

describe('route contract', () => {
  let t: TestApp;
  let read: string;
  let write: string;
  let cookie: string;
  /** per request: the JSON the handler returned, and what went on the wire */
  const seen = new Map<string, { returned: string; sent?: string }>();

  before(async () => {
    t = await makeTestApp({
      adminPassword: 'admin-password-1',
      // the channel created below posts to a loopback receiver
      allowedChannelNetworks: ['127.0.0.0/8'],
    });
    // Record the handler's payload before the response schema serializes it.
    t.app.addHook('preSerialization', async (req, _reply, payload) => {
      seen.set(req.id, { returned: JSON.stringify(payload) });
      return payload;
    });
    t.app.addHook('onSend', async (req, _reply, payload) => {
      const s = seen.get(req.id);
      if (s && typeof payload === 'string') s.sent = payload;
      return payload;
    });
    await t.app.ready();
    const a = await t.register('pve-node-01', { cluster_name: 'production-cluster' });
    for (const k of ['cluster', 'node', 'lxc', 'qemu'] as const)
      assert.equal((await t.post(`/api/proxmox/${k}`, a.access, SPEC[k])).status, 200);
    // a second report changes the guest, so it has status and config history
    const lxc = { ...SPEC.lxc, status: 'stopped', memory_mb: 4096 };
    assert.equal((await t.post('/api/proxmox/lxc', a.access, lxc)).status, 200);
    await t.app.nanny.committer.drain();
    read = await t.pat('read');
    write = await t.pat('write');
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'admin', password: 'admin-password-1' },
    });
    assert.equal(login.statusCode, 200, login.body);
    cookie = String(login.headers['set-cookie']).split(';')[0]!;
  });
  after(async () => t.app.close());

  test('every route answers 200 through a response schema, or is a named non-JSON route', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApi>();
    const routes = routesOf(t.app);
    assert.ok(routes.length > 40, `found ${routes.length} routes`);
    const missing: string[] = [];
    for (const r of routes) {
      if (NOT_JSON.has(r)) continue;
      const [method, path] = r.split(' ') as [string, string];
      const op = doc.paths[openapiPath(path)]?.[method.toLowerCase()];
      const ok = op?.responses?.['200'] ?? op?.responses?.['201'];
      if (!ok?.content || !Object.values(ok.content).some((c) => c.schema)) missing.push(r);
      else if (!op?.responses?.['default']) missing.push(`${r} (no error envelope)`);
    }
    assert.deepEqual(missing, []);
  });

  test('/openapi.json describes the read answers field by field, nullable fields as nullable', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApi>();
    const data = (path: string) => {
      const schema = doc.paths[path]?.['get']?.responses?.['200']?.content?.['application/json']?.schema as
        { properties?: Record<string, Record<string, unknown>> } | undefined;
      assert.ok(schema?.properties, `${path}: no 200 schema`);
      const d = schema.properties['data'] as {
        type?: string;
        items?: { properties?: Record<string, Record<string, unknown>> };
        properties?: Record<string, Record<string, unknown>>;
      };
      assert.ok(d, `${path}: no data`);
      const props = d.type === 'array' ? d.items?.properties : d.properties;
      assert.ok(props, `${path}: data has no properties`);
      return props;
    };
    for (const path of [
      '/api/clusters',
      '/api/clusters/{id}',
      '/api/nodes',
      '/api/nodes/{id}',
      '/api/guests',
      '/api/guests/{id}',
      '/api/events',
      '/api/alerts',
      '/api/alerts/{id}',
      '/api/alerts/rules',
      '/api/alerts/silences',
      '/api/notification-channels',
      '/api/notification-channels/{id}',
      '/api/notification-channels/{id}/deliveries',
      '/api/tokens',
      '/api/enrollment-tokens',
      '/api/agents',
    ])
      assert.ok(Object.keys(data(path)).length >= 3, path);
    assert.deepEqual(data('/api/nodes')['mem_used_bytes'], { type: 'number', nullable: true });
    assert.equal(data('/api/guests')['name']?.['nullable'], true);
    assert.equal(data('/api/guests')['vmid']?.['type'], 'integer');
    assert.equal(data('/api/guests')['vmid']?.['nullable'], undefined);
    assert.ok(data('/api/nodes/{id}')['history'], 'node history is described');
    assert.ok(data('/api/guests/{id}')['config_versions'], 'guest config history is described');
    const guests = doc.paths['/api/guests']?.['get'] as {
      parameters?: { name: string; in: string; schema: Record<string, unknown> }[];
    };
    const limit = guests.parameters?.find((p) => p.name === 'limit' && p.in === 'query');
    assert.deepEqual(
      { type: limit?.schema['type'], minimum: limit?.schema['minimum'], maximum: limit?.schema['maximum'] },
      { type: 'integer', minimum: 1, maximum: 1000 },
    );
  });

  test('the response schemas drop and change nothing a read route returns', async () => {
    const g = (await t.get('/api/guests?include_gone=true', read)).json.data as { id: string }[];
    const n = (await t.get('/api/nodes', read)).json.data as { id: string }[];
    const c = (await t.get('/api/clusters?include_standalone=1', read)).json.data as { id: string }[];
    assert.ok(g.length >= 2 && n.length >= 1 && c.length >= 1);
    // an alert, a silence and a channel, so their lists are not empty
    const tenant = await t.storage.ensureTenant('default', new Date().toISOString());
    assert.equal(
      (
        await t.post('/api/alerts/silences', write, {
          rule: 'quorum_lost',
          duration_seconds: 600,
          comment: 'maintenance',
        })
      ).status,
      201,
    );
    const ch = await t.post('/api/notification-channels', write, {
      type: 'webhook',
      name: 'hook',
      url: 'http://127.0.0.1:9/hook',
      secret: 's3cret',
    });
    assert.equal(ch.status, 201, JSON.stringify(ch.json));
    const channelId = (ch.json['data'] as { id: string }).id;
    // an alert with a queued delivery, as the engine stores one
    const at = new Date().toISOString();
    await applyBatch(t.storage.extend(createAlertStore), {
      tenantId: tenant.id,
      upserts: [],
      deletes: [],
      resolves: [],
      fires: [
        {
          alert: {
            id: 'alert-1',
            tenant_id: tenant.id,
            dedup_key: 'quorum_lost|c',
            rule: 'quorum_lost',
            severity: 'critical',
            state: 'firing',
            summary: 'quorum lost',
            resolve_summary: null,
            cluster_id: c[0]!.id,
            cluster_name: 'production-cluster',
            node: null,
            vmid: null,
            started_at: at,
            resolved_at: null,
            acknowledged_by: null,
            acknowledged_at: null,
            silenced: 0,
          },
          deliveries: [
            {
              id: 'delivery-1',
              tenantId: tenant.id,
              channelId,
              alertId: 'alert-1',
              event: 'firing',
              payload: testNotification('hook', Date.now()),
              idempotencyKey: 'k1',
              nextAttemptAt: Date.now() + 3600_000,
              createdAt: at,
            },
          ],
        },
      ],
    });
    const ack = await t.post('/api/alerts/alert-1/acknowledge', write, {});
    assert.equal(ack.status, 200, JSON.stringify(ack.json));
    assert.equal(
      (
        await t.app.inject({
          method: 'PUT',
          url: '/api/alerts/settings',
          headers: auth(write),
          payload: { rules: { cpu_high: { trigger: 0.95 } } },
        })
      ).statusCode,
      200,
    );
    const paths = [
      '/api/clusters?include_standalone=true',
      `/api/clusters/${c[0]!.id}`,
      '/api/nodes',
      `/api/nodes/${n[0]!.id}?from=2000-01-01T00:00:00Z`,
      `/api/nodes/${n[0]!.id}/history?resolution=raw`,
      ...g.map((x) => `/api/guests/${x.id}/history?resolution=raw`),
      '/api/guests?include_gone=true',
      ...g.map((x) => `/api/guests/${x.id}`),
      '/api/events?limit=1000',
      '/api/alerts',
      '/api/alerts/alert-1',
      '/api/alerts/rules',
      '/api/alerts/settings',
      '/api/alerts/silences',
      '/api/notification-channels',
      `/api/notification-channels/${channelId}`,
      `/api/notification-channels/${channelId}/deliveries`,
      '/api/tokens',
      '/api/auth/me',
      '/api/enrollment-tokens',
      '/api/agents',
      '/healthz',
      '/readyz',
    ];
    let compared = 0;
    for (const path of paths) {
      seen.clear();
      // the personal-token and account routes are for a logged-in user
      const headers = /^\/api\/(tokens|auth)/.test(path) ? { cookie } : auth(write);
      const r = await t.app.inject({ method: 'GET', url: path, headers });
      assert.equal(r.statusCode, 200, `${path}: ${r.body}`);
      const [s] = [...seen.values()];
      assert.ok(s?.sent, `${path}: not seen`);
      assert.deepEqual(JSON.parse(s.sent), JSON.parse(s.returned), path);
      compared++;
    }
    assert.equal(compared, paths.length);
    // the lists were not empty, so their items went through the item schemas
    for (const path of [
      '/api/events',
      '/api/alerts',
      '/api/alerts/silences',
      '/api/notification-channels',
      `/api/notification-channels/${channelId}/deliveries`,
      '/api/tokens',
    ]) {
      const r = await t.app.inject({
        method: 'GET',
        url: path,
        headers: path === '/api/tokens' ? { cookie } : auth(write),
      });
      const data = r.json<{ data: unknown[] }>().data;
      assert.ok(data.length > 0, `${path} is empty`);
    }
  });

  test('query strings are coerced to integers and bounded; a bad value is a 400 in the error envelope', async () => {
    const p = await t.get('/api/guests?limit=1&offset=1', read);
    assert.equal(p.status, 200);
    assert.equal(p.json['limit'], 1);
    assert.equal(p.json['offset'], 1);
    for (const q of [
      '/api/guests?limit=abc',
      '/api/guests?limit=0',
      '/api/guests?limit=1001',
      '/api/guests?limit=1.5',
      '/api/guests?offset=-1',
      '/api/events?limit=2000',
      '/api/alerts?limit=0',
      '/api/alerts?state=open',
      '/api/guests?include_gone=maybe',
      '/api/nodes/x?limit=10001',
      '/api/nodes/x/history?max_points=20001',
      '/api/guests/x/history?resolution=1d',
    ]) {
      const r = await t.get(q, read);
      assert.equal(r.status, 400, q);
      assert.equal(r.json['success'], false, q);
      assert.equal(r.json['error'], 'invalid_request', q);
      assert.equal(typeof r.json['error_description'], 'string', q);
    }
    const bad = await t.get('/api/guests?limit=1001', read);
    assert.match(String(bad.json['error_description']), /limit/);
  });

  test('bodies of the non-ingest endpoints are strict; the spec’s ingest bodies keep accepting extra fields', async () => {
    const session = await t.app.inject({
      method: 'POST',
      url: '/api/tokens',
      headers: { ...auth(write), 'content-type': 'application/json' },
      payload: { name: 'y', scop: 'write' },
    });
    // a personal token cannot create tokens: the body is checked first, so the typo is what is reported
    assert.equal(session.statusCode, 400, session.body);
    assert.equal(session.json().error, 'invalid_request');
    assert.match(session.json().error_description, /scop/);
    for (const [url, body] of [
      ['/api/auth/login', { username: 'admin', password: 'x', remember: true }],
      ['/api/enrollment-tokens', { usse: 3 }],
      ['/api/alerts/silences', { duration_seconds: 60, rulez: 'x' }],
      ['/api/alerts/settings', { rules: {}, extra: 1 }],
    ] as const) {
      const r = await t.app.inject({
        method: url === '/api/alerts/settings' ? 'PUT' : 'POST',
        url,
        headers: { ...auth(write), 'content-type': 'application/json' },
        payload: body,
      });
      assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
      assert.equal(r.json().error, 'invalid_request', url);
    }
    const a = await t.register('pve-extra');
    const r = await t.post('/api/proxmox/lxc', a.access, { ...SPEC.lxc, vmid: 150, some_future_field: 'x' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    // and a body number is never coerced from a string (only query strings are)
    const s = await t.post('/api/proxmox/lxc', a.access, { ...SPEC.lxc, vmid: '151' });
    assert.equal(s.status, 400);
  });
});

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
