import { after } from 'node:test';
import { test, within } from '@nanny/testing';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLayout, scenarioFromFlags, startServers, DEFAULT_TOKEN, type Servers } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'pve-sim-https-'));
const servers: Servers[] = [];
after(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Res {
  status: number;
  reason: string;
  body: string;
}
function get(url: string, auth?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { rejectUnauthorized: false, headers: auth ? { Authorization: auth } : {}, timeout: 10_000 },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const AUTH = `PVEAPIToken=${DEFAULT_TOKEN.tokenId}=${DEFAULT_TOKEN.secret}`;

test('the HTTPS API answers per node with the data envelope and the same values as pvesh', async () => {
  const sim = createLayout({
    out: join(dir, 'a'),
    scenario: scenarioFromFlags({ nodes: 3, guests: 10, seed: 3, clock: 'frozen' }),
  });
  const s = await startServers(sim, { nodes: ['pve1', 'pve2'], port: 0 });
  servers.push(s);
  assert.equal(s.list.length, 2);
  assert.match(s.list[0]!.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const [a, b] = s.list;
  const st = await get(`${b!.url}/cluster/status`, AUTH);
  assert.equal(st.status, 200);
  const body = JSON.parse(st.body) as { data: { name: string; local?: number }[] };
  assert.equal(body.data.find((e) => e.local === 1)?.name, 'pve2');
  const viaPvesh = await sim.run('pvesh', 'pve1', [
    'get',
    '/cluster/resources',
    '--type',
    'vm',
    '--output-format',
    'json',
  ]);
  const viaHttps = await get(`${a!.url}/cluster/resources?type=vm`, AUTH);
  assert.deepEqual((JSON.parse(viaHttps.body) as { data: unknown }).data, JSON.parse(viaPvesh.stdout));
  const guest = sim.state().guests.find((g) => g.node === 'pve1')!;
  const kind = guest.kind;
  const cfg = await get(`${a!.url}/nodes/pve1/${kind}/${guest.vmid}/config?current=1`, AUTH);
  assert.equal(cfg.status, 200);
  const pend = await get(`${a!.url}/nodes/pve1/${kind}/${guest.vmid}/pending`, AUTH);
  assert.ok(Array.isArray((JSON.parse(pend.body) as { data: unknown }).data));
  const missing = await get(`${a!.url}/nodes/pve1/qemu/99999/config`, AUTH);
  assert.equal(missing.status, 500);
  assert.equal(missing.reason, "Configuration file 'nodes/pve1/qemu-server/99999.conf' does not exist");
  assert.equal(missing.body, '{"data":null}');
  const unknown = await get(`${a!.url}/does/not/exist`, AUTH);
  assert.equal(unknown.status, 501);
});

test('each node serves a certificate signed by its cluster CA (verifiable with pve-root-ca.pem)', async () => {
  const sim = createLayout({
    out: join(dir, 'ca'),
    scenario: {
      seed: 4,
      clusters: [
        { name: 'prod', nodes: 2, nodePrefix: 'a' },
        { name: 'prod', nodes: 1, nodePrefix: 'b' },
      ],
    },
  });
  const s = await startServers(sim, { nodes: ['a1', 'a2', 'b1'] });
  servers.push(s);
  const ca = (n: string): string => readFileSync(join(sim.paths(n).etcPve, 'pve-root-ca.pem'), 'utf8');
  const verified = (url: string, caPem: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request(`${url}/version`, { ca: caPem, headers: { Authorization: AUTH } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  assert.equal(await verified(s.list[0]!.url, ca('a1')), 200);
  assert.equal(await verified(s.list[1]!.url, ca('a1')), 200);
  await assert.rejects(
    verified(s.list[2]!.url, ca('a1')),
    /certificate|signature|issuer/i,
    'the other cluster does not verify',
  );
  assert.notEqual(s.list[0]!.fingerprint, s.list[1]!.fingerprint);
});

test('requests without a valid API token get 401 with the PVE reason', async () => {
  const sim = createLayout({
    out: join(dir, 'b'),
    scenario: scenarioFromFlags({ nodes: 1, guests: 1, seed: 3 }),
  });
  const s = await startServers(sim, { nodes: ['pve1'] });
  servers.push(s);
  const url = `${s.list[0]!.url}/version`;
  const none = await get(url);
  assert.deepEqual([none.status, none.reason, none.body], [401, 'No ticket', '{"data":null}']);
  const wrong = await get(url, `PVEAPIToken=${DEFAULT_TOKEN.tokenId}=not-the-secret`);
  assert.deepEqual([wrong.status, wrong.reason], [401, 'invalid token value!']);
  const other = await get(url, 'PVEAPIToken=root@pam!other=x');
  assert.deepEqual([other.status, other.reason], [401, "no such token 'other' for user 'root@pam'"]);
  const ok = await get(url, AUTH);
  assert.equal(ok.status, 200);
  assert.match(ok.body, /^\{"data":\{"release":"9\.1","repoid":"[0-9a-f]+","version":"9\.1\.1"\}\}$/);
});

test('a hung pmxcfs makes API calls wait until release', async () => {
  const sim = createLayout({
    out: join(dir, 'c'),
    scenario: scenarioFromFlags({ nodes: 2, guests: 1, seed: 3 }),
  });
  const s = await startServers(sim, { nodes: ['pve1'], pollMs: 20 });
  servers.push(s);
  sim.apply({ type: 'pmxcfs-hang', node: 'pve1' });
  let settled = false;
  // the server has the request once 'request' fired: its first attempt found pmxcfs hung
  const arrived = new Promise<void>((r) => s.list[0]!.server.once('request', () => setImmediate(r)));
  const pending = get(`${s.list[0]!.url}/cluster/status`, AUTH).then((r) => {
    settled = true;
    return r;
  });
  await within(arrived, { what: 'the request to reach the server', budget: 'short' });
  assert.equal(settled, false);
  sim.apply({ type: 'pmxcfs-release', node: 'pve1' });
  const r = await pending;
  assert.equal(r.status, 200);
});
