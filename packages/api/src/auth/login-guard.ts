/**
 * M6: what stands between a password guesser and scrypt. Per-username and per-address backoff
 * (after a few free failures, each further failure doubles the wait, capped), a cap on concurrent
 * scrypt work (scrypt takes ~50 ms of a core and 16 MB; unbounded, a flood of logins starves
 * ingest), and a minimum strength for new passwords. The failure counts are in the database
 * (storage `login_failures`), so replicas on one database share them and a restart keeps them; the
 * scrypt cap is per process (it protects this process's CPU).
 */
import type { LoginFailures, Storage } from '../storage/storage.ts';
import { clientKey } from '../client-address.ts';

export interface LoginThrottleOptions {
  now: () => Date;
  /** where the counts live: the database, so every replica on it shares them */
  store: Pick<Storage, 'loginFailures' | 'recordLoginFailure' | 'clearLoginFailures'>;
  /** failures per username before waits start */
  userFreeFailures?: number;
  /** failures per address before waits start (higher: many users may share one NAT address) */
  addressFreeFailures?: number;
  /** the first wait; doubles with each further failure */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface LoginThrottle {
  /**
   * seconds to wait before another attempt for these keys, or 0. `device`: the id of a valid device
   * cookie for this username (device-cookie.ts): its own count stands in for the username's, so
   * failures from elsewhere cannot lock that browser out.
   */
  retryAfter(username: string, address: string, device?: string): Promise<number>;
  failed(username: string, address: string, device?: string): Promise<void>;
  /**
   * a correct password clears the count it was checked against: the username's, or the device's
   * (a trusted device's login leaves the username's count to the guessers who earned it). The
   * address keeps its count: it may be guessing many names.
   */
  succeeded(username: string, device?: string): Promise<void>;
}

export function createLoginThrottle(o: LoginThrottleOptions): LoginThrottle {
  const userFree = o.userFreeFailures ?? 5;
  const addrFree = o.addressFreeFailures ?? 20;
  const base = o.baseDelayMs ?? 1000;
  const max = o.maxDelayMs ?? 15 * 60_000;

  const waitMs = (e: LoginFailures | undefined, free: number, nowMs: number): number => {
    // a count whose last failure is older than the longest wait has served its purpose
    if (!e || e.failures < free || nowMs - e.last_failure_at >= max) return 0;
    const delay = Math.min(max, base * 2 ** Math.min(30, e.failures - free));
    return Math.max(0, e.last_failure_at + delay - nowMs);
  };
  // usernames are matched case-insensitively by nobody else, but `Admin` and `admin` must share a count
  const userKey = (name: string) => `u:${name.toLowerCase()}`;
  // an IPv6 client per /64: it can use any address in it (client-address.ts)
  const addrKey = (address: string) => `a:${clientKey(address)}`;
  // a trusted device's count replaces the username's (the free failures are the same)
  const nameKey = (name: string, device: string | undefined) =>
    device === undefined ? userKey(name) : `d:${device}`;

  return {
    async retryAfter(username, address, device) {
      const nowMs = o.now().getTime();
      const [uk, ak] = [nameKey(username, device), addrKey(address)];
      const counts = await o.store.loginFailures([uk, ak]);
      const ms = Math.max(waitMs(counts.get(uk), userFree, nowMs), waitMs(counts.get(ak), addrFree, nowMs));
      return ms > 0 ? Math.ceil(ms / 1000) : 0;
    },
    async failed(username, address, device) {
      await o.store.recordLoginFailure([nameKey(username, device), addrKey(address)], o.now().getTime(), max);
    },
    async succeeded(username, device) {
      await o.store.clearLoginFailures(nameKey(username, device));
    },
  };
}

export interface Semaphore {
  /** a release function, or null when `max` holders are busy (the caller answers fast instead of queueing) */
  tryAcquire(): (() => void) | null;
}

export function createSemaphore(max: number): Semaphore {
  let held = 0;
  return {
    tryAcquire() {
      if (held >= max) return null;
      held += 1;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        held -= 1;
      };
    },
  };
}

export const MIN_PASSWORD_LENGTH = 12;

/**
 * The passwords tried first by every guesser (and what they look like padded to 12 characters).
 * Compared after lower-casing and stripping digits and symbols at the end.
 */
const COMMON = new Set([
  'password',
  'passw0rd',
  'qwerty',
  'qwertyuiop',
  'asdfghjkl',
  'letmein',
  'welcome',
  'admin',
  'administrator',
  'root',
  'toor',
  'changeme',
  'secret',
  'iloveyou',
  'monkey',
  'dragon',
  'football',
  'baseball',
  'sunshine',
  'princess',
  'master',
  'shadow',
  'superman',
  'trustno',
  'abc',
  'abcdef',
  'abcdefgh',
  'abcdefghijkl',
  'proxmox',
  'pve',
  'nanny',
  'nannyapi',
  'default',
  'login',
  'passwordpassword',
  'qwertyqwerty',
  'correcthorsebatterystaple',
  'hunter',
  'starwars',
  'whatever',
  'computer',
  'internet',
  'zaq',
  'qazwsx',
  'q1w2e3r4t5y6',
]);

/** Why `password` is too weak for `username`, or null when it will do. */
export function passwordProblem(password: string, username: string): string | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `use at least ${MIN_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (new Set(lower).size < 4) return 'use more than three different characters';
  if (/^(.+?)\1+$/.test(lower)) return 'do not repeat a short pattern';
  if (/^(0123456789|1234567890|9876543210)+\d*$/.test(lower) || /^\d+$/.test(lower))
    return 'do not use digits only';
  const name = username.toLowerCase();
  const core = lower.replace(/[^a-z]+$/, '').replace(/^[^a-z]+/, '');
  if (lower === name || core === name) return 'do not use the username as the password';
  if (COMMON.has(core) || COMMON.has(lower.replace(/[^a-z0-9]/g, '')))
    return 'this is one of the most common passwords';
  return null;
}
