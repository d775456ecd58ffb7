// Issue 15, Ceph: a node without Ceph costs no process and sends nothing; an installed Ceph whose
// status cannot be read is HEALTH_UNKNOWN from every source, never "no Ceph".
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TOKEN, startServers } from '@nanny/pve-sim';
import type { HttpRequest, HttpResponse } from './http.ts';
import { createApiSource } from './sources/api.ts';
import { localHealth } from './sources/ops.ts';
import { dryRun, makeSim, requireSim, type SimFixture } from './testing/sim.ts';

/** `pvesh` on PATH wrapped: each call appends its arguments to a file, then runs the simulator's. */
function countedPvesh(f: SimFixture, node: string): { env: Record<string, string>; calls: () => string[] } {
  const bin = join(f.dir, 'counted-bin');
  mkdirSync(bin, { recursive: true });
  const logFile = join(f.dir, 'pvesh-calls.log');
  writeFileSync(logFile, '');
  writeFileSync(
    join(bin, 'pvesh'),
    `#!/bin/sh\necho "$*" >> '${logFile}'\nexec '${join(f.sim.paths(node).bin, 'pvesh')}' "$@"\n`,
  );
  chmodSync(join(bin, 'pvesh'), 0o755);
  const env = f.env(node);
  return {
    env: { ...env, PATH: `${bin}:${env.PATH!}` },
    calls: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
  };
}

test('Ceph via the files source: no process without ceph.conf, one pvesh per cycle with it', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 3, guests: 3, seed: 7, clock: 'frozen' }, process.env.PATH);
  const c = countedPvesh(f, 'pve1');
  const none = await dryRun(c.env, ['--source', 'files']);
  assert.equal(none.code, 0, none.log);
  assert.equal(none.items[0]!.body.ceph_health, undefined);
  assert.deepEqual(c.calls(), [], 'no pvesh when /etc/pve/ceph.conf is absent');
  f.sim.apply({ type: 'ceph-health', status: 'HEALTH_OK' });
  const ceph = await dryRun(c.env, ['--source', 'files']);
  assert.equal(ceph.items[0]!.body.ceph_health, 'HEALTH_OK');
  assert.deepEqual(
    c.calls(),
    ['get /cluster/ceph/status --output-format json'],
    'the only pvesh of the cycle',
  );
});

test('an installed Ceph whose status call fails is HEALTH_UNKNOWN from files, pvesh and api alike', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 3, guests: 3, seed: 7, clock: 'frozen' });
  const servers = await startServers(f.sim, { nodes: ['pve1'] });
  t.after(() => servers.close());
  const served = servers.list[0]!;
  const env = f.env('pve1');
  const apiEnv = f.env('pve1', {
    NANNYAGENT_NODE: 'pve1',
    NANNYAGENT_PVE_API_URL: served.url,
    NANNYAGENT_PVE_API_TOKEN: `${DEFAULT_TOKEN.tokenId}=${DEFAULT_TOKEN.secret}`,
    NANNYAGENT_PVE_API_FINGERPRINT: served.fingerprint,
    NANNYAGENT_PVE_API_CA_FILE: join(f.sim.paths('pve1').etcPve, 'pve-root-ca.pem'),
  });
  const health = async () => {
    const out: Record<string, unknown>[] = [];
    for (const [e, source] of [
      [env, 'files'],
      [env, 'pvesh'],
      [apiEnv, 'api'],
    ] as const) {
      const r = await dryRun(e, ['--source', source]);
      assert.equal(r.code, 0, r.log);
      const n = r.items[0]!.body;
      out.push({ source, ceph_health: n.ceph_health, ceph_error: n.ceph_error });
    }
    return out;
  };
  f.sim.apply({ type: 'ceph-health', status: 'HEALTH_OK' });
  f.sim.apply({ type: 'ceph-health', status: 'unreachable' });
  for (const h of await health()) {
    assert.equal(h.ceph_health, 'HEALTH_UNKNOWN', JSON.stringify(h));
    assert.match(String(h.ceph_error), /rados_connect failed - Connection timed out/, JSON.stringify(h));
  }
  // Ceph removed: "binary not installed" is no Ceph, from the API too — nothing sent
  f.sim.apply({ type: 'ceph-health', status: 'none' });
  for (const h of await health()) assert.equal(h.ceph_health, undefined, JSON.stringify(h));
});

test('local health: ceph.conf absent, nothing asked; "not installed" answers are no Ceph, other failures unknown', async () => {
  let asked = 0;
  const run = async (conf: boolean, answer: () => Promise<unknown>) =>
    (
      await localHealth({
        node: 'pve1',
        procRoot: '/nonexistent',
        pkgUpdatesFile: '/nonexistent/pkgupdates',
        pveRoot: '/etc/pve',
        detect: async () => ({ installed: true }),
        readPve: (paths) =>
          paths.map((p) =>
            conf && p.endsWith('ceph.conf')
              ? Promise.resolve('[global]\n')
              : Promise.reject(new Error('ENOENT')),
          ),
        cephStatus: () => {
          asked++;
          return answer();
        },
      })
    ).data;
  assert.equal((await run(false, async () => ({}))).ceph_health, undefined);
  assert.equal(asked, 0, 'no ceph.conf: no status call (no process)');
  const absent = await run(true, () =>
    Promise.reject(new Error('exit 255: binary not installed: /usr/bin/ceph-mon')),
  );
  assert.equal(absent.ceph_health, undefined);
  const uninit = await run(true, () => Promise.reject(new Error('pveceph configuration not initialized')));
  assert.equal(uninit.ceph_health, undefined);
  const timeout = await run(true, () =>
    Promise.reject(new Error('pvesh get /cluster/ceph/status: no answer within 10000 ms')),
  );
  assert.deepEqual(
    [timeout.ceph_health, timeout.ceph_error],
    ['HEALTH_UNKNOWN', 'pvesh get /cluster/ceph/status: no answer within 10000 ms'],
  );
  const odd = await run(true, async () => ({ fsid: 'x' }));
  assert.equal(odd.ceph_health, 'HEALTH_UNKNOWN', 'an answer without health.status');
  assert.equal(asked, 4);
});

test('api source: a failed status call is an unreadable Ceph only when Ceph is known to be there', async () => {
  type Answer = { status: number; statusText?: string; body: unknown };
  const health = async (answers: Record<string, Answer[]>) => {
    const src = createApiSource({
      url: 'https://pve1.test:8006',
      token: 'u@pve!t=s',
      tls: { allowInsecureHttp: false },
      timeoutMs: 1000,
      http: () =>
        Object.assign(
          async (req: HttpRequest): Promise<HttpResponse> => {
            const path = new URL(req.url).pathname.replace('/api2/json', '');
            const a = answers[path]?.shift() ?? {
              status: 403,
              statusText: 'Permission check failed',
              body: {},
            };
            return {
              status: a.status,
              ...(a.statusText ? { statusText: a.statusText } : {}),
              headers: {},
              text: JSON.stringify(a.body),
            };
          },
          { close() {} },
        ),
    });
    const out = [];
    // one reader per cycle, as the collector opens them
    const cycles = answers['/cluster/ceph/status']?.length ?? 1;
    for (let i = 0; i < cycles; i++) {
      const r = src.open();
      out.push((await r.health('pve1')).data);
      r.close();
    }
    return out.map((d) => [d.ceph_health, d.ceph_error]);
  };
  const timeout: Answer = { status: 500, statusText: 'got timeout', body: { data: null } };
  const absent: Answer = {
    status: 500,
    statusText: 'binary not installed: /usr/bin/ceph-mon',
    body: { data: null },
  };
  const ok: Answer = { status: 200, body: { data: { health: { status: 'HEALTH_OK', checks: {} } } } };
  const conf: Answer = { status: 200, body: { data: '[global]\n\tfsid = x\n' } };
  // old PVE: the "not installed" text only in the reason phrase (body {"data":null})
  assert.deepEqual(await health({ '/cluster/ceph/status': [absent] }), [[undefined, undefined]]);
  // a timeout on a cluster whose ceph.conf cfg/raw confirms: unknown
  assert.deepEqual(await health({ '/cluster/ceph/status': [timeout], '/nodes/pve1/ceph/cfg/raw': [conf] }), [
    ['HEALTH_UNKNOWN', 'GET /cluster/ceph/status: HTTP 500 got timeout {"data":null}'],
  ]);
  // cfg/raw says no Ceph, or cannot tell either: nothing about Ceph
  assert.deepEqual(
    await health({ '/cluster/ceph/status': [timeout], '/nodes/pve1/ceph/cfg/raw': [absent] }),
    [[undefined, undefined]],
  );
  assert.deepEqual(
    await health({ '/cluster/ceph/status': [timeout], '/nodes/pve1/ceph/cfg/raw': [timeout] }),
    [[undefined, undefined]],
  );
  // seen healthy once: a later failure is unknown without asking cfg/raw again
  assert.deepEqual(await health({ '/cluster/ceph/status': [ok, timeout] }), [
    ['HEALTH_OK', undefined],
    ['HEALTH_UNKNOWN', 'GET /cluster/ceph/status: HTTP 500 got timeout {"data":null}'],
  ]);
});
