/**
 * Files in the state directory (NANNYAGENT_STATE_DIR, default /var/lib/nannyagent): the credentials
 * (mode 0600: they let anyone post as this node), the last cycle's summary for `nannyagent status`,
 * and the spool (spool.ts). Writes are atomic (temp file, fsync, rename).
 *
 * The directory holds the agent's credentials and is written by root: another local user who could
 * plant a symbolic link in it (or read it) could make root overwrite any file, or post as this node.
 * So the directory must be ours and 0700 (checked before the first use, a clear error otherwise),
 * files are opened with O_NOFOLLOW, and temporary files are created exclusively (O_EXCL).
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { AgentError } from './errors.ts';

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
  /** refuses (AGENT_STATE) a state directory that is a symbolic link, not ours, or open to others; creates it 0700 when missing */
  check(): Promise<void>;
  readCredentials(): Promise<Credentials | undefined>;
  writeCredentials(c: Credentials): Promise<void>;
  readLastCycle(): Promise<LastCycle | undefined>;
  writeLastCycle(c: LastCycle): Promise<void>;
  readDelivery(): Promise<DeliveryState | undefined>;
  writeDelivery(d: DeliveryState): Promise<void>;
  spoolDir: string;
}

const NOFOLLOW = constants.O_NOFOLLOW;

/** Opens for reading without following a symbolic link (ELOOP becomes a clear AGENT_STATE error). */
export async function readNoFollow(path: string): Promise<string> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP')
      throw new AgentError('AGENT_STATE', `${path} is a symbolic link: refused (not followed)`);
    throw e;
  }
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * Creates `path` exclusively (O_CREAT|O_EXCL|O_NOFOLLOW) with `mode`, writes and fsyncs it. A
 * leftover of an earlier crash (or anything planted there) is removed first: unlink removes a
 * symbolic link itself, never its target.
 */
export async function createExclusive(path: string, text: string, mode: number): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
    // open()'s mode is filtered by the umask; make it exact (on the descriptor: no path to follow).
    await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}

async function atomicWrite(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp`;
  await createExclusive(tmp, text, mode);
  // rename replaces a symbolic link at `path` by the file; it does not write through it.
  await rename(tmp, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readNoFollow(path)) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * A private directory: created 0700 when missing; otherwise it must be a real directory (not a
 * symbolic link), owned by the running user (root for the service) and closed to group and others.
 */
export async function checkPrivateDir(dir: string, uid: number | undefined): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask and ignored for an existing directory: checked below.
  const st = await lstat(dir);
  const fix = `(fix: chown ${uid ?? 'root'} ${dir} && chmod 0700 ${dir})`;
  if (st.isSymbolicLink())
    throw new AgentError('AGENT_STATE', `state directory ${dir} is a symbolic link: refused`);
  if (!st.isDirectory()) throw new AgentError('AGENT_STATE', `state directory ${dir} is not a directory`);
  if (uid !== undefined && st.uid !== uid)
    throw new AgentError(
      'AGENT_STATE',
      `state directory ${dir} is owned by uid ${st.uid}, not by this user (uid ${uid}): refused ${fix}`,
    );
  if ((st.mode & 0o077) !== 0)
    throw new AgentError(
      'AGENT_STATE',
      `state directory ${dir} has mode 0${(st.mode & 0o777).toString(8)}, must be 0700: refused ${fix}`,
    );
}

export function createStateStore(dir: string, opts: { uid?: number } = {}): StateStore {
  // process.getuid is missing on Windows only; the agent runs on Proxmox VE (Linux).
  const uid = 'uid' in opts ? opts.uid : process.getuid?.();
  let checked: Promise<void> | undefined;
  const check = (): Promise<void> => {
    checked ??= checkPrivateDir(dir, uid).catch((e: unknown) => {
      checked = undefined;
      throw e;
    });
    return checked;
  };
  const read =
    <T>(name: string) =>
    async (): Promise<T | undefined> => {
      await check();
      return readJson<T>(join(dir, name));
    };
  const write =
    <T>(name: string) =>
    async (value: T): Promise<void> => {
      await check();
      await atomicWrite(join(dir, name), JSON.stringify(value, null, 2) + '\n', 0o600);
    };
  return {
    dir,
    check,
    spoolDir: join(dir, 'spool'),
    readCredentials: read<Credentials>('credentials.json'),
    writeCredentials: write<Credentials>('credentials.json'),
    readLastCycle: read<LastCycle>('last-cycle.json'),
    writeLastCycle: write<LastCycle>('last-cycle.json'),
    readDelivery: read<DeliveryState>('delivery.json'),
    writeDelivery: write<DeliveryState>('delivery.json'),
  };
}
