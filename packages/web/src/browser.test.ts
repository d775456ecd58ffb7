/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against the real
 * API on loopback (SQLite in a temp dir), fed through the real ingest endpoints with agent tokens.
 * Every page is visited, screenshotted (into .cache/screenshots/ or NANNY_WEB_SCREENSHOTS) and
 * checked with axe-core.
 */
import { onCleanup, requires, test, tempDir, waitFor } from '@nanny/testing';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { SPEC } from '@nanny/api/testing';
import {
  CHROMIUM,
  GiB,
  PASSWORD,
  axeSerious,
  domRows,
  launch,
  post,
  screenshotDir,
  startApi,
} from './testing.ts';
import type { PageCanvas, PageDoc } from './testing.ts';
import { XSS_NAME, seed } from './browser-seed.ts';

/** the guest table's names, top to bottom */
const names = (page: Page) =>
  page.locator('table.guests tbody tr:not(.spacer) td:nth-child(2) a.guest-link').allTextContents();

test(
  'the dashboard: every page in Chromium, live updates, acknowledge, silence, sort, filter, axe',
  { timeout: 300_000 },
  async (t) => {
    const why = `${CHROMIUM} is absent (apt-get install chromium); the browser test did not run`;
    if (!requires(t, 'chromium', existsSync(CHROMIUM), why)) return;
    const dir = tempDir(t, 'web-e2e');
    const shots = screenshotDir(process.env['NANNY_WEB_SCREENSHOTS']);
    const { app, base } = await startApi(dir);
    // onCleanup runs last-registered first: the browser and the API stop before their folder goes
    onCleanup(t, () => app.app.close());
    const { context, page, problems } = await launch(dir);
    onCleanup(t, () => context.close());
    const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    // every page's serious accessibility problems, asserted at the end (one failure lists them all)
    const axeFound: string[] = [];
    const accessible = async (where: string) =>
      axeFound.push(...(await axeSerious(page)).map((v) => `${where}: ${v}`));
    // a 404 is expected only from the routes other releases add (the page says "not available")
    const missing: string[] = [];
    page.on('response', (r) => {
      if (r.status() === 404 && !/\/api\/(storage|backups|guests\/[^/]+\/history)(\?|$)/.test(r.url()))
        missing.push(r.url());
    });

    try {
      await drive();
    } catch (err) {
      await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => null);
      t.diagnostic(`failure screenshot: ${join(shots, 'failure.png')}; console: ${problems.join(' | ')}`);
      throw err;
    }
    t.diagnostic(`screenshots: ${shots}`);

    async function drive() {
      await page.goto(`${base}/`);
      await page.waitForSelector('#login-form');
      // a wrong password shows the API's error_description
      await page.fill('#login-user', 'admin');
      await page.fill('#login-pass', 'wrong');
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('#login-form .form-error:not([hidden])');
      assert.equal(await page.textContent('#login-form .form-error'), 'Wrong username or password');
      await accessible('the login form');
      await shot('login');
      await page.fill('#login-pass', PASSWORD);
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('.empty-title:text("No data yet — enroll an agent:")');
      assert.equal(await page.textContent('.empty code.cmd'), 'npx nannyapi enroll create');
      await shot('empty');

      const tokens = await seed(app, base);
      await page.reload(); // the session cookie keeps the login
      await page.waitForSelector('tr[data-node="pve-node-03"]');

      // ---- overview
      const clusterCard = page.locator('section.card', { has: page.locator('tr[data-node="pve-node-01"]') });
      assert.equal(await clusterCard.locator('.badge-ok:text("quorate")').count(), 1);
      assert.match((await clusterCard.locator('.card-extra').textContent()) ?? '', /3 \/ 3 nodes online/);
      assert.equal(await clusterCard.locator('tbody tr').count(), 3);
      const mismatched = clusterCard.locator('.version.mismatch');
      assert.equal(await mismatched.count(), 1);
      assert.match((await mismatched.textContent()) ?? '', /8\.3\.5/);
      assert.equal(await clusterCard.locator('.badge-warn:text("version mismatch")').count(), 1);
      const standalone = page.locator('section.card', { has: page.locator('h2:text("Standalone nodes")') });
      assert.equal(await standalone.locator('tr[data-node="pve-solo"]').count(), 1);
      assert.match((await page.locator('.stats').textContent()) ?? '', /Guests running3 \/ 4/);
      assert.equal(await page.locator('section.card h2 .site-tag').count(), 2);
      const other = page.locator('section.card', { has: page.locator('tr[data-node="pve-b1"]') });
      assert.equal(await other.locator('h2 .site-tag').textContent(), 'fingerprint b7e3c1d0');
      assert.equal(await other.locator('.badge-crit:text("no quorum")').count(), 1);
      assert.equal(await page.textContent('#user-name'), 'admin');
      // the Alerts tab counts the firing alerts the overview lists
      const firing =
        (await page.locator('.stat', { hasText: 'Firing alerts' }).locator('.stat-value').textContent()) ??
        '';
      await page.waitForFunction(
        (n) =>
          (globalThis as unknown as { document: PageDoc }).document.querySelector('#nav-alerts')
            ?.textContent === n,
        firing,
      );
      await accessible('the overview');
      await shot('overview');

      // ---- cluster page: nodes, versions, membership
      await clusterCard.locator('a.cluster-link').click();
      await page.waitForSelector('table.membership tbody tr');
      assert.equal(await page.locator('table.versions tbody tr').count(), 2);
      assert.equal(await page.locator('table.membership tbody tr').count(), 3);
      assert.match((await page.locator('table.views').textContent()) ?? '', /pve-node-02/);
      await accessible('the cluster page');
      await shot('cluster');

      // ---- guests: usage columns, sort, search language; the hostile name is text
      await page.click('#nav a[data-view="guests"]');
      await page.waitForSelector('table.guests tbody tr[data-guest]');
      assert.equal(await domRows(page), 4);
      assert.equal(await page.locator('table.guests td', { hasText: XSS_NAME }).count(), 1);
      assert.equal(await page.locator('table.guests img').count(), 0);
      assert.equal(await page.evaluate(() => (globalThis as { __xss?: number }).__xss), undefined);
      const web = page.locator('tr[data-guest]', { hasText: 'web-prod-01' });
      assert.match((await web.locator('td.col-bar').first().textContent()) ?? '', /42 % of 4/);
      assert.match((await web.locator('td.col-bar').nth(1).textContent()) ?? '', /3\.0 GiB \/ 16\.0 GiB/);
      await page.click('button.sort[data-sort="name"]');
      await page.waitForSelector('th[aria-sort="ascending"] button[data-sort="name"]');
      assert.deepEqual(await names(page), [XSS_NAME, 'db-prod-01', 'homeassistant', 'web-prod-01']);
      await page.click('button.sort[data-sort="cpu"]');
      await page.click('button.sort[data-sort="cpu"]');
      await page.waitForSelector('th[aria-sort="descending"] button[data-sort="cpu"]');
      assert.equal((await names(page))[0], 'web-prod-01');
      await accessible('the guest list');
      await shot('guests');
      await page.selectOption('select[name=type]', 'qemu');
      await page.waitForFunction(
        () =>
          (globalThis as unknown as { document: PageDoc }).document.querySelectorAll('tr[data-guest]')
            .length === 2,
      );
      await page.selectOption('select[name=type]', '');
      for (const [q, want] of [
        ['tag:test', [XSS_NAME]],
        ['node:pve-solo', ['homeassistant']],
        ['status:running type:lxc', ['web-prod-01']],
        ['db-', ['db-prod-01']],
      ] as const) {
        await page.fill('input[name=q]', q);
        await waitFor(async () => JSON.stringify(await names(page)) === JSON.stringify(want), {
          what: `the guests matching ${q}`,
        });
      }
      await page.fill('input[name=q]', 'nothing-like-this');
      await page.waitForSelector('.empty-title:text("No guests match these filters.")');

      // ---- one guest: parsed network and disks, the configuration change as a diff
      await page.fill('input[name=q]', 'web-prod');
      await page.click('a.guest-link:text("web-prod-01")');
      await page.waitForSelector('table.nets tbody tr');
      const net = (await page.textContent('table.nets tbody tr')) ?? '';
      assert.match(net, /net0.*vmbr0.*10\.0\.1\.100\/24/);
      assert.match((await page.textContent('table.disks tbody')) ?? '', /rootfs.*local-lvm.*32\.0 GiB/);
      assert.equal(await page.locator('pre.diff .del:text("- memory: 8192")').count(), 1);
      assert.equal(await page.locator('pre.diff .add:text("+ memory: 16384")').count(), 1);
      assert.equal(await page.getAttribute('#nav a[data-view="guests"]', 'aria-current'), 'page');
      await accessible('a guest');
      await shot('guest');

      // ---- node: every reported field, charts drawn with their points, the range that fits the data
      await page.click('#nav a[data-view="overview"]');
      await page.click('tr[data-node="pve-node-01"] a.node-link');
      await page.waitForSelector(
        '.charts[data-range="6h"] figure[data-chart="CPU"][data-drawn="true"] canvas',
      );
      assert.equal(await page.getAttribute('button.seg[data-range="6h"]', 'aria-pressed'), 'true');
      const facts = (await page.textContent('dl.facts')) ?? '';
      for (const want of [
        /AMD EPYC 7313P/,
        /Sockets1/,
        /Cores16/,
        /Load \(5 min\)0\.80/,
        /Load \(15 min\)0\.70/,
        /I\/O wait2\.0 %/,
      ])
        assert.match(facts, want);
      assert.match((await page.textContent('.meters')) ?? '', /Swap1\.0 GiB \/ 8\.0 GiB/);
      // 21 samples of node 01 (25 minus its 20-minute silence), drawn on a canvas with pixels in it
      assert.equal(await page.getAttribute('figure[data-chart="CPU"]', 'data-points'), '21');
      // the memory axis ends at the node's 64 GiB, not at a rounded-up 80
      assert.equal(Number(await page.getAttribute('figure[data-chart="Memory"]', 'data-y-max')), 64 * GiB);
      // swap, I/O wait and load 5/15 are kept in the samples (migration 0401): charted too
      assert.equal(Number(await page.getAttribute('figure[data-chart="Swap"]', 'data-y-max')), 8 * GiB);
      assert.equal(
        await page.locator('figure[data-chart="Load"] .u-legend .u-series').count(),
        4,
        'time + 1/5/15',
      );
      assert.equal(
        await page.locator('figure[data-chart="CPU"] .u-legend .u-series').count(),
        3,
        'time, busy, I/O wait',
      );
      // network (migration 0402): the rate between consecutive counter samples, so 21 samples give
      // 20 points (the first has no predecessor); the axis in binary units
      const netChart = 'figure[data-chart="Network"]';
      assert.equal(await page.getAttribute(netChart, 'data-points'), '20');
      assert.equal(Number(await page.getAttribute(netChart, 'data-y-max')), 1024 * 1024);
      assert.equal(await page.textContent(`${netChart} .chart-now`), 'in 1.0 MiB/s · out 512 KiB/s');
      assert.equal(await page.locator('.charts-note').count(), 0, 'every node chart has its history');
      const inked = (chart: string) =>
        page.evaluate((sel) => {
          const c = (globalThis as unknown as { document: PageDoc }).document.querySelector<PageCanvas>(sel);
          const d = c?.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? [];
          let n = 0;
          for (let i = 3; i < d.length; i += 4) if ((d[i] ?? 0) > 0) n++;
          return n;
        }, `figure[data-chart="${chart}"] canvas`);
      await page.waitForSelector('figure[data-chart="Network"][data-drawn="true"] canvas');
      for (const chart of ['CPU', 'Network']) {
        const n = await inked(chart);
        assert.ok(n > 500, `the ${chart} canvas has ${n} drawn pixels`);
      }
      assert.equal(await page.locator('table.guests tbody tr').count(), 3);
      await page.click('button.seg[data-range="1h"]');
      await page.waitForSelector('.charts[data-range="1h"] figure[data-chart="CPU"][data-drawn="true"]');
      // the legend reads the values under the cursor
      const plot = page.locator('figure[data-chart="CPU"] .u-over');
      await plot.hover({ position: { x: 200, y: 50 } });
      await page.waitForFunction(() =>
        /%/.test(
          (globalThis as unknown as { document: PageDoc }).document.querySelector(
            'figure[data-chart="CPU"] .u-legend .u-series:nth-child(2) .u-value',
          )?.textContent ?? '',
        ),
      );
      await accessible('a node');
      await shot('node');

      // ---- live: a reboot reported while the events page is open arrives without a reload
      await page.click('#nav a[data-view="events"]');
      await page.waitForSelector('ol.timeline li');
      await page.evaluate(() => ((globalThis as { __still?: number }).__still = 1));
      await post(base, '/api/proxmox/node', tokens.get('pve-node-02')!, {
        ...SPEC.node,
        name: 'pve-node-02',
        node_id: 2,
        ip: '10.0.1.11',
        cluster_name: SPEC.cluster.cluster_name,
        pve_version: 'pve-manager/8.4.1/2a5fa54a8503f96d',
        uptime_seconds: 120,
      });
      await page.waitForSelector('ol.timeline li .badge:text("rebooted")');
      assert.equal(await page.evaluate(() => (globalThis as { __still?: number }).__still), 1, 'no reload');
      await page.selectOption('select[name=type]', 'rebooted');
      await page.waitForFunction(
        () =>
          (globalThis as unknown as { document: PageDoc }).document.querySelectorAll('ol.timeline li')
            .length === 1,
      );
      await shot('events');

      // ---- alerts: resolved (times in the locale's format), acknowledge, silence
      await page.click('#nav a[data-view="alerts"]');
      await page.click('button.seg[data-state="resolved"]');
      const reboot = page.locator('table.alerts tbody tr', { hasText: 'rebooted' }).first();
      await reboot.waitFor();
      assert.doesNotMatch((await reboot.textContent()) ?? '', /\d{4}-\d{2}-\d{2}T\d{2}:/);
      await page.click('button.seg[data-state="firing"]');
      const row = page.locator('table.alerts tbody tr', { hasText: 'pve-solo' });
      await row.locator('button:text("Acknowledge")').click();
      await row.locator('text=ack by admin').waitFor();
      await page.fill('input[name=q]', 'pve-solo');
      assert.equal(await page.locator('table.alerts tbody tr').count(), 1);
      await row.locator('select.silence-for').selectOption('14400');
      await row.locator('button:text("Silence")').click();
      await page.locator('table.silences tbody tr', { hasText: 'pve-solo' }).waitFor();
      await page.fill('input[name=q]', '');
      await accessible('the alerts');
      await shot('alerts');

      // ---- storage: every pool, fullest first (node 03's local-lvm), the shared one once
      await page.click('#nav a[data-view="storage"]');
      await page.waitForSelector('table.storage tbody tr');
      assert.equal(await page.locator('table.storage tbody tr').count(), 4);
      assert.match(
        (await page.locator('table.storage tbody tr').first().textContent()) ?? '',
        /local-lvm.*pve-node-03/,
      );
      assert.equal(await page.locator('table.storage tbody tr', { hasText: 'nfs-iso' }).count(), 1);
      await accessible('the storage');
      await shot('storage');
      // ---- backups: none reported here
      await page.click('#nav a[data-view="backups"]');
      await page.waitForSelector('.empty-title:text("No backups reported yet.")');
      await shot('backups');

      // ---- settings: an enrollment token with its install command, agents, a channel, tokens
      await page.click('#nav a[data-view="settings"]');
      await page.waitForSelector('table.agents tbody tr[data-agent="pve-node-01"]');
      await page.click('#enroll-form button[type=submit]');
      const cmd = (await page.locator('#install-command').textContent()) ?? '';
      assert.match(
        cmd,
        new RegExp(
          `^nannyagent register --url ${base} --enroll-token nanny_\\S+ && systemctl start nannyagent$`,
        ),
      );
      await page.fill('input[name=name]', 'ops-hook');
      await page.fill('input[name=url]', 'https://hooks.example.com/nanny');
      await page.click('#channel-form button[type=submit]');
      await page.waitForSelector('tr[data-channel="ops-hook"]');
      page.once('dialog', (d) => void d.accept());
      await page.click('tr[data-channel="ops-hook"] button:text("Delete")');
      await page.waitForSelector('tr[data-channel="ops-hook"]', { state: 'detached' });
      // users: create one (its password shown once), make it an admin, delete it
      await page.fill('#user-form input[name=username]', 'night-shift');
      await page.click('#user-form button[type=submit]');
      await page.waitForSelector('table.users tr[data-user="night-shift"]');
      assert.match((await page.locator('#new-user-password').textContent()) ?? '', /^\S{20,}$/);
      assert.equal(await page.locator('table.users tr[data-user="admin"] button:text("Delete")').count(), 0);
      await page.selectOption('table.users tr[data-user="night-shift"] select', 'admin');
      const reader = await app.pat('read');
      await waitFor(
        async () => {
          const r = await app.get('/api/users', reader);
          return (r.json.data as { username: string; role: string }[]).some(
            (u) => u.username === 'night-shift' && u.role === 'admin',
          );
        },
        { what: 'night-shift to be an admin' },
      );
      await accessible('the settings');
      await shot('settings');
      page.once('dialog', (d) => void d.accept());
      await page.click('table.users tr[data-user="night-shift"] button:text("Delete")');
      await page.waitForSelector('table.users tr[data-user="night-shift"]', { state: 'detached' });

      // ---- a split: the cluster card says "partitioned", lists who sees whom, greys out nobody
      const trio = ['pve-node-01', 'pve-node-02', 'pve-node-03'];
      for (const [i, name] of trio.entries()) {
        await post(base, '/api/proxmox/cluster', tokens.get(name) ?? '', {
          ...SPEC.cluster,
          quorate: 0,
          reporting_node: name,
          members: trio.map((m, k) => ({
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
      const splitCard = page.locator('section.card', { has: page.locator('tr[data-node="pve-node-01"]') });
      await splitCard.locator('.partitions').waitFor();
      assert.equal(await splitCard.locator('.card-extra .badge-crit:text("partitioned")').count(), 1);
      const who = (await splitCard.locator('.partitions').textContent()) ?? '';
      for (const name of trio) assert.ok(who.includes(`{${name}}`), who);
      assert.equal(await splitCard.locator('tr.row-offline').count(), 0);
      assert.equal(await splitCard.locator('[data-state="partitioned"]').count(), 3);

      // ---- dark scheme, and a phone-sized window (390 px): no sideways scrolling of the page
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.click('tr[data-node="pve-node-03"] a.node-link');
      await page.waitForSelector('figure[data-chart="Load"][data-drawn="true"]');
      await accessible('a node, dark');
      await shot('node-dark');
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize({ width: 390, height: 844 });
      for (const [v, sel] of [
        ['overview', 'tr[data-node="pve-node-03"]'],
        ['guests', 'tr[data-guest]'],
      ] as const) {
        await page.click(`#nav a[data-view="${v}"]`);
        await page.waitForSelector(sel);
        const overflow = await page.evaluate(() => {
          const d = (globalThis as unknown as { document: PageDoc }).document.documentElement;
          return d.scrollWidth - d.clientWidth;
        });
        assert.ok(overflow <= 1, `${v}: the page is ${overflow} px wider than a 390 px window`);
        await shot(`${v}-narrow`);
      }

      await page.click('#logout');
      await page.waitForSelector('#login-form');
      assert.deepEqual(axeFound, [], 'axe-core: no serious or critical violations');
      assert.deepEqual(missing, [], 'no request answered 404 but the optional routes');
      assert.deepEqual(
        problems.filter((p) => !/401|Unauthorized|404 \(Not Found\)/.test(p)),
        [],
        'no console errors (CSP violations included)',
      );
    }
  },
);
