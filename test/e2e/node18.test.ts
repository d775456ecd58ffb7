/**
 * The agent bundle on the Node versions it claims: 18 (PVE 8 ships Debian's nodejs 18.20) and the Node
 * running the tests (20 in CI). For each binary: `collect --once --dry-run` on the simulator, then
 * `register` + the daemon's first `run` cycle against a real nannyapi (on this process's Node), and
 * the data arrives. .ci/run fetches Node 18 from the npm registry and exports its path as NANNY_NODE18.
 */
import { describe, it } from 'node:test';
import { requires } from '@nanny/testing';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  Agent,
  agentBundle,
  requireBundles,
  layoutFlags,
  nodeNames,
  onCleanup,
  Proc,
  startApi,
  waitFor,
} from './harness.ts';

const runtimes = [
  { label: 'Node 18 (NANNY_NODE18)', bin: process.env.NANNY_NODE18 || undefined, major: 18 },
  { label: 'the Node running the tests', bin: process.execPath, major: undefined },
];

// both at once: each is mostly waiting on processes, and together they stay well inside a file's time limit
describe('the agent bundle', { concurrency: true }, () => {
  for (const rt of runtimes) {
    it(`on ${rt.label}: dry-run collect, register and one run cycle`, async (t) => {
      if (!requireBundles(t)) return;
      const bin = rt.bin;
      if (!requires(t, 'node18', bin !== undefined, 'NANNY_NODE18 is not set (the path of a Node 18 binary)'))
        return;
      if (bin === undefined) return;
      const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
      assert.equal(version.status, 0, `${bin} --version: ${version.stderr}`);
      if (rt.major !== undefined)
        assert.match(version.stdout, new RegExp(`^v${rt.major}\\.`), `${bin} is Node ${rt.major}`);

      const api = await startApi(t);
      const read = api.cli(['token', 'create', '--name', 'node18', '--scope', 'read']);
      const enroll = api.cli(['enroll', 'create', '--uses', '1']);
      const sim = layoutFlags(t, { nodes: 1, standalone: true, guests: 4, seed: 18 });
      const [node] = nodeNames(sim);
      assert.ok(node);
      const guests = sim.state().guests;
      const agent = new Agent(t, sim, node, api);
      const env = agent.env() as NodeJS.ProcessEnv;
      const runAgent = (args: string[]) =>
        spawnSync(bin, [agentBundle, ...args], { env, encoding: 'utf8', timeout: 60_000 });

      const dry = runAgent(['collect', '--once', '--dry-run']);
      assert.equal(dry.status, 0, `collect --once --dry-run: ${dry.stderr}`);
      const items = dry.stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { endpoint: string; body: Record<string, unknown> });
      assert.equal(items[0]?.endpoint, '/api/proxmox/node', 'the node report comes first');
      assert.equal(items[0]?.body.name, node);
      const guestItems = items.filter((i) => /\/(lxc|qemu)$/.test(i.endpoint));
      assert.equal(guestItems.length, guests.length, `one report per guest: ${dry.stdout}`);

      const reg = runAgent(['register', '--url', api.url, '--enroll-token', enroll]);
      assert.equal(reg.status, 0, `register: ${reg.stdout}${reg.stderr}`);

      const daemon = new Proc(spawn(bin, [agentBundle, 'run'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
      onCleanup(t, () => daemon.stop());
      await waitFor('the first run cycle', () => {
        if (!daemon.running) throw new Error(`nannyagent run exited:\n${daemon.output}`);
        return agent.lastCycle();
      });
      const stored = await waitFor('the node and its guests stored', async () => {
        const nodes = await api.list<Record<string, unknown>>('/api/nodes', read);
        const rows = await api.list<Record<string, unknown>>('/api/guests?limit=1000', read);
        return nodes.length === 1 && rows.length === guests.length ? { nodes, rows } : undefined;
      });
      assert.equal(stored.nodes[0]!.name, node);
      assert.deepEqual(
        stored.rows.map((r) => r.vmid).sort(),
        guests.map((g) => g.vmid).sort(),
        'every guest arrived',
      );
      assert.equal(daemon.running, true, `the daemon keeps running:\n${daemon.output}`);
    });
  }
});
