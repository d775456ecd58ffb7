/**
 * M5: channel secrets (webhook HMAC keys, bot tokens, SMTP passwords) are sealed with AES-256-GCM
 * before they reach the database, so a copied nannyapi.db or a backup does not hand them out. The
 * key lives apart from the database: NANNYAPI_SECRET_KEY(_FILE), else `secret.key` beside the
 * database, created 0600 on first start.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PREFIX = 'enc:v1:';

export interface SecretBox {
  seal(text: string): string;
  /** the clear text of a sealed value; a value stored before sealing existed comes back as it is */
  open(stored: string): string;
  isSealed(stored: string): boolean;
}

/** the box for a key; no key, no box (values stay as they are) */
export function secretBoxFor(key: Buffer | null): SecretBox | undefined {
  return key ? createSecretBox(key) : undefined;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  return {
    seal(text) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([c.update(text, 'utf8'), c.final()]);
      return `${PREFIX}${iv.toString('base64url')}.${c.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`;
    },
    open(stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      const [iv, tag, ct] = stored.slice(PREFIX.length).split('.') as [string, string, string];
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
    },
    isSealed: (stored) => stored.startsWith(PREFIX),
  };
}

/** 64 hex characters or 32 bytes in base64 */
export function parseSecretKey(text: string): Buffer | null {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  const b = Buffer.from(t, 'base64');
  return b.length === 32 && /^[A-Za-z0-9+/_-]{43}=?$/.test(t) ? b : null;
}

export interface SecretKeySource {
  /** NANNYAPI_SECRET_KEY */
  secretKey: string | undefined;
  /** NANNYAPI_SECRET_KEY_FILE */
  secretKeyFile: string | undefined;
  /** the SQLite file (`:memory:` for tests) */
  sqliteFile: string;
  dataDir: string;
  databaseUrl: string | undefined;
}

/**
 * The key: the setting, else the key file (created 0600 with a random key when missing). An
 * in-memory database (tests) is not at rest: null, nothing is sealed.
 */
export function loadSecretKey(c: SecretKeySource): Buffer | null {
  const from = (text: string, where: string) => {
    const k = parseSecretKey(text);
    if (!k) throw new Error(`${where}: the secret key must be 64 hex characters (openssl rand -hex 32)`);
    return k;
  };
  if (c.secretKey !== undefined) return from(c.secretKey, 'NANNYAPI_SECRET_KEY');
  if (c.secretKeyFile !== undefined) return from(readFileSync(c.secretKeyFile, 'utf8'), c.secretKeyFile);
  if (c.databaseUrl === undefined && c.sqliteFile === ':memory:') return null;
  const file = join(c.databaseUrl === undefined ? dirname(c.sqliteFile) : c.dataDir, 'secret.key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      // exclusive create: a concurrent first start (server and CLI) must not overwrite the other's key
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return from(readFileSync(file, 'utf8'), file);
}

/**
 * Replicas on one PostgreSQL must seal and open channel secrets with one key, but each makes its own
 * `secret.key` in its data folder unless given one. The database keeps a check value of the first
 * key it saw (not the key); a process with another key refuses to start instead of failing every
 * notification later.
 */
export async function assertSameSecretKey(
  key: Buffer | null,
  stored: (key: string, create: () => string) => Promise<string>,
): Promise<void> {
  if (!key) return;
  const check = createHmac('sha256', key).update('nannyapi secret key check').digest('hex').slice(0, 32);
  const first = await stored('secret_key_check', () => check);
  if (first !== check)
    throw new Error(
      'this secret key is not the one the database was first used with: every nannyapi replica on one database needs the same NANNYAPI_SECRET_KEY or NANNYAPI_SECRET_KEY_FILE (docs/deploy.md)',
    );
}
