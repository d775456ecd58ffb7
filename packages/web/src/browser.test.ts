/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against the real
 * API on loopback (SQLite in a temp dir), fed through the real ingest endpoints with agent tokens.
 * Screenshots go to a temp dir (kept, and named in the test output, when NANNY_WEB_SCREENSHOTS
 * names a folder).
 */
import { after } from 'node:test';
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { SPEC, makeTestApp, type TestApp } from '@nanny/api/testing';

const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'correct-horse-battery';
const XSS_NAME = '<img src=x onerror="window.__xss=1">';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      // keep cleaning up the rest
    }
  }
});

async function post(base: string, path: string, token: string, body: unknown) {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  assert.equal(r.status, 200, `${path}: ${r.status} ${text}`);
}

/** A 3-node cluster (one node on an older PVE), node history over two hours, guests, a standalone node. */
async function seed(t: TestApp, base: string): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  const cluster = SPEC.cluster.cluster_name;
  const names = ['pve-node-01', 'pve-node-02', 'pve-node-03'];
  const members = names.map((name, i) => ({
    name,
    node_id: i + 1,
    ip: `10.0.1.${10 + i}`,
    online: 1,
    local: 0,
  }));
  const GiB = 1024 ** 3;
  const now = Date.now();
  for (const [i, name] of names.entries()) {
    const { access } = await t.register(name);
    tokens.set(name, access);
    await post(base, '/api/proxmox/cluster', access, { ...SPEC.cluster, reporting_node: name, members });
    const node = (at: number, k: number) => ({
      ...SPEC.node,
      name,
      node_id: i + 1,
      ip: `10.0.1.${10 + i}`,
      cluster_name: cluster,
      pve_version: i === 2 ? 'pve-manager/8.3.5/dac3aa88bac3f300' : 'pve-manager/8.4.1/2a5fa54a8503f96d',
      kernel_version: 'Linux 6.8.12-9-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-9',
      collected_at: new Date(at).toISOString(),
      cpu_usage_ratio: Math.min(0.97, 0.18 + 0.12 * i + 0.1 * Math.sin(k / 3) + (k % 7 === 0 ? 0.25 : 0)),
      load_avg_1m: 0.6 + i + Math.abs(Math.sin(k / 5)) * 2,
      mem_total_bytes: 64 * GiB,
      mem_used_bytes: Math.round((22 + 10 * i + 4 * Math.sin(k / 8)) * GiB),
      rootfs_total_bytes: 94 * GiB,
      rootfs_used_bytes: Math.round((12 + 35 * i) * GiB),
      uptime_seconds: 86400 * (12 - i) + k * 300,
    });
    // history: one report every 5 minutes for the last two hours (node 01 has a 20-minute gap)
    for (let k = 0; k <= 24; k++) {
      if (i === 0 && k >= 8 && k < 12) continue;
      await post(base, '/api/proxmox/node', access, node(now - (24 - k) * 300_000, k));
    }
    if (i === 0) {
      await post(base, '/api/proxmox/lxc', access, { ...SPEC.lxc, cluster_name: cluster });
      await post(base, '/api/proxmox/qemu', access, { ...SPEC.qemu, cluster_name: cluster });
      await post(base, '/api/proxmox/lxc', access, {
        ...SPEC.lxc,
        cluster_name: cluster,
        name: XSS_NAME,
        hostname: 'xss',
        lxc_id: 'lxc/101',
        vmid: 101,
        status: 'stopped',
        tags: 'test',
      });
    }
  }
  // a second cluster with the same name and id (scenario 3), told apart by its fingerprint; it
  // has lost quorum
  const fingerprint = 'b7e3c1d09a4f5e6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b';
  const other = await t.register('pve-b1');
  await post(base, '/api/proxmox/cluster', other.access, {
    ...SPEC.cluster,
    cluster_fingerprint: fingerprint,
    nodes: 2,
    quorate: 0,
  });
  await post(base, '/api/proxmox/node', other.access, {
    ...SPEC.node,
    name: 'pve-b1',
    cluster_name: cluster,
    cluster_fingerprint: fingerprint,
    pve_version: 'pve-manager/9.0.6/49c767b70aeb6648',
    cpu_usage_ratio: 0.02,
    mem_total_bytes: 32 * GiB,
    mem_used_bytes: 4 * GiB,
    uptime_seconds: 600,
  });

  const solo = await t.register('pve-solo');
  await post(base, '/api/proxmox/node', solo.access, {
    ...SPEC.node,
    name: 'pve-solo',
    node_id: 0,
    ip: '192.168.1.5',
    pve_version: 'pve-manager/8.4.1/2a5fa54a8503f96d',
    cpu_usage_ratio: 0.05,
    mem_total_bytes: 16 * GiB,
    mem_used_bytes: 3 * GiB,
    rootfs_total_bytes: 50 * GiB,
    rootfs_used_bytes: 47 * GiB,
    load_avg_1m: 0.2,
    uptime_seconds: 3600,
  });
  await post(base, '/api/proxmox/qemu', solo.access, {
    ...SPEC.qemu,
    node: 'pve-solo',
    name: 'homeassistant',
    qemu_id: 'qemu/300',
    vmid: 300,
  });
  await t.app.nanny.committer.drain();
  return tokens;
}

test(
  'the dashboard logs in and shows clusters, nodes, guests and history charts in Chromium',
  { timeout: 120_000 },
  async (t) => {
    const why = `${CHROMIUM} is absent (apt-get install chromium); the browser test did not run`;
    if (!requires(t, 'chromium', existsSync(CHROMIUM), why)) return;
    const dir = mkdtempSync(join(tmpdir(), 'nanny-web-e2e-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const shots = process.env['NANNY_WEB_SCREENSHOTS'] || join(dir, 'shots');
    mkdirSync(shots, { recursive: true });

    const app = await makeTestApp({ sqliteFile: join(dir, 'nannyapi.db'), adminPassword: PASSWORD });
    cleanups.push(() => app.app.close());
    await app.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.app.server.address();
    assert.ok(addr && typeof addr === 'object');
    const base = `http://127.0.0.1:${addr.port}`;

    const context: BrowserContext = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      viewport: { width: 1400, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    cleanups.push(() => context.close());
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));

    try {
      await drive();
    } catch (err) {
      // leave evidence: what the page showed and said when it failed
      await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => null);
      t.diagnostic(
        `failure screenshot: ${join(shots, 'failure.png')}; state: ${await page.textContent('#refresh-state').catch(() => '?')}; console: ${problems.join(' | ')}`,
      );
      throw err;
    }
    t.diagnostic(`screenshots: ${shots}`);

    /** waits until the guests table has `n` rows (a function, not a string: the page's CSP forbids eval) */
    function guestRows(n: number) {
      return page.waitForFunction(
        (want) =>
          (
            globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<unknown> } }
          ).document.querySelectorAll('table.guests tbody tr').length === want,
        n,
      );
    }

    async function drive() {
      await page.goto(`${base}/`);
      await page.waitForSelector('#login-form');

      // a wrong password shows the API's error_description
      await page.fill('#login-user', 'admin');
      await page.fill('#login-pass', 'wrong');
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('#login-form .form-error:not([hidden])');
      assert.equal(await page.textContent('#login-form .form-error'), 'Wrong username or password');
      await page.screenshot({ path: join(shots, 'login.png') });

      await page.fill('#login-pass', PASSWORD);
      await page.click('#login-form button[type=submit]');
      // before any agent reported: the empty state names the next step
      await page.waitForSelector('.empty-title:text("No data yet — enroll an agent:")');
      assert.equal(await page.textContent('.empty code.cmd'), 'npx nannyapi enroll create');
      await page.screenshot({ path: join(shots, 'empty.png') });

      const tokens = await seed(app, base);
      await page.reload(); // the session cookie keeps the login
      await page.waitForSelector('section.card h2:text("production-cluster")');
      await page.waitForSelector('tr[data-node="pve-node-03"]');

      const clusterCard = page.locator('section.card', { has: page.locator('tr[data-node="pve-node-01"]') });
      assert.equal(await clusterCard.locator('.badge-ok:text("quorate")').count(), 1);
      assert.match((await clusterCard.locator('.card-extra').textContent()) ?? '', /3 \/ 3 nodes online/);
      assert.equal(await clusterCard.locator('tbody tr').count(), 3);
      // the node on 8.3.5 is the odd one out
      const mismatched = clusterCard.locator('.version.mismatch');
      assert.equal(await mismatched.count(), 1);
      assert.match((await mismatched.textContent()) ?? '', /8\.3\.5/);
      assert.equal(await clusterCard.locator('.badge-warn:text("version mismatch")').count(), 1);
      const standalone = page.locator('section.card', { has: page.locator('h2:text("Standalone nodes")') });
      assert.equal(await standalone.locator('tr[data-node="pve-solo"]').count(), 1);
      assert.match((await page.locator('.stats').textContent()) ?? '', /Guests running3 \/ 4/);
      // two clusters called production-cluster: each card says which one it is
      assert.equal(await page.locator('section.card h2 .site-tag').count(), 2);
      const other = page.locator('section.card', { has: page.locator('tr[data-node="pve-b1"]') });
      assert.equal(await other.locator('h2 .site-tag').textContent(), 'fingerprint b7e3c1d0');
      assert.equal(await other.locator('.badge-crit:text("no quorum")').count(), 1);
      assert.match((await other.getAttribute('class')) ?? '', /card-bad/);
      assert.equal(await page.textContent('#user-name'), 'admin');
      await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });

      // guests: all four, then filtered to VMs; the hostile name is text, not markup
      await page.click('#nav a[data-view="guests"]');
      await page.waitForSelector('table.guests tbody tr');
      assert.equal(await page.locator('table.guests tbody tr').count(), 4);
      assert.equal(await page.locator('table.guests td', { hasText: XSS_NAME }).count(), 1);
      assert.equal(await page.locator('table.guests img').count(), 0);
      assert.equal(await page.evaluate(() => (globalThis as { __xss?: number }).__xss), undefined);
      await page.screenshot({ path: join(shots, 'guests.png'), fullPage: true });
      await page.selectOption('select[name=type]', 'qemu');
      await guestRows(2);
      const vmNames = await page.locator('table.guests tbody tr td:nth-child(2)').allTextContents();
      assert.deepEqual(vmNames.sort(), ['db-prod-01', 'homeassistant']);
      await page.fill('input[name=q]', 'db-');
      await guestRows(1);
      await page.fill('input[name=q]', 'nothing-like-this');
      await page.waitForSelector('.empty-title:text("No guests match these filters.")');

      // one guest: parsed network and disks from its config
      await page.selectOption('select[name=type]', '');
      await page.fill('input[name=q]', 'web-prod');
      await guestRows(1);
      await page.click('a.guest-link:text("web-prod-01")');
      await page.waitForSelector('table.nets tbody tr');
      const net = (await page.textContent('table.nets tbody tr')) ?? '';
      assert.match(net, /net0/);
      assert.match(net, /vmbr0/);
      assert.match(net, /10\.0\.1\.100\/24/);
      assert.match((await page.textContent('table.disks tbody')) ?? '', /rootfs.*local-lvm.*32\.0 GiB/);
      assert.equal(await page.locator('table.kv th:text-is("hostname")').count(), 1);
      assert.equal(await page.getAttribute('#nav a[data-view="guests"]', 'aria-current'), 'page');
      await page.screenshot({ path: join(shots, 'guest.png'), fullPage: true });

      // node detail with its history charts
      await page.click('#nav a[data-view="overview"]');
      await page.click('tr[data-node="pve-node-01"] a.node-link');
      await page.waitForSelector('figure[data-chart="CPU"] polyline');
      // two hours of history: the page opens on the range that holds it, not on 24 h
      await page.waitForSelector('.charts[data-range="6h"] figure[data-chart="CPU"] polyline');
      assert.equal(await page.getAttribute('button.seg[data-range="6h"]', 'aria-pressed'), 'true');
      // relative times carry the absolute time, in the browser locale's format, on hover
      const firstSeen = page.locator('time', { hasText: /ago|just now/ }).first();
      const iso = (await firstSeen.getAttribute('datetime')) ?? '';
      const localized = await page.evaluate(
        (v) =>
          new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }).format(
            new Date(v),
          ),
        iso,
      );
      assert.equal(await firstSeen.getAttribute('title'), localized);
      for (const chart of ['CPU', 'Memory', 'Load']) {
        const lines = page.locator(`figure[data-chart="${chart}"] svg polyline`);
        // node 01's 20-minute silence splits each line in two
        assert.ok((await lines.count()) >= 2, `${chart}: a line per run of samples`);
      }
      const points = (await page.getAttribute('figure[data-chart="CPU"] polyline', 'points')) ?? '';
      assert.ok(points.split(' ').length >= 5, 'the CPU line has the reported samples');
      assert.equal(await page.locator('table.guests tbody tr').count(), 3);
      await page.click('button.seg[data-range="1h"]');
      await page.waitForSelector('button.seg[data-range="1h"][aria-pressed="true"]');
      await page.waitForSelector('.charts[data-range="1h"] figure[data-chart="CPU"] polyline');
      await page.locator('figure[data-chart="CPU"] .hit').hover();
      await page.waitForSelector('figure[data-chart="CPU"] .tip[visibility="visible"]');
      await page.screenshot({ path: join(shots, 'node.png'), fullPage: true });

      await page.click('#nav a[data-view="events"]');
      await page.waitForSelector('ol.timeline li');
      // auto-refresh: a reboot reported now shows up within one refresh period, no reload
      await post(base, '/api/proxmox/node', tokens.get('pve-node-02')!, {
        ...SPEC.node,
        name: 'pve-node-02',
        node_id: 2,
        ip: '10.0.1.11',
        cluster_name: SPEC.cluster.cluster_name,
        pve_version: 'pve-manager/8.4.1/2a5fa54a8503f96d',
        uptime_seconds: 120,
      });
      await page.waitForSelector('ol.timeline li .badge:text("rebooted")', { timeout: 25_000 });
      assert.ok((await page.locator('ol.timeline li').count()) >= 5);
      await page.screenshot({ path: join(shots, 'events.png'), fullPage: true });
      await page.click('#nav a[data-view="alerts"]');
      await page.waitForSelector('section.card h2:text("Alerts")');
      await page.waitForSelector('section.card table.alerts');
      // the reboot's summary says "up since <time>": shown in the locale's format, never as ISO-8601
      await page.click('button.seg[data-state="resolved"]');
      const reboot = page.locator('table.alerts tbody tr', { hasText: 'rebooted' }).first();
      await reboot.waitFor();
      const rebootText = (await reboot.textContent()) ?? '';
      assert.match(rebootText, /up since/);
      assert.doesNotMatch(rebootText, /\d{4}-\d{2}-\d{2}T\d{2}:/);
      await page.click('button.seg[data-state="firing"]');
      await page.waitForSelector('section.card table.alerts');
      // the seeded standalone node's root FS is 94 % full: its alert can be acknowledged here
      const row = page.locator('table.alerts tbody tr', { hasText: 'pve-solo' });
      await row.locator('button:text("Acknowledge")').click();
      await row.locator('text=ack by admin').waitFor();
      assert.equal(await row.locator('td:nth-child(3)').textContent(), 'pve-solo');
      await page.screenshot({ path: join(shots, 'alerts.png'), fullPage: true });

      // a split: every node of production-cluster sees only itself. The card says "partitioned",
      // lists who sees whom, and does not grey out nodes that are alive on their side of the split.
      const trioNames = ['pve-node-01', 'pve-node-02', 'pve-node-03'];
      for (const [i, name] of trioNames.entries()) {
        await post(base, '/api/proxmox/cluster', tokens.get(name) ?? '', {
          ...SPEC.cluster,
          quorate: 0,
          reporting_node: name,
          members: trioNames.map((m, k) => ({
            name: m,
            node_id: k + 1,
            online: m === name ? 1 : 0,
            local: m === name ? 1 : 0,
          })),
        });
        await post(base, '/api/proxmox/node', tokens.get(name) ?? '', {
          ...SPEC.node,
          name,
          node_id: i + 1,
          cluster_name: SPEC.cluster.cluster_name,
        });
      }
      await app.app.nanny.committer.drain();
      await page.click('#nav a[data-view="overview"]');
      await page.reload();
      const splitCard = page.locator('section.card', { has: page.locator('tr[data-node="pve-node-01"]') });
      await splitCard.locator('.partitions').waitFor();
      assert.equal(await splitCard.locator('.card-extra .badge-crit:text("partitioned")').count(), 1);
      const who = (await splitCard.locator('.partitions').textContent()) ?? '';
      for (const name of trioNames) assert.ok(who.includes(`{${name}}`), who);
      assert.equal(await splitCard.locator('tr.row-offline').count(), 0);
      assert.equal(await splitCard.locator('[data-state="partitioned"]').count(), 3);

      // logging out returns to the form, and the API refuses the old page's requests
      // the dark scheme (prefers-color-scheme) for a look at its contrast
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.click('#nav a[data-view="overview"]');
      await page.click('tr[data-node="pve-node-03"] a.node-link');
      await page.waitForSelector('figure[data-chart="Load"] polyline');
      await page.screenshot({ path: join(shots, 'node-dark.png'), fullPage: true });

      // a phone-sized window: the tables scroll sideways inside their cards, the page does not
      await page.setViewportSize({ width: 400, height: 860 });
      await page.click('#nav a[data-view="overview"]');
      await page.waitForSelector('tr[data-node="pve-node-03"]');
      await page.screenshot({ path: join(shots, 'overview-narrow.png'), fullPage: true });
      const overflow = await page.evaluate(() => {
        const d = (
          globalThis as unknown as {
            document: { documentElement: { scrollWidth: number; clientWidth: number } };
          }
        ).document.documentElement;
        return d.scrollWidth - d.clientWidth;
      });
      assert.ok(overflow <= 1, `the page is ${overflow} px wider than the window`);

      await page.click('#logout');
      await page.waitForSelector('#login-form');

      assert.deepEqual(
        problems.filter((p) => !/401|Unauthorized/.test(p)),
        [],
        'no console errors (CSP violations included)',
      );
    }
  },
);
