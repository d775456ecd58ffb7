/**
 * Device cookies (issue 13, the lockout left open): a browser that once logged in as a user gets a
 * signed cookie naming that user. A login that presents it is counted per device instead of per
 * username, so a guesser who keeps the username's backoff running (every wrong password from
 * anywhere adds to it) cannot lock the real user out of a browser they already use; the guesser,
 * without the cookie, still meets the username's backoff. The cookie grants nothing else: it is not
 * a session and is only read by the login routes.
 *
 * Format: `<device id>.<expiry, epoch s>.<HMAC-SHA256 of "device|<lower-cased user>|id|expiry">`,
 * base64url; the key is derived from the server's JWT secret, so every replica verifies it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from './tokens.ts';

export const DEVICE_COOKIE = 'nannyapi_device';
/** how long a device stays trusted after its last successful login */
export const DEVICE_TTL_DAYS = 180;

export interface DeviceCookies {
  /** a new cookie value for `username`, valid for DEVICE_TTL_DAYS from `nowMs` */
  issue(username: string, nowMs: number): { value: string; expires: Date };
  /** the device id when `value` is a valid, unexpired cookie for `username`, else undefined */
  verify(value: string | undefined, username: string, nowMs: number): string | undefined;
}

export function createDeviceCookies(jwtSecret: string): DeviceCookies {
  const key = createHmac('sha256', jwtSecret).update('nannyapi device cookie key').digest();
  const sign = (username: string, id: string, exp: number) =>
    createHmac('sha256', key).update(`device|${username.toLowerCase()}|${id}|${exp}`).digest('base64url');
  return {
    issue(username, nowMs) {
      const id = randomBytes(16).toString('base64url');
      const expires = new Date(nowMs + DEVICE_TTL_DAYS * 86_400_000);
      const exp = Math.floor(expires.getTime() / 1000);
      return { value: `${id}.${exp}.${sign(username, id, exp)}`, expires };
    },
    verify(value, username, nowMs) {
      if (!value || value.length > 200) return undefined;
      const m = /^([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
      if (!m) return undefined;
      const [, id, expText, mac] = m as unknown as [string, string, string, string];
      const exp = Number(expText);
      if (exp * 1000 <= nowMs) return undefined;
      return safeEqual(mac, sign(username, id, exp)) ? id : undefined;
    },
  };
}
