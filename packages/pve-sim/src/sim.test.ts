import { after } from 'node:test';
import { test, waitFor } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLayout, scenarioFromFlags, type Scenario, type Simulator } from './index.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'pve-sim-test-'));
  dirs.push(d);
  return join(d, 'layout');
}

function layout(flags: Parameters<typeof scenarioFromFlags>[0]): Simulator {
  return createLayout({ out: tmp(), scenario: scenarioFromFlags(flags) });
}

async function pveshJson(sim: Simulator, node: string, path: string, ...extra: string[]): Promise<unknown> {
  const r = await sim.run('pvesh', node, ['get', path, '--output-format', 'json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

type Entry = Record<string, unknown>;

test('a 3-node layout has bin, etc-pve and proc per node with the local links', () => {
  const sim = layout({ nodes: 3, guests: 20, seed: 7 });
  for (const n of ['pve1', 'pve2', 'pve3']) {
    const p = sim.paths(n);
    for (const tool of ['pvesh', 'pveversion', 'pvecm']) assert.ok(statSync(join(p.bin, tool)).mode & 0o100);
    assert.equal(readlinkSync(join(p.etcPve, 'local')), `nodes/${n}`);
    assert.equal(readlinkSync(join(p.etcPve, 'qemu-server')), `nodes/${n}/qemu-server`);
    for (const f of ['stat', 'meminfo', 'loadavg', 'uptime']) assert.ok(existsSync(join(p.proc, f)));
    const members = JSON.parse(readFileSync(join(p.etcPve, '.members'), 'utf8')) as { nodename: string };
    assert.equal(members.nodename, n);
  }
  const vmlist = JSON.parse(readFileSync(join(sim.paths('pve1').etcPve, '.vmlist'), 'utf8')) as {
    ids: Record<string, { node: string; type: string }>;
  };
  assert.equal(Object.keys(vmlist.ids).length, 20);
  for (const [vmid, e] of Object.entries(vmlist.ids)) {
    const dir = e.type === 'qemu' ? 'qemu-server' : 'lxc';
    assert.ok(existsSync(join(sim.paths('pve2').etcPve, 'nodes', e.node, dir, `${vmid}.conf`)));
  }
});

test('the same seed gives the same fleet and a frozen clock gives identical renderings', async () => {
  const a = layout({ nodes: 2, guests: 15, seed: 42, clock: 'frozen' });
  const b = layout({ nodes: 2, guests: 15, seed: 42, clock: 'frozen' });
  for (const f of ['.members', '.vmlist', '.rrd', 'pve-root-ca.pem']) {
    assert.equal(
      readFileSync(join(a.paths('pve1').etcPve, f), 'utf8'),
      readFileSync(join(b.paths('pve1').etcPve, f), 'utf8'),
    );
  }
  const r1 = await a.run('pvesh', 'pve1', ['get', '/cluster/resources', '--output-format', 'json']);
  // let the wall clock pass a second boundary: a frozen clock must not notice
  const second = Math.floor(Date.now() / 1000);
  await waitFor(() => Math.floor(Date.now() / 1000) > second, {
    what: 'the next wall-clock second',
    budget: 'short',
  });
  a.refresh();
  const r2 = await a.run('pvesh', 'pve1', ['get', '/cluster/resources', '--output-format', 'json']);
  assert.equal(r1.stdout, r2.stdout);
  assert.equal(
    readFileSync(join(a.paths('pve1').proc, 'stat'), 'utf8'),
    readFileSync(join(b.paths('pve1').proc, 'stat'), 'utf8'),
  );
});

test('live clock counters move between reads once the ticker runs', async () => {
  const sim = layout({ nodes: 1, guests: 2, seed: 3 });
  const stop = sim.startTicker(100);
  try {
    const read = (): string => readFileSync(join(sim.paths('pve1').proc, 'stat'), 'utf8');
    const first = read();
    // on a loaded machine the first ticks may come late
    const second = await waitFor(
      () => {
        const now = read();
        return now !== first ? now : undefined;
      },
      { what: 'a tick to change /proc/stat', budget: 'short' },
    );
    const busy = (s: string): number => Number(s.split('\n')[0]!.split(/\s+/)[1]);
    assert.ok(busy(second) > busy(first));
  } finally {
    stop();
  }
});

test('cluster/status marks the answering node local and has the cluster entry first', async () => {
  const sim = layout({ nodes: 3, guests: 3, seed: 1, clusterName: 'prod' });
  const st = (await pveshJson(sim, 'pve2', '/cluster/status')) as Entry[];
  assert.deepEqual(st[0], {
    id: 'cluster',
    name: 'prod',
    nodes: 3,
    quorate: 1,
    type: 'cluster',
    version: sim.state().clusters[0]!.configVersion,
  });
  const local = st.filter((e) => e.local === 1).map((e) => e.name);
  assert.deepEqual(local, ['pve2']);
});

test('a standalone node reports itself with nodeid 0, no cluster entry, and pvecm fails', async () => {
  const sim = layout({ nodes: 1, guests: 2, seed: 1, standalone: true });
  const st = (await pveshJson(sim, 'pve', '/cluster/status')) as Entry[];
  assert.equal(st.length, 1);
  assert.equal(st[0]!.nodeid, 0);
  assert.equal(st[0]!.local, 1);
  assert.ok(!existsSync(join(sim.paths('pve').etcPve, 'corosync.conf')));
  assert.equal(
    readFileSync(join(sim.paths('pve').etcPve, '.members'), 'utf8'),
    '{\n"nodename": "pve",\n"version": 0\n}\n',
  );
  const pvecm = await sim.run('pvecm', 'pve', ['status']);
  assert.equal(pvecm.code, 255);
  assert.equal(
    pvecm.stderr,
    "Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n",
  );
});

test('node offline: peers see online 0; two of three offline loses quorum on the last one', async () => {
  const sim = layout({ nodes: 3, guests: 6, seed: 5 });
  sim.apply({ type: 'node-offline', node: 'pve3' });
  let st = (await pveshJson(sim, 'pve1', '/cluster/status')) as Entry[];
  assert.equal(st.find((e) => e.name === 'pve3')!.online, 0);
  assert.equal(st[0]!.quorate, 1);
  const own = (await pveshJson(sim, 'pve3', '/cluster/status')) as Entry[];
  assert.equal(own[0]!.quorate, 0, 'the isolated node has no quorum');
  assert.equal(own.find((e) => e.name === 'pve3')!.online, 1);
  sim.apply({ type: 'node-offline', node: 'pve2' });
  st = (await pveshJson(sim, 'pve1', '/cluster/status')) as Entry[];
  assert.equal(st[0]!.quorate, 0);
  const members = JSON.parse(readFileSync(join(sim.paths('pve1').etcPve, '.members'), 'utf8')) as {
    cluster: { quorate: number };
    nodelist: Record<string, { online: number }>;
  };
  assert.equal(members.cluster.quorate, 0);
  assert.equal(members.nodelist.pve2!.online, 0);
  assert.equal(
    statSync(join(sim.paths('pve1').etcPve, 'corosync.conf')).mode & 0o777,
    0o440,
    'read-only without quorum',
  );
  const pvecm = await sim.run('pvecm', 'pve1', ['status']);
  assert.match(pvecm.stdout, /Quorate: {10}No/);
  assert.match(pvecm.stdout, /Activity blocked/);
  sim.apply({ type: 'node-online', node: 'pve2' });
  st = (await pveshJson(sim, 'pve1', '/cluster/status')) as Entry[];
  assert.equal(st[0]!.quorate, 1);
  const res = (await pveshJson(sim, 'pve1', '/cluster/resources', '--type', 'node')) as Entry[];
  assert.equal(res.find((e) => e.node === 'pve3')!.status, 'offline');
  const proxied = await sim.run('pvesh', 'pve1', ['get', '/nodes/pve3/status', '--output-format', 'json']);
  assert.equal(proxied.code, 255);
});

test('quorum lost partitions every node; regained heals it', async () => {
  const sim = layout({ nodes: 3, guests: 0, seed: 5 });
  sim.apply({ type: 'quorum-lost' });
  for (const n of ['pve1', 'pve2', 'pve3']) {
    const st = (await pveshJson(sim, n, '/cluster/status')) as Entry[];
    assert.equal(st[0]!.quorate, 0);
  }
  sim.apply({ type: 'quorum-regained' });
  assert.equal(((await pveshJson(sim, 'pve2', '/cluster/status')) as Entry[])[0]!.quorate, 1);
});

test('pve-root-ca.pem is identical inside a cluster and differs between same-named clusters', () => {
  const scenario: Scenario = {
    seed: 9,
    clusters: [
      { name: 'prod', nodes: 2, nodePrefix: 'a', guests: 2 },
      { name: 'prod', nodes: 2, nodePrefix: 'b', guests: 2 },
    ],
  };
  const sim = createLayout({ out: tmp(), scenario });
  const ca = (n: string): string => readFileSync(join(sim.paths(n).etcPve, 'pve-root-ca.pem'), 'utf8');
  assert.equal(ca('a1'), ca('a2'));
  assert.equal(ca('b1'), ca('b2'));
  assert.notEqual(ca('a1'), ca('b1'));
  assert.match(ca('a1'), /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
});

test('version upgrade changes pveversion; the new kernel runs after a reboot which resets uptime', async () => {
  const sim = layout({ nodes: 2, guests: 4, seed: 2, pveVersion: '8.4.14' });
  assert.match(
    (await sim.run('pveversion', 'pve1', [])).stdout,
    /^pve-manager\/8\.4\.14\/[0-9a-f]{16} \(running kernel: 6\.8\.12-15-pve\)\n$/,
  );
  sim.apply({ type: 'version-upgrade', node: 'pve1', version: '9.1.1' });
  assert.match(
    (await sim.run('pveversion', 'pve1', [])).stdout,
    /^pve-manager\/9\.1\.1\/42db4a6cf33dac83 \(running kernel: 6\.8\.12-15-pve\)\n$/,
  );
  const before = (await pveshJson(sim, 'pve1', '/nodes/pve1/status')) as Entry;
  sim.apply({ type: 'node-reboot', node: 'pve1' });
  const afterBoot = (await pveshJson(sim, 'pve1', '/nodes/pve1/status')) as Entry;
  assert.ok((afterBoot.uptime as number) < (before.uptime as number));
  assert.ok((afterBoot.uptime as number) <= 2);
  assert.match((await sim.run('pveversion', 'pve1', [])).stdout, /running kernel: 6\.17\.2-2-pve/);
  const v = (await pveshJson(sim, 'pve2', '/version')) as Entry;
  assert.equal(v.version, '8.4.14');
});

test('guest events: stop, start applies pending, migrate, create, destroy, config change', async () => {
  const sim = layout({ nodes: 2, guests: 0, seed: 4 });
  sim.apply({ type: 'guest-create', node: 'pve1', kind: 'lxc', vmid: 150, name: 'ct-one', start: true });
  let res = (await pveshJson(sim, 'pve2', '/cluster/resources', '--type', 'vm')) as Entry[];
  assert.deepEqual(
    res.map((e) => [e.id, e.status, e.name]),
    [['lxc/150', 'running', 'ct-one']],
  );
  sim.apply({ type: 'config-change', vmid: 150, set: { memory: 4096 }, pending: true });
  const pend = (await pveshJson(sim, 'pve1', '/nodes/pve1/lxc/150/pending')) as Entry[];
  assert.equal(pend.find((e) => e.key === 'memory')!.pending, 4096);
  const cur = (await pveshJson(sim, 'pve1', '/nodes/pve1/lxc/150/config', '--current', '1')) as Entry;
  assert.notEqual(cur.memory, 4096);
  assert.equal(((await pveshJson(sim, 'pve1', '/nodes/pve1/lxc/150/config')) as Entry).memory, 4096);
  assert.match(
    readFileSync(join(sim.paths('pve2').etcPve, 'nodes/pve1/lxc/150.conf'), 'utf8'),
    /\n\[pve:pending\]\nmemory: 4096\n/,
  );
  sim.apply({ type: 'guest-stop', vmid: 150 });
  sim.apply({ type: 'guest-start', vmid: 150 });
  assert.equal(
    ((await pveshJson(sim, 'pve1', '/nodes/pve1/lxc/150/config', '--current', '1')) as Entry).memory,
    4096,
  );
  sim.apply({ type: 'guest-migrate', vmid: 150, target: 'pve2' });
  assert.ok(existsSync(join(sim.paths('pve1').etcPve, 'nodes/pve2/lxc/150.conf')));
  assert.ok(!existsSync(join(sim.paths('pve1').etcPve, 'nodes/pve1/lxc/150.conf')));
  assert.throws(() => sim.apply({ type: 'guest-destroy', vmid: 150 }), /running - destroy failed/);
  sim.apply({ type: 'guest-stop', vmid: 150 });
  sim.apply({ type: 'guest-destroy', vmid: 150 });
  res = (await pveshJson(sim, 'pve2', '/cluster/resources', '--type', 'vm')) as Entry[];
  assert.deepEqual(res, []);
  assert.equal(readFileSync(join(sim.paths('pve1').etcPve, '.vmlist'), 'utf8').includes('"ids"'), false);
});

test('a slow pvesh waits the injected start-up delay', async () => {
  const sim = layout({ nodes: 1, guests: 1, seed: 4 });
  sim.apply({ type: 'pvesh-delay', ms: 300 });
  const t0 = Date.now();
  await pveshJson(sim, 'pve1', '/version');
  assert.ok(Date.now() - t0 >= 300);
});

test('unknown paths and bad output formats fail like pvesh', async () => {
  const sim = layout({ nodes: 1, guests: 1, seed: 4 });
  const r = await sim.run('pvesh', 'pve1', ['get', '/nope', '--output-format', 'json']);
  assert.deepEqual(r, { stdout: '', stderr: "no 'get' handler for '/nope'\n", code: 255 });
  const f = await sim.run('pvesh', 'pve1', ['get', '/version', '--output-format', 'xml']);
  assert.equal(f.code, 255);
  assert.match(f.stderr, /output-format: value 'xml' does not have a value in the enumeration/);
  const unknownNode = await sim.run('pvesh', 'pve1', [
    'get',
    '/nodes/ghost/status',
    '--output-format',
    'json',
  ]);
  assert.match(unknownNode.stderr, /^hostname lookup 'ghost' failed/);
});

test('the example scenario files lay out the cases they name', async () => {
  const load = (name: string): Scenario =>
    JSON.parse(readFileSync(new URL(`../scenarios/${name}.json`, import.meta.url), 'utf8')) as Scenario;
  const three = createLayout({ out: tmp(), scenario: load('three-node-cluster') });
  assert.deepEqual(
    three.state().nodes.map((n) => [n.name, n.pveVersion]),
    [
      ['pve1', '9.1.1'],
      ['pve2', '9.1.1'],
      ['pve3', '8.4.14'],
    ],
  );
  const db = (await pveshJson(three, 'pve1', '/nodes/pve2/qemu/101/pending')) as Entry[];
  assert.deepEqual(
    db.filter((e) => e.pending !== undefined || e.delete).map((e) => e.key),
    ['cores', 'tags'],
  );
  const solo = createLayout({ out: tmp(), scenario: load('standalone') });
  assert.deepEqual(
    ((await pveshJson(solo, 'homelab', '/cluster/status')) as Entry[]).map((e) => e.nodeid),
    [0],
  );
  const twins = createLayout({ out: tmp(), scenario: load('two-clusters-same-name') });
  const s = twins.state();
  assert.deepEqual(
    s.clusters.map((c) => c.name),
    ['prod', 'prod'],
  );
  assert.notEqual(s.clusters[0]!.caPem, s.clusters[1]!.caPem);
  const berlin = (await pveshJson(twins, 'berlin1', '/cluster/status')) as Entry[];
  assert.deepEqual(
    berlin.filter((e) => e.type === 'node').map((e) => e.name),
    ['berlin1', 'berlin2', 'berlin3'],
  );
  // vmids repeat across the two clusters: events name the cluster
  assert.throws(() => twins.apply({ type: 'guest-stop', vmid: 100 }), /several clusters/);
});

test('--standalone with several nodes gives separate standalone nodes', async () => {
  const sim = layout({ nodes: 2, standalone: true, guests: 4, seed: 1 });
  const s = sim.state();
  assert.deepEqual(
    s.nodes.map((n) => n.name),
    ['pve1', 'pve2'],
  );
  assert.equal(s.clusters.length, 2);
  assert.ok(s.clusters.every((c) => c.name === null));
  const st = (await pveshJson(sim, 'pve2', '/cluster/resources', '--type', 'node')) as Entry[];
  assert.deepEqual(
    st.map((e) => e.node),
    ['pve2'],
  );
});

test('dpkg status per node: rewritten (new mtime) by version-upgrade only; quorum-lost shows in .members', async () => {
  const sim = layout({ nodes: 2, guests: 2, seed: 31, clock: 'frozen' });
  const p = sim.paths('pve1');
  assert.match(readFileSync(p.dpkgStatus, 'utf8'), /^Package: pve-manager\n(?:.*\n)*?Version: 9\.1\.1\n/);
  const before = statSync(p.dpkgStatus);
  await new Promise((r) => setTimeout(r, 20));
  sim.apply({ type: 'guest-stop', vmid: sim.state().guests.find((g) => g.status === 'running')!.vmid });
  assert.equal(statSync(p.dpkgStatus).mtimeMs, before.mtimeMs, 'other events leave it alone');
  sim.apply({ type: 'version-upgrade', node: 'pve1', version: '9.2.4' });
  assert.match(readFileSync(p.dpkgStatus, 'utf8'), /Version: 9\.2\.4\n/);
  assert.notEqual(statSync(p.dpkgStatus).mtimeMs, before.mtimeMs);
  assert.match(readFileSync(sim.paths('pve2').dpkgStatus, 'utf8'), /Version: 9\.1\.1\n/, 'per node');
  sim.apply({ type: 'quorum-lost' });
  assert.match(readFileSync(join(p.etcPve, '.members'), 'utf8'), /"quorate": 0/);
});
