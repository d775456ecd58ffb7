/**
 * nannyapi settings: defaults ← environment (NANNYAPI_*) ← command-line flags. Validated once,
 * every error reported, frozen, passed down (DESIGN.md §7). Documented in docs/api-configuration.md.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseCidrs } from './notify/guard.ts';

export interface ApiConfig {
  host: string;
  port: number;
  dataDir: string;
  /** postgres://… selects PostgreSQL; empty = SQLite file `<dataDir>/nannyapi.db` */
  databaseUrl: string | undefined;
  sqliteFile: string;
  /** PostgreSQL schema (search_path) — tests use one per run */
  pgSchema: string | undefined;
  /** requests per minute per agent token; 0 = off */
  rateLimit: number;
  /** requests per minute per client address; 0 = off */
  rateLimitIp: number;
  bodyLimitBytes: number;
  retentionDays: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  sessionTtlHours: number;
  adminUser: string;
  adminPassword: string | undefined;
  trustProxy: boolean | string;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  logLevel: string;
  /** the URL printed at start and used in docs links; default http(s)://host:port */
  publicUrl: string | undefined;
  /** CIDRs notification channels may reach although internal (loopback, private, …); default none */
  allowedChannelNetworks: string[];
}

export interface ConfigResult {
  config: Readonly<ApiConfig>;
  errors: string[];
}

type Source = Record<string, string | undefined>;

/** flag name (without --) → env name */
const FLAGS: Record<string, string> = {
  host: 'NANNYAPI_HOST',
  port: 'NANNYAPI_PORT',
  'data-dir': 'NANNYAPI_DATA_DIR',
  'database-url': 'NANNYAPI_DATABASE_URL',
  'rate-limit': 'NANNYAPI_RATE_LIMIT',
  'rate-limit-ip': 'NANNYAPI_RATE_LIMIT_IP',
  'body-limit': 'NANNYAPI_BODY_LIMIT',
  'retention-days': 'NANNYAPI_RETENTION_DAYS',
  'access-token-ttl': 'NANNYAPI_ACCESS_TOKEN_TTL',
  'refresh-token-ttl-days': 'NANNYAPI_REFRESH_TOKEN_TTL_DAYS',
  'session-ttl-hours': 'NANNYAPI_SESSION_TTL_HOURS',
  'admin-user': 'NANNYAPI_ADMIN_USER',
  'trust-proxy': 'NANNYAPI_TRUST_PROXY',
  'tls-cert': 'NANNYAPI_TLS_CERT',
  'tls-key': 'NANNYAPI_TLS_KEY',
  'log-level': 'NANNYAPI_LOG_LEVEL',
  'public-url': 'NANNYAPI_PUBLIC_URL',
  'allowed-channel-networks': 'NANNYAPI_ALLOWED_CHANNEL_NETWORKS',
};
export const CONFIG_FLAGS = Object.keys(FLAGS);

export function defaultDataDir(env: Source): string {
  const xdg = env['XDG_DATA_HOME'];
  return join(xdg && xdg !== '' ? xdg : join(env['HOME'] ?? homedir(), '.local', 'share'), 'nannyapi');
}

/**
 * Splits `--flag value` / `--flag=value` config flags out of argv; returns the rest untouched.
 * Unknown flags stay in `rest` for the subcommand to read.
 */
export function extractConfigFlags(argv: readonly string[]): {
  flags: Source;
  rest: string[];
  errors: string[];
} {
  const flags: Source = {};
  const rest: string[] = [];
  const errors: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    const env = m ? FLAGS[m[1]!] : undefined;
    if (!m || !env) {
      rest.push(a);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) errors.push(`--${m[1]} needs a value`);
    else flags[env] = value;
  }
  return { flags, rest, errors };
}

export function loadConfig(env: Source, flags: Source = {}): ConfigResult {
  const src: Source = { ...env, ...flags };
  const errors: string[] = [];
  const get = (k: string): string | undefined => {
    const v = src[k];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (k: string, def: number, min: number, max: number): number => {
    const v = get(k);
    if (v === undefined) return def;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      errors.push(`${k}=${v}: must be an integer from ${min} to ${max}`);
      return def;
    }
    return Number(v);
  };
  const dataDir = resolve(get('NANNYAPI_DATA_DIR') ?? defaultDataDir(env));
  const databaseUrl = get('NANNYAPI_DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl) && !databaseUrl.startsWith('sqlite:'))
    errors.push(
      'NANNYAPI_DATABASE_URL: must start with postgres:// (or sqlite:PATH for a SQLite file elsewhere)',
    );
  const sqliteFile = databaseUrl?.startsWith('sqlite:')
    ? resolve(databaseUrl.slice(7))
    : join(dataDir, 'nannyapi.db');
  const trust = get('NANNYAPI_TRUST_PROXY');
  const tlsCert = get('NANNYAPI_TLS_CERT');
  const tlsKey = get('NANNYAPI_TLS_KEY');
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    errors.push('NANNYAPI_TLS_CERT and NANNYAPI_TLS_KEY go together');
  const rateLimit = int('NANNYAPI_RATE_LIMIT', 1200, 0, 10_000_000);
  const config: ApiConfig = {
    host: get('NANNYAPI_HOST') ?? '127.0.0.1',
    port: int('NANNYAPI_PORT', 8080, 0, 65535),
    dataDir,
    databaseUrl: databaseUrl && !databaseUrl.startsWith('sqlite:') ? databaseUrl : undefined,
    sqliteFile,
    pgSchema: get('NANNYAPI_PG_SCHEMA'),
    rateLimit,
    rateLimitIp: int('NANNYAPI_RATE_LIMIT_IP', rateLimit === 0 ? 0 : 6000, 0, 10_000_000),
    bodyLimitBytes: int('NANNYAPI_BODY_LIMIT', 1024 * 1024, 1024, 64 * 1024 * 1024),
    retentionDays: int('NANNYAPI_RETENTION_DAYS', 30, 1, 3650),
    // as low as 2 s so end-to-end tests can watch an agent refresh its token
    accessTokenTtlSeconds: int('NANNYAPI_ACCESS_TOKEN_TTL', 3600, 2, 86400),
    refreshTokenTtlDays: int('NANNYAPI_REFRESH_TOKEN_TTL_DAYS', 30, 1, 3650),
    sessionTtlHours: int('NANNYAPI_SESSION_TTL_HOURS', 12, 1, 24 * 90),
    adminUser: get('NANNYAPI_ADMIN_USER') ?? 'admin',
    adminPassword: get('NANNYAPI_ADMIN_PASSWORD'),
    trustProxy: trust === undefined ? false : trust === 'true' ? true : trust === 'false' ? false : trust,
    tlsCert,
    tlsKey,
    logLevel: get('NANNYAPI_LOG_LEVEL') ?? 'info',
    publicUrl: get('NANNYAPI_PUBLIC_URL'),
    allowedChannelNetworks: (get('NANNYAPI_ALLOWED_CHANNEL_NETWORKS') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  };
  for (const e of parseCidrs(config.allowedChannelNetworks).errors)
    errors.push(`NANNYAPI_ALLOWED_CHANNEL_NETWORKS: ${e}`);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel))
    errors.push(
      `NANNYAPI_LOG_LEVEL=${config.logLevel}: one of fatal, error, warn, info, debug, trace, silent`,
    );
  if (config.adminPassword !== undefined && config.adminPassword.length < 8)
    errors.push('NANNYAPI_ADMIN_PASSWORD: at least 8 characters');
  return { config: Object.freeze(config), errors };
}

/** A config for tests: in-memory SQLite, quiet, limits off unless given. */
export function testConfig(overrides: Partial<ApiConfig> = {}): Readonly<ApiConfig> {
  const { config } = loadConfig({
    NANNYAPI_DATA_DIR: '/nonexistent-nannyapi-test',
    NANNYAPI_LOG_LEVEL: 'silent',
  });
  return Object.freeze({ ...config, sqliteFile: ':memory:', rateLimit: 0, rateLimitIp: 0, ...overrides });
}
