/**
 * Issue 13, Low: bad dates and bad ids answer inside the error envelope on every read route, on
 * both databases. The walk takes every GET route and its query parameters from /openapi.json, so a
 * route added later is walked too: an id that is not one of ours is a 404 `not_found` (or a 400
 * when it breaks the parameter's own bounds), a date that is not one is a 400 `invalid_request`,
 * and nothing is a 500 or Fastify's own JSON.
 */
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, SPEC } from '../testing.ts';
import { DIALECTS } from '../storage/testing.ts';

interface Param {
  name: string;
  in: string;
  schema?: { type?: string; format?: string; description?: string; maxLength?: number };
  description?: string;
}
type OpenApi = { paths: Record<string, Record<string, { parameters?: Param[] }>> };

/** ids that are not ours: words, huge numbers, negative, fractional, control and invalid UTF-8 bytes */
const BAD_IDS = [
  'abc',
  '999999999999999999999',
  '-1',
  '0',
  '1.5',
  '1e400',
  '%00',
  '%C0%AF',
  '%27%20or%201=1--',
  '00000000-0000-0000-0000-000000000000',
  'x'.repeat(64),
  'x'.repeat(300),
];
/** values a query parameter (a date, a number, an id, a name) must survive */
const BAD_VALUES = [
  'notadate',
  '2024-13-45T99:99:99Z',
  '2024-02-30',
  '999999999999999999999',
  '-1',
  '1e400',
  '%00',
  '%C0%AF',
  '%27',
  '',
  'x'.repeat(300),
];
/** query parameters that are times: a bad one is always a 400 */
const isTime = (p: Param) => /^(since|until|from|to|before|after)$/.test(p.name);

for (const d of DIALECTS) {
  test(`bad ids and bad dates on every read route answer in the error envelope (${d.name})`, async (t) => {
    const opened = await d.open();
    if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return;
    t.after(opened.cleanup);
    const a = await makeTestApp({}, { storage: opened.storage });
    t.after(() => a.app.close());
    // Some data, so the filters have rows to filter.
    const agent = await a.register('pve-node-01', { cluster_name: 'production-cluster' });
    for (const k of ['cluster', 'node', 'lxc', 'qemu'] as const)
      assert.equal((await a.post(`/api/proxmox/${k}`, agent.access, SPEC[k])).status, 200);
    const admin = await a.pat('write');
    const doc = (await a.app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApi>();
    const realIds = new Map<string, string>();
    for (const list of ['/api/clusters', '/api/nodes', '/api/guests']) {
      const r = await a.get(list, admin);
      const first = (r.json.data as { id: string }[])[0];
      assert.ok(first, `${list} is empty`);
      realIds.set(list, first.id);
    }
    const problems: string[] = [];
    let walked = 0;
    const check = async (url: string, expect: 'id' | 'time' | 'any') => {
      walked++;
      const r = await a.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${admin}` } });
      const say = (what: string) =>
        problems.push(`${url} → ${r.statusCode} ${r.body.slice(0, 160)}: ${what}`);
      if (r.statusCode >= 500) return say('server error');
      if (r.statusCode < 300) {
        if (expect !== 'any') say('accepted');
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = r.json();
      } catch {
        return say('not JSON');
      }
      if (body['success'] !== false || typeof body['error_description'] !== 'string')
        return say('not the error envelope');
      const allowed =
        expect === 'time'
          ? [[400, 'invalid_request']]
          : [
              [400, 'invalid_request'],
              [404, 'not_found'],
            ];
      if (!allowed.some(([s, c]) => r.statusCode === s && body['error'] === c)) say('unexpected status/code');
    };
    for (const [path, ops] of Object.entries(doc.paths)) {
      const op = ops['get'];
      if (!op || !path.startsWith('/api/')) continue;
      const query = (op.parameters ?? []).filter((p) => p.in === 'query');
      if (path.includes('{id}')) {
        for (const id of BAD_IDS) await check(path.replace('{id}', id), 'id');
      } else {
        for (const p of query)
          for (const v of BAD_VALUES) await check(`${path}?${p.name}=${v}`, isTime(p) ? 'time' : 'any');
      }
      if (path.includes('{id}')) {
        // a real id where there is one, so a bad time is judged, not the id
        const real = realIds.get(path.slice(0, path.indexOf('/{id}')));
        for (const p of query)
          for (const v of BAD_VALUES)
            await check(
              `${path.replace('{id}', real ?? 'abc')}?${p.name}=${v}`,
              isTime(p) && real ? 'time' : 'id',
            );
      }
    }
    assert.ok(walked > 200, `walked ${walked} requests`);
    assert.deepEqual(problems, []);
  });
}
