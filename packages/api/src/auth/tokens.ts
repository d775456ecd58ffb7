/**
 * Secrets: random tokens, their stored hashes, HS256 JWTs, scrypt password hashes. node:crypto only.
 * Tokens are stored as SHA-256 hashes (they carry 256 bits of randomness, so a fast hash is enough);
 * passwords, chosen by people, get scrypt.
 */
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = {
  enrollment: 'nanny_enr_',
  refresh: 'nanny_rt_',
  personal: 'nanny_pat_',
  session: 'nanny_ses_',
  setup: 'nanny_setup_',
} as const;

export function newToken(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    // still spend the comparison so the length is all a timing observer learns
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

// ------------------------------------------------------------------ JWT (HS256)
export interface AgentClaims {
  /** agent id */
  sub: string;
  /** tenant id */
  tid: string;
  /** the agent's token version when issued: revocation bumps it */
  ver: number;
  typ: 'agent';
  iat: number;
  exp: number;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export function signJwt(claims: AgentClaims, secret: string): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const sig = createHmac('sha256', secret).update(`${HEADER}.${body}`).digest('base64url');
  return `${HEADER}.${body}.${sig}`;
}

/** Clock difference between replicas tolerated on `iat` and on a token's lifetime. */
export const JWT_SKEW_SECONDS = 60;

/**
 * Verifies signature, algorithm and expiry; returns the claims or null. With `maxLifetimeSeconds`,
 * a token living longer than that (exp - iat) or issued in the future is refused too: whoever holds
 * the key (a copied database) cannot mint a ten-year token that outlives a key rotation's notice.
 */
export function verifyJwt(
  token: string,
  secret: string,
  nowSeconds: number,
  maxLifetimeSeconds?: number,
): AgentClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [h, b, s] = parts as [string, string, string];
  // Only our fixed header is accepted: no "alg: none", no algorithm confusion.
  if (!safeEqual(h, HEADER)) return null;
  const expected = createHmac('sha256', secret).update(`${h}.${b}`).digest('base64url');
  if (!safeEqual(s, expected)) return null;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(b, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!claims || typeof claims !== 'object') return null;
  const c = claims as Partial<AgentClaims>;
  if (
    c.typ !== 'agent' ||
    typeof c.sub !== 'string' ||
    typeof c.tid !== 'string' ||
    typeof c.ver !== 'number'
  )
    return null;
  if (typeof c.exp !== 'number' || c.exp <= nowSeconds) return null;
  if (maxLifetimeSeconds !== undefined) {
    if (typeof c.iat !== 'number' || c.iat > nowSeconds + JWT_SKEW_SECONDS) return null;
    if (c.exp - c.iat > maxLifetimeSeconds + JWT_SKEW_SECONDS) return null;
  }
  return c as AgentClaims;
}

// ------------------------------------------------------------------ passwords (scrypt)
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$salt$hash` (base64url) so parameters can be raised later without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const key = await new Promise<Buffer>((resolve, reject) => {
    scrypt(
      password,
      Buffer.from(salt, 'base64url'),
      expected.length,
      { N: Number(n), r: Number(r), p: Number(p) },
      (err, k) => (err ? reject(err) : resolve(k)),
    );
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A password that scrypt must chew on even for unknown users, so a login's timing does not reveal them. */
export const DUMMY_PASSWORD_HASH =
  'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
