/**
 * End-to-end harness: the real nannyapi process, real nannyagent processes (the built bundles) and the
 * simulator, over real HTTP on loopback. Every process started here is killed when the test ends.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createLayout, scenarioFromFlags, type Scenario, type Simulator } from '@nanny/pve-sim';
import {
  budgets,
  onCleanup,
  requires,
  spawnTracked,
  stopChild,
  tempDir as testingTempDir,
  waitFor as waitForShared,
  type BudgetName,
} from '@nanny/testing';

export { onCleanup };

export const repoRoot = new URL('../../', import.meta.url).pathname;
export const apiBundle = join(repoRoot, 'packages/api/dist/nannyapi.mjs');
export const agentBundle = join(repoRoot, 'packages/agent/dist/nannyagent.mjs');
const toolsBundle = join(repoRoot, 'packages/pve-sim/dist/pve-tools.mjs');

interface TestContext {
  after(fn: () => unknown): void;
  skip(message?: string): void;
}

/** Why the e2e suite cannot run, or undefined when the bundles are built. */
export function bundlesMissing(): string | undefined {
  const missing = [apiBundle, agentBundle, toolsBundle].filter((f) => !existsSync(f));
  return missing.length ? `bundles not built (run \`npm run build\`): ${missing.join(', ')}` : undefined;
}

/** The requirement switch for the built bundles: false (skipped) or a failure (NANNY_REQUIRE=bundles) without them. */
export function requireBundles(t: TestContext): boolean {
  const why = bundlesMissing();
  return requires(t, 'bundles', why === undefined, why ?? '');
}

export function tempDir(t: TestContext, prefix: string): string {
  return testingTempDir(t, `e2e-${prefix}`);
}

/**
 * The shared waitFor (@nanny/testing) with the e2e suite's argument order; the default budget is
 * `long`, as several processes have to work together.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  budget: BudgetName = 'long',
): Promise<T> {
  return waitForShared(probe, { what, budget, everyMs: 100 });
}

/** A child process whose output is kept, killed (whole group) on stop. */
export class Proc {
  output = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}

function startProc(t: TestContext, args: string[], env: Record<string, string | undefined>): Proc {
  // spawnTracked stops it when the test ends, and kills it if this file is killed at its limit
  const child = spawnTracked(t, process.execPath, args, {
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Proc(child);
}

const baseEnv = (): Record<string, string | undefined> => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
});

// ---------------------------------------------------------------- nannyapi

export interface ApiOptions {
  env?: Record<string, string>;
}

export class ApiServer {
  proc: Proc | undefined;
  url = '';
  port = 0;
  constructor(
    private readonly t: TestContext,
    readonly dataDir: string,
    private readonly opts: ApiOptions = {},
  ) {}

  private env(): Record<string, string | undefined> {
    return {
      ...baseEnv(),
      NANNYAPI_DATA_DIR: this.dataDir,
      NANNYAPI_HOST: '127.0.0.1',
      NANNYAPI_LOG_LEVEL: 'warn',
      // the webhook receivers of these tests are on loopback, which channels reach only when allowed
      NANNYAPI_ALLOWED_CHANNEL_NETWORKS: '127.0.0.0/8,::1/128',
      ...this.opts.env,
    };
  }

  /** Starts (or restarts, on the same port) the server and waits until it answers. */
  async start(): Promise<void> {
    const p = startProc(this.t, [apiBundle, 'serve', '--port', String(this.port)], this.env());
    this.proc = p;
    const url = await waitFor(
      'nannyapi to listen',
      () => {
        if (!p.running) throw new Error(`nannyapi exited:\n${p.output}`);
        return /nannyapi listening on (http:\/\/[^\s]+)/.exec(p.output)?.[1];
      },
      'processStart',
    );
    this.url = url;
    this.port = Number(new URL(url).port);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  /** Runs a nannyapi CLI command against the same data dir; returns its last output line. */
  cli(args: string[]): string {
    const r = spawnSync(process.execPath, [apiBundle, ...args], {
      env: this.env() as NodeJS.ProcessEnv,
      encoding: 'utf8',
      timeout: budgets.processStart,
    });
    if (r.status !== 0)
      throw new Error(`nannyapi ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout.trim().split('\n').at(-1)!.trim();
  }

  async get<T = unknown>(path: string, token: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as T;
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }

  async post<T = unknown>(path: string, token: string, body: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const out = (await res.json()) as T;
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(out)}`);
    return out;
  }

  async list<T = Record<string, unknown>>(path: string, token: string): Promise<T[]> {
    return (await this.get<{ data: T[] }>(path, token)).data;
  }
}

export async function startApi(t: TestContext, opts: ApiOptions = {}): Promise<ApiServer> {
  const api = new ApiServer(t, join(tempDir(t, 'api'), 'data'), opts);
  await api.start();
  return api;
}

// ---------------------------------------------------------------- simulator + agents

export function layout(t: TestContext, scenario: Scenario): Simulator {
  return createLayout({ out: join(tempDir(t, 'sim'), 'layout'), scenario });
}

export function layoutFlags(t: TestContext, flags: Parameters<typeof scenarioFromFlags>[0]): Simulator {
  return layout(t, scenarioFromFlags(flags));
}

export interface AgentOptions {
  intervalSeconds?: number;
  source?: string;
  env?: Record<string, string>;
}

export class Agent {
  proc: Proc | undefined;
  readonly stateDir: string;
  constructor(
    private readonly t: TestContext,
    readonly sim: Simulator,
    readonly node: string,
    readonly api: ApiServer,
    private readonly opts: AgentOptions = {},
  ) {
    this.stateDir = join(tempDir(t, `agent-${node}`), 'state');
  }

  env(): Record<string, string | undefined> {
    const p = this.sim.paths(this.node);
    return {
      PATH: `${p.bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: process.env.HOME,
      NANNYAGENT_CONFIG: '/dev/null',
      NANNYAPI_URL: this.api.url,
      NANNYAGENT_PVE_ROOT: p.etcPve,
      NANNYAGENT_PROC_ROOT: p.proc,
      NANNYAGENT_HOSTS_FILE: p.hosts,
      NANNYAGENT_DPKG_STATUS: p.dpkgStatus,
      NANNYAGENT_TASKS_ROOT: p.tasks,
      NANNYAGENT_PVE_LIB_ROOT: p.pveLib,
      NANNYAGENT_PKGUPDATES: p.pkgUpdates,
      NANNYAGENT_APT_LISTS: p.aptLists,
      NANNYAGENT_STATE_DIR: this.stateDir,
      NANNYAGENT_SOURCE: this.opts.source ?? 'auto',
      PROXMOX_INTERVAL: String(this.opts.intervalSeconds ?? 1),
      NANNYAGENT_RETRY_BASE: '0.05',
      NANNYAGENT_RETRY_MAX: '0.5',
      NANNYAGENT_LOG_LEVEL: 'info',
      ...this.opts.env,
    };
  }

  run(args: string[]): { code: number | null; out: string } {
    const r = spawnSync(process.execPath, [agentBundle, ...args], {
      env: this.env() as NodeJS.ProcessEnv,
      encoding: 'utf8',
      timeout: budgets.processStart,
    });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  }

  register(enrollToken: string): void {
    const r = this.run(['register', '--url', this.api.url, '--enroll-token', enrollToken]);
    if (r.code !== 0) throw new Error(`register on ${this.node} failed: ${r.out}`);
  }

  start(): void {
    this.proc = startProc(this.t, [agentBundle, 'run'], this.env());
  }

  get log(): string {
    return this.proc?.output ?? '';
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  /** The agent dies: SIGKILL to its whole process group (its pmxcfs reader too), no goodbye. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (p?.child.pid === undefined || !p.running) return;
    process.kill(-p.child.pid, 'SIGKILL'); // spawnTracked makes it the leader of its own group
    await p.exited;
  }

  /** The agent's last-cycle.json (undefined before its first cycle). */
  lastCycle():
    | { started_at: string; finished_at: string; duration_ms: number; reports: number; errors: string[] }
    | undefined {
    const file = join(this.stateDir, 'last-cycle.json');
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ReturnType<Agent['lastCycle']>;
    } catch {
      return undefined; // mid-write
    }
  }

  /** Waits until `n` more cycles have finished than when called. */
  async cycles(n: number, budget: BudgetName = 'long'): Promise<void> {
    const seen = new Set<string>();
    const first = this.lastCycle()?.finished_at;
    await waitForShared(
      () => {
        const f = this.lastCycle()?.finished_at;
        if (f !== undefined && f !== first) seen.add(f);
        return seen.size >= n;
      },
      { what: `${n} agent cycle(s) on ${this.node}`, budget, everyMs: 50 },
    );
  }
}

/** Enrolls and starts one agent per node of the simulator. */
export function startAgents(
  t: TestContext,
  sim: Simulator,
  api: ApiServer,
  nodes: string[],
  opts: AgentOptions = {},
): Agent[] {
  const enroll = api.cli(['enroll', 'create', '--uses', String(nodes.length)]);
  return nodes.map((node) => {
    const a = new Agent(t, sim, node, api, opts);
    a.register(enroll);
    a.start();
    return a;
  });
}

// ---------------------------------------------------------------- a webhook receiver

export interface Received {
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** Date.now() when the request's body had arrived (the latency benchmark measures up to here) */
  at: number;
}

export async function webhookReceiver(t: TestContext): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      try {
        received.push({
          headers: req.headers,
          body: JSON.parse(data) as Record<string, unknown>,
          at: Date.now(),
        });
      } catch {
        received.push({ headers: req.headers, body: { raw: data }, at: Date.now() });
      }
      res.writeHead(200).end('ok');
    });
  });
  onCleanup(
    t,
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections(); // a kept-alive connection would hold close() open
        server.close(() => r());
      }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

export function nodeNames(sim: Simulator): string[] {
  return sim.state().nodes.map((n) => n.name);
}
