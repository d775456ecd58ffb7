/**
 * The dashboard with a big fleet in Chromium: 200 nodes (10 clusters of 20) with 5,000 guests for
 * the overview, then 10,000 guests for the guest list. The list must keep fewer than 200 rows in
 * the DOM however far it is scrolled (asserted). How long the overview takes to show its content is
 * measured and printed, not asserted (no wall-clock thresholds in tests); docs/dashboard.md records it.
 */
import { onCleanup, requires, test, tempDir, waitFor } from '@nanny/testing';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SeedAgent, TestApp } from '@nanny/api/testing';
import { CHROMIUM, GiB, domRows, launch, login, screenshotDir, startApi } from './testing.ts';
import type { PageDoc } from './testing.ts';

const CLUSTERS = 10;
const PER_CLUSTER = 20;

type Seeded = { agent: SeedAgent; name: string; cluster: string; index: number };

/**
 * 200 nodes in 10 clusters, stored straight through storage (app.ingestDirect): the test is about
 * the browser, and 10,000 HTTP reports were most of its time.
 */
async function seedFleet(app: TestApp): Promise<Seeded[]> {
  const nodes: Seeded[] = [];
  const reports: Parameters<TestApp['ingestDirect']>[0][number][] = [];
  for (let c = 0; c < CLUSTERS; c++) {
    const cluster = `dc-${c}`;
    const members = Array.from({ length: PER_CLUSTER }, (_, k) => ({
      name: `${cluster}-n${k}`,
      node_id: k + 1,
      online: 1,
    }));
    for (let k = 0; k < PER_CLUSTER; k++) {
      const name = `${cluster}-n${k}`;
      const agent = await app.agent(name);
      nodes.push({ agent, name, cluster, index: c * PER_CLUSTER + k });
      reports.push({
        agent,
        kind: 'cluster',
        body: {
          cluster_name: cluster,
          cluster_id: cluster,
          nodes: PER_CLUSTER,
          quorate: 1,
          version: 3,
          reporting_node: name,
          members,
        },
      });
      reports.push({
        agent,
        kind: 'node',
        body: {
          name,
          node_id: k + 1,
          online: 1,
          cluster_name: cluster,
          pve_version: 'pve-manager/8.4.1/2a5fa54a8503f96d',
          cpu_usage_ratio: 0.1 + (k % 10) / 20,
          mem_total_bytes: 256 * GiB,
          mem_used_bytes: (40 + k) * GiB,
          rootfs_total_bytes: 100 * GiB,
          rootfs_used_bytes: 20 * GiB,
          load_avg_1m: 1.5,
          uptime_seconds: 86400,
        },
      });
    }
  }
  await app.ingestDirect(reports);
  return nodes;
}

async function addGuests(app: TestApp, nodes: readonly Seeded[], from: number, per: number) {
  await app.ingestDirect(
    nodes.flatMap((n) =>
      Array.from({ length: per }, (_, i) => {
        const j = from + i;
        const vmid = 1000 + n.index * 100 + j;
        return {
          agent: n.agent,
          kind: j % 2 ? ('qemu' as const) : ('lxc' as const),
          body: {
            name: `g-${vmid}`,
            ...(j % 2 ? { qemu_id: `qemu/${vmid}` } : { lxc_id: `lxc/${vmid}` }),
            vmid,
            node: n.name,
            cluster_name: n.cluster,
            status: j % 5 === 0 ? 'stopped' : 'running',
            cpu_cores: 2,
            memory_mb: 4096,
            cpu_usage_ratio: (vmid % 97) / 100,
            mem_used_bytes: (vmid % 40) * 100 * 1048576,
            tags: j % 3 ? 'web' : 'db',
          },
        };
      }),
    ),
  );
}

test(
  '200 nodes and 10,000 guests: the overview shows them, the guest list keeps under 200 rows in the DOM',
  { timeout: 900_000 },
  async (t) => {
    if (!requires(t, 'chromium', existsSync(CHROMIUM), `${CHROMIUM} is absent; the scale test did not run`))
      return;
    const dir = tempDir(t, 'web-scale');
    const shots = screenshotDir(process.env['NANNY_WEB_SCREENSHOTS']);
    const { app, base } = await startApi(dir);
    // onCleanup runs last-registered first: the browser and the API stop before their folder goes
    onCleanup(t, () => app.app.close());
    const seedStart = performance.now();
    const nodes = await seedFleet(app);
    await addGuests(app, nodes, 0, 25);
    t.diagnostic(`seeded 200 nodes and 5,000 guests in ${Math.round(performance.now() - seedStart)} ms`);
    const { context, page } = await launch(dir);
    onCleanup(t, () => context.close());
    await login(page, base);

    // the overview, loaded fresh three times: from navigation start to every node row on screen
    // (a new document each time, so performance.now() counts from its navigation start)
    const loads: number[] = [];
    let timings: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page.goto('about:blank');
      await page.goto(`${base}/#/`);
      await page.waitForFunction(
        (n) =>
          (globalThis as unknown as { document: PageDoc }).document.querySelectorAll('tr[data-node]')
            .length === n,
        CLUSTERS * PER_CLUSTER,
      );
      loads.push(await page.evaluate(() => performance.now()));
      timings = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .map(
            (e) =>
              `${e.name.replace(/^https?:\/\/[^/]+/, '')} ${Math.round(e.startTime)}+${Math.round(e.duration)}`,
          ),
      );
    }
    const overviewMs = [...loads].sort((x, y) => x - y)[1]!;
    t.diagnostic(`requests of the last load (start+duration ms): ${timings.join(', ')}`);
    assert.match((await page.locator('.stats').textContent()) ?? '', /Guests running4000 \/ 5000/);
    await page.screenshot({ path: join(shots, 'scale-overview.png') });
    t.diagnostic(
      `overview with 200 nodes and 5,000 guests: content after ${loads.map(Math.round).join(' / ')} ms, median ${Math.round(overviewMs)} ms (navigation start → all node rows)`,
    );
    console.log(`# scale: overview 200 nodes / 5000 guests in ${Math.round(overviewMs)} ms`);

    await addGuests(app, nodes, 25, 25);
    await page.goto('about:blank');
    await page.goto(`${base}/#/guests`);
    await page.waitForSelector('tr[data-guest]');
    const listMs = await page.evaluate(() => performance.now());
    assert.equal(await page.locator('.card-extra [aria-live]').textContent(), '10000');
    const first = await domRows(page);
    assert.ok(first > 0 && first < 200, `${first} rows in the DOM`);
    // scroll to the end: the last guest is shown, and still only a window of rows exists
    await page.evaluate(() => {
      const s = (globalThis as unknown as { document: PageDoc }).document.querySelector('.vscroll');
      if (s) s.scrollTop = s.scrollHeight;
    });
    const lastVmid = String(1000 + (CLUSTERS * PER_CLUSTER - 1) * 100 + 49);
    await waitFor(
      async () => (await page.locator(`tr[data-guest] td:first-child:text-is("${lastVmid}")`).count()) === 1,
      {
        what: 'the last guest after scrolling',
      },
    );
    const after = await domRows(page);
    assert.ok(after > 0 && after < 200, `${after} rows in the DOM after scrolling`);
    // sorting 10,000 rows re-renders the window, not the list
    await page.click('button.sort[data-sort="cpu"]');
    await page.waitForSelector('th[aria-sort="ascending"] button[data-sort="cpu"]');
    assert.ok((await domRows(page)) < 200);
    await page.screenshot({ path: join(shots, 'scale-guests.png') });
    t.diagnostic(
      `guest list with 10,000 guests: first rows after ${Math.round(listMs)} ms; ${first} / ${after} rows in the DOM`,
    );
    console.log(`# scale: guest list 10000 guests in ${Math.round(listMs)} ms, ${first}/${after} DOM rows`);
  },
);
