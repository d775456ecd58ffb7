/**
 * Files in the state directory (NANNYAGENT_STATE_DIR, default /var/lib/nannyagent): the credentials
 * (mode 0600: they let anyone post as this node), the last cycle's summary for `nannyagent status`,
 * and the spool (spool.ts). Writes are atomic (temp file, fsync, rename).
 */
import { chmod, mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export interface Credentials {
  api_url: string;
  agent_id: string;
  access_token: string;
  refresh_token: string;
  /** ISO time the access token expires */
  expires_at: string;
  registered_at: string;
}

export interface LastCycle {
  started_at: string;
  finished_at: string;
  duration_ms: number;
  source: string;
  node?: string;
  proxmox: boolean;
  cluster_name?: string;
  reports: number;
  errors: string[];
}

/** Written when delivery changes between working and refused by the API (e.g. the agent was revoked). */
export interface DeliveryState {
  /** the API refuses this agent's tokens: nothing will be delivered until it registers again */
  auth_rejected: boolean;
  since: string;
  detail?: string;
}

export interface StateStore {
  dir: string;
  readCredentials(): Promise<Credentials | undefined>;
  writeCredentials(c: Credentials): Promise<void>;
  readLastCycle(): Promise<LastCycle | undefined>;
  writeLastCycle(c: LastCycle): Promise<void>;
  readDelivery(): Promise<DeliveryState | undefined>;
  writeDelivery(d: DeliveryState): Promise<void>;
  spoolDir: string;
}

async function atomicWrite(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  // open()'s mode is filtered by the umask; make it exact.
  await chmod(tmp, mode);
  await rename(tmp, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function createStateStore(dir: string): StateStore {
  const ensure = () => mkdir(dir, { recursive: true, mode: 0o700 });
  return {
    dir,
    spoolDir: join(dir, 'spool'),
    readCredentials: () => readJson<Credentials>(join(dir, 'credentials.json')),
    async writeCredentials(c) {
      await ensure();
      await atomicWrite(join(dir, 'credentials.json'), JSON.stringify(c, null, 2) + '\n', 0o600);
    },
    readLastCycle: () => readJson<LastCycle>(join(dir, 'last-cycle.json')),
    async writeLastCycle(c) {
      await ensure();
      await atomicWrite(join(dir, 'last-cycle.json'), JSON.stringify(c, null, 2) + '\n', 0o600);
    },
    readDelivery: () => readJson<DeliveryState>(join(dir, 'delivery.json')),
    async writeDelivery(d) {
      await ensure();
      await atomicWrite(join(dir, 'delivery.json'), JSON.stringify(d, null, 2) + '\n', 0o600);
    },
  };
}
