/** Shared test setup: an app on in-memory SQLite (or a given storage), an enrolled agent, a user token. */
import type { FastifyInstance } from 'fastify';
import { launch, type LaunchOptions } from './bootstrap.ts';
import { testConfig, type ApiConfig } from './config.ts';
import { TOKEN_PREFIX, hashToken, newToken } from './auth/tokens.ts';
import { normalizePayload, type PayloadKind } from '@nanny/schema';
import type { Storage } from './storage/storage.ts';
import { createCompileCache } from './routes/validation.ts';

/** every test app of this process reuses the route schemas the first one compiled (validation.ts) */
const compileCache = createCompileCache();

export interface TestApp {
  app: FastifyInstance;
  storage: Storage;
  /** enrollment token for the tenant (10 uses) */
  enroll(org?: string, uses?: number): Promise<string>;
  register(
    hostname?: string,
    extra?: Record<string, unknown>,
    org?: string,
  ): Promise<{ access: string; refresh: string; agentId: string }>;
  /** personal API token */
  pat(scope?: 'read' | 'write', org?: string): Promise<string>;
  post(
    path: string,
    token: string,
    body: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  get(
    path: string,
    token: string,
  ): Promise<{ status: number; json: Record<string, unknown> & { data?: unknown } }>;
  /** an agent made in storage (no enrollment, no HTTP): for seeding big fleets */
  agent(hostname: string, org?: string): Promise<SeedAgent>;
  /**
   * Stores reports straight through storage, many per transaction, as the ingest committer would
   * but without HTTP, listeners (alerts, live) or validation: seeds a fleet of thousands in seconds.
   * Throws when one is refused.
   */
  ingestDirect(reports: readonly { agent: SeedAgent; kind: PayloadKind; body: unknown }[]): Promise<void>;
}

export interface SeedAgent {
  id: string;
  tenant_id: string;
  token_version: number;
}

export async function makeTestApp(
  overrides: Partial<ApiConfig> = {},
  opts: LaunchOptions = {},
): Promise<TestApp> {
  // The bootstrap path, as serve runs it: admin, JWT secret, module timers on ready.
  const app = await launch(testConfig(overrides), { compileCache, ...opts });
  const storage = app.nanny.storage;
  const tenantOf = async (org = 'default') => (await storage.ensureTenant(org, new Date().toISOString())).id;
  const t: TestApp = {
    app,
    storage,
    async enroll(org, uses = 10) {
      const secret = newToken(TOKEN_PREFIX.enrollment);
      await storage.createEnrollmentToken(
        {
          tenant_id: await tenantOf(org),
          max_uses: uses,
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          created_at: new Date().toISOString(),
        },
        hashToken(secret),
      );
      return secret;
    },
    async register(hostname = 'pve-node-01', extra = {}, org) {
      const enrollment_token = await t.enroll(org, 1);
      const r = await app.inject({
        method: 'POST',
        url: '/api/agent/register',
        payload: { enrollment_token, hostname, ...extra },
      });
      if (r.statusCode !== 200) throw new Error(`register failed: ${r.statusCode} ${r.body}`);
      const j = r.json<{ access_token: string; refresh_token: string; agent_id: string }>();
      return { access: j.access_token, refresh: j.refresh_token, agentId: j.agent_id };
    },
    async pat(scope = 'read', org) {
      const secret = newToken(TOKEN_PREFIX.personal);
      await storage.createApiToken(
        {
          tenant_id: await tenantOf(org),
          user_id: null,
          name: 'test',
          scope,
          created_at: new Date().toISOString(),
        },
        hashToken(secret),
      );
      return secret;
    },
    async post(path, token, body) {
      const r = await app.inject({
        method: 'POST',
        url: path,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: r.statusCode, json: r.json() };
    },
    async agent(hostname, org) {
      return storage.createAgent({
        tenant_id: await tenantOf(org),
        hostname,
        cluster_name: null,
        cluster_fingerprint: null,
        agent_version: null,
        pve_version: null,
        created_at: new Date().toISOString(),
      });
    },
    async ingestDirect(reports) {
      const receivedAt = new Date().toISOString();
      for (let i = 0; i < reports.length; i += 500) {
        const jobs = reports.slice(i, i + 500).map((r) => ({
          tenantId: r.agent.tenant_id,
          agentId: r.agent.id,
          tokenVersion: r.agent.token_version,
          kind: r.kind,
          payload: normalizePayload(r.kind, r.body).body as Record<string, unknown>,
          receivedAt,
        }));
        const out = await storage.ingest(jobs);
        const bad = out.findIndex((o) => !o.ok);
        if (bad >= 0) throw new Error(`report ${i + bad} refused: ${JSON.stringify(out[bad])}`);
      }
    },
    async get(path, token) {
      const r = await app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${token}` } });
      return { status: r.statusCode, json: r.json() };
    },
  };
  return t;
}

/** The spec's four curl bodies (PROXMOX_INTEGRATION.md), with a real config map for the LXC one. */
export const SPEC = {
  cluster: { cluster_name: 'production-cluster', cluster_id: 'cluster', nodes: 3, quorate: 1, version: 7 },
  node: {
    name: 'pve-node-01',
    node_id: 1,
    ip: '10.0.1.10',
    online: 1,
    local: 1,
    level: '',
    pve_version: 'pve-manager/7.4-3/9002ab8a',
  },
  lxc: {
    name: 'web-prod-01',
    lxc_id: 'lxc/100',
    status: 'running',
    uptime: 86400,
    vmid: 100,
    node: 'pve-node-01',
    cpu_cores: 4,
    memory_mb: 8192,
    rootfs: 'local-lvm:vm-100-disk-0,size=32G',
    swap_mb: 2048,
    net0: 'name=eth0,bridge=vmbr0,firewall=1,gw=10.0.1.1,hwaddr=BC:24:11:12:34:56,ip=10.0.1.100/24,type=veth',
    ostype: 'ubuntu',
    arch: 'amd64',
    hostname: 'web-prod-01',
    searchdomain: 'example.com',
    nameserver: '8.8.8.8 8.8.4.4',
    features: 'nesting=1,keyctl=1',
    unprivileged: true,
    protection: false,
    tags: 'production,web,nginx',
    timezone: 'America/New_York',
    config: {
      arch: 'amd64',
      cores: 4,
      features: 'nesting=1,keyctl=1',
      hostname: 'web-prod-01',
      memory: 8192,
      net0: 'name=eth0,bridge=vmbr0,firewall=1,gw=10.0.1.1,hwaddr=BC:24:11:12:34:56,ip=10.0.1.100/24,type=veth',
      ostype: 'ubuntu',
      rootfs: 'local-lvm:vm-100-disk-0,size=32G',
      swap: 2048,
      tags: 'production;web;nginx',
      unprivileged: 1,
    },
  },
  qemu: {
    name: 'db-prod-01',
    qemu_id: 'qemu/200',
    status: 'running',
    uptime: 172800,
    vmid: 200,
    node: 'pve-node-01',
    cpu_cores: 8,
    memory_mb: 32768,
    config: {
      agent: 'enabled=1,fstrim_cloned_disks=1',
      boot: 'order=scsi0;ide2;net0',
      bootdisk: 'scsi0',
      cores: 8,
      cpu: 'host',
      machine: 'pc-i440fx-7.2',
      ostype: 'l26',
      sockets: 2,
      scsi0: 'local-lvm:vm-200-disk-0,iothread=1,size=500G',
      net0: 'virtio=BC:24:11:AB:CD:EF,bridge=vmbr0,firewall=1',
      tags: 'production,database,postgresql',
    },
  },
} as const;

/** PostgreSQL for tests (127.0.0.1:5432, database `test`): reachability, a query in a schema, dropping it */
export { PG_URL, dropPgSchema, pgQuery, postgresReachable } from './storage/testing.ts';
