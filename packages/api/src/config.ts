/**
 * nannyapi settings: defaults ← environment (NANNYAPI_*) ← command-line flags. Validated once,
 * every error reported (each naming the flag or variable the user typed), frozen, passed down
 * (DESIGN.md §7). API_SETTINGS is the one list: flags, variables, defaults, checks, `--help` and
 * the table in docs/api-configuration.md (`npm run docs:settings`, checked by a test) come from it.
 */
import { errorMessage } from './errors.ts';
import { readFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import {
  cidrList,
  custom,
  integer,
  oneOf,
  resolveSettings,
  text,
  ValueProblem,
  type Schema,
} from '@nanny/settings';
import { passwordProblem } from './auth/login-guard.ts';
import { parseSecretKey } from './auth/secret-box.ts';
import { QUOTA_SETTINGS, quotasOf } from './quota-settings.ts';
import type { Quotas } from './storage/storage.ts';
import { HISTORY_SETTINGS, historyHorizons } from './retention/settings.ts';
import type { HistoryHorizons } from './storage/history-types.ts';

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
  /** usage history kept per resolution (retention/settings.ts) */
  history: HistoryHorizons;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  sessionTtlHours: number;
  adminUser: string;
  adminPassword: string | undefined;
  /** scrypt computations (logins, password changes) at once; more answer 503 */
  loginConcurrency: number;
  trustProxy: boolean | string;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  logLevel: string;
  /** the URL printed at start and used in docs links; default http(s)://host:port */
  publicUrl: string | undefined;
  /** CIDRs a notification channel may reach although they are internal (NANNYAPI_ALLOWED_CHANNEL_NETWORKS) */
  allowedChannelNetworks: string[];
  /** NANNYAPI_SECRET_KEY: seals channel secrets at rest (else a key file beside the database) */
  secretKey: string | undefined;
  secretKeyFile: string | undefined;
  /** where `serve` notes the database it opened, so the CLI can tell when it works on another one */
  runtimeDir: string;
  /** a request (headers and body) must arrive within this; 0 = no limit */
  requestTimeoutMs: number;
  /** the request headers must arrive within this (slowloris) */
  headersTimeoutMs: number;
  /** an idle keep-alive connection is closed after this */
  keepAliveTimeoutMs: number;
  /** open TCP connections per peer address; more are closed at once; 0 = no cap */
  maxConnectionsPerAddress: number;
  /** clusters, nodes, guests per organisation (0 = no limit) */
  quotas: Quotas;
}

export interface ConfigResult {
  config: Readonly<ApiConfig>;
  errors: string[];
  /** unknown NANNYAPI_* variables: reported, not fatal */
  warnings: string[];
}

type Source = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const API_SETTINGS: Schema = [
  {
    key: 'port',
    env: 'NANNYAPI_PORT',
    flag: 'port',
    arg: 'PORT',
    kind: integer(0, 65535),
    default: '8080',
    doc: 'TCP port (`0` = any free port)',
  },
  {
    key: 'host',
    env: 'NANNYAPI_HOST',
    flag: 'host',
    arg: 'ADDRESS',
    kind: text(),
    default: '127.0.0.1',
    doc: 'Address to listen on. Agents on other hosts need `0.0.0.0` (behind TLS, see below)',
  },
  {
    key: 'dataDir',
    env: 'NANNYAPI_DATA_DIR',
    flag: 'data-dir',
    arg: 'DIR',
    kind: text(),
    defaultDoc: '`$XDG_DATA_HOME/nannyapi`, else `~/.local/share/nannyapi`',
    doc: 'Where the SQLite database (`nannyapi.db`) lives',
  },
  {
    key: 'databaseUrl',
    env: 'NANNYAPI_DATABASE_URL',
    flag: 'database-url',
    arg: 'URL',
    kind: custom('postgres://… or sqlite:PATH', (v) => {
      if (!/^postgres(ql)?:\/\//.test(v) && !v.startsWith('sqlite:'))
        throw new ValueProblem('must start with postgres:// (or sqlite:PATH for a SQLite file elsewhere)');
      return v;
    }),
    defaultDoc: '*(empty: SQLite in the data dir)*',
    doc: '`postgres://user@host:5432/db` selects PostgreSQL; `sqlite:/path/file.db` puts SQLite elsewhere',
  },
  {
    key: 'pgSchema',
    env: 'NANNYAPI_PG_SCHEMA',
    kind: text(),
    doc: "PostgreSQL schema to use (created if missing); default is the user's `search_path`",
  },
  {
    key: 'rateLimit',
    env: 'NANNYAPI_RATE_LIMIT',
    flag: 'rate-limit',
    arg: 'N',
    kind: integer(0, 10_000_000),
    default: '1200',
    doc: "Requests per minute **per agent token** (or personal token) on `/api/`; `0` = off. 1200 leaves room for an agent's burst of one post per guest on a node with ~1000 guests",
  },
  {
    key: 'rateLimitIp',
    env: 'NANNYAPI_RATE_LIMIT_IP',
    flag: 'rate-limit-ip',
    arg: 'N',
    kind: integer(0, 10_000_000),
    defaultDoc: '`6000` (`0` when `NANNYAPI_RATE_LIMIT=0`)',
    doc: 'Requests per minute per client address (an IPv6 client: per /64) on `/api/`; `0` = off',
  },
  {
    key: 'bodyLimitBytes',
    env: 'NANNYAPI_BODY_LIMIT',
    flag: 'body-limit',
    arg: 'BYTES',
    kind: integer(1024, 64 * 1024 * 1024),
    default: '1048576',
    doc: 'Largest request body in bytes (bigger: `413 payload_too_large`)',
  },
  {
    key: 'retentionDays',
    env: 'NANNYAPI_RETENTION_DAYS',
    flag: 'retention-days',
    arg: 'DAYS',
    kind: integer(1, 3650),
    default: '30',
    doc: 'Change history kept: guest status changes, events, old config versions (the latest config of each guest is kept; besides, at most 1 MB of config history per guest, docs/security.md), guests gone longer than that. Pruned hourly',
  },
  ...HISTORY_SETTINGS,

  {
    key: 'accessTokenTtlSeconds',
    env: 'NANNYAPI_ACCESS_TOKEN_TTL',
    flag: 'access-token-ttl',
    arg: 'SECONDS',
    // as low as 2 s so end-to-end tests can watch an agent refresh its token
    kind: integer(2, 86400),
    default: '3600',
    doc: 'Agent access token (JWT) lifetime in seconds (`expires_in`)',
  },
  {
    key: 'refreshTokenTtlDays',
    env: 'NANNYAPI_REFRESH_TOKEN_TTL_DAYS',
    flag: 'refresh-token-ttl-days',
    arg: 'DAYS',
    kind: integer(1, 3650),
    default: '30',
    doc: 'Agent refresh token lifetime',
  },
  {
    key: 'sessionTtlHours',
    env: 'NANNYAPI_SESSION_TTL_HOURS',
    flag: 'session-ttl-hours',
    arg: 'HOURS',
    kind: integer(1, 24 * 90),
    default: '12',
    doc: 'Login session lifetime',
  },
  {
    key: 'adminUser',
    env: 'NANNYAPI_ADMIN_USER',
    flag: 'admin-user',
    arg: 'NAME',
    kind: text(),
    default: 'admin',
    doc: 'Name of the admin created on first start',
  },
  {
    key: 'adminPassword',
    env: 'NANNYAPI_ADMIN_PASSWORD',
    // no flag: a command line is visible to every user in `ps`
    kind: text({ minLength: 12 }),
    defaultDoc: '*(generated)*',
    doc: 'Password of that admin (at least 12 characters, not a common password, not containing the name). Unset: a one-time setup password is generated and printed once at first start',
  },
  {
    key: 'adminPasswordFile',
    env: 'NANNYAPI_ADMIN_PASSWORD_FILE',
    flag: 'admin-password-file',
    arg: 'FILE',
    kind: text(),
    doc: 'Read the admin password from this file (`-` = standard input; one trailing newline is dropped) instead of `NANNYAPI_ADMIN_PASSWORD`',
  },
  {
    key: 'secretKey',
    env: 'NANNYAPI_SECRET_KEY',
    // no flag: a command line is visible to every user in `ps`
    kind: text(),
    defaultDoc: '*(key file)*',
    doc: 'Key (64 hex characters, `openssl rand -hex 32`) that seals notification channel secrets in the database. Unset: `secret.key` beside the database, created 0600 on first start — back it up with the database',
  },
  {
    key: 'secretKeyFile',
    env: 'NANNYAPI_SECRET_KEY_FILE',
    flag: 'secret-key-file',
    arg: 'FILE',
    kind: text(),
    doc: 'Read that key from this file instead (e.g. a systemd credential)',
  },
  {
    key: 'loginConcurrency',
    env: 'NANNYAPI_LOGIN_CONCURRENCY',
    flag: 'login-concurrency',
    arg: 'N',
    kind: integer(1, 64),
    default: '2',
    doc: 'Password checks (scrypt, ~50 ms of a core each) run at once; further logins answer 503 with Retry-After',
  },
  {
    key: 'trustProxy',
    env: 'NANNYAPI_TRUST_PROXY',
    flag: 'trust-proxy',
    arg: 'ADDRESS',
    kind: custom('true | false | address/CIDR', (v): boolean | string =>
      v === 'true' ? true : v === 'false' ? false : v,
    ),
    default: 'false',
    doc: "Behind a reverse proxy: the **proxy's** address/CIDR (never the clients'), so client addresses (rate limits, logs) and https (`Secure` cookie, HSTS) come from its `X-Forwarded-For`/`-Proto`; other peers' `X-Forwarded-*` are ignored. `true` trusts every peer: only when nothing but the proxy reaches the port",
  },
  {
    key: 'tlsCert',
    env: 'NANNYAPI_TLS_CERT',
    flag: 'tls-cert',
    arg: 'PEM',
    kind: text(),
    doc: 'PEM certificate **contents** to serve HTTPS directly (e.g. `NANNYAPI_TLS_CERT="$(cat cert.pem)"`); goes with `NANNYAPI_TLS_KEY`',
  },
  {
    key: 'tlsKey',
    env: 'NANNYAPI_TLS_KEY',
    flag: 'tls-key',
    arg: 'PEM',
    kind: text(),
    doc: 'PEM private key **contents** for `NANNYAPI_TLS_CERT`',
  },
  {
    key: 'logLevel',
    env: 'NANNYAPI_LOG_LEVEL',
    flag: 'log-level',
    arg: 'LEVEL',
    kind: oneOf(LOG_LEVELS),
    default: 'info',
    doc: 'Per-request lines only at `debug`/`trace`. Tokens are never logged',
  },
  {
    key: 'publicUrl',
    env: 'NANNYAPI_PUBLIC_URL',
    flag: 'public-url',
    arg: 'URL',
    kind: text(),
    defaultDoc: '`http(s)://host:port`',
    doc: 'The URL printed at start',
  },
  {
    key: 'allowedChannelNetworks',
    env: 'NANNYAPI_ALLOWED_CHANNEL_NETWORKS',
    flag: 'allowed-channel-networks',
    arg: 'CIDRS',
    kind: cidrList(),
    default: '',
    defaultDoc: '*(empty)*',
    doc: 'Comma-separated CIDRs (a bare address is one host) that notification channels may reach although they are loopback, private, link-local or otherwise internal, e.g. a self-hosted ntfy on `10.0.0.0/8`. Empty: channels reach public addresses only. See [security.md](security.md#outbound-notifications)',
  },
  {
    key: 'runtimeDir',
    env: 'NANNYAPI_RUNTIME_DIR',
    flag: 'runtime-dir',
    arg: 'DIR',
    kind: text(),
    defaultDoc: '`$XDG_RUNTIME_DIR/nannyapi`, else `<tmp>/nannyapi-<uid>`',
    doc: 'Where a running `serve` notes which database it uses, so a CLI command on another database warns',
  },
  {
    key: 'requestTimeout',
    env: 'NANNYAPI_REQUEST_TIMEOUT',
    flag: 'request-timeout',
    arg: 'SECONDS',
    kind: integer(1, 3600),
    default: '30',
    doc: 'A request (headers and body) must arrive within this, else the connection is closed (`408`): a slow-body client cannot hold a connection',
  },
  {
    key: 'headersTimeout',
    env: 'NANNYAPI_HEADERS_TIMEOUT',
    flag: 'headers-timeout',
    arg: 'SECONDS',
    kind: integer(1, 3600),
    default: '10',
    doc: 'The request headers must arrive within this (slowloris); at most `NANNYAPI_REQUEST_TIMEOUT`',
  },
  {
    key: 'keepAliveTimeout',
    env: 'NANNYAPI_KEEP_ALIVE_TIMEOUT',
    flag: 'keep-alive-timeout',
    arg: 'SECONDS',
    kind: integer(1, 3600),
    default: '5',
    doc: 'An idle keep-alive connection is closed after this',
  },
  {
    key: 'maxConnectionsPerAddress',
    env: 'NANNYAPI_MAX_CONNECTIONS_PER_ADDRESS',
    flag: 'max-connections-per-address',
    arg: 'N',
    kind: integer(0, 1_000_000),
    default: '64',
    doc: 'Open TCP connections one peer address (IPv6: one /64) may hold; more are closed at once; `0` = no cap. Behind a reverse proxy every connection comes from the proxy: raise it (or `0`) there and cap at the proxy',
  },
  ...QUOTA_SETTINGS,
];

/**
 * NANNYAPI_* names that are the agent's settings (it talks to this API): often set in the same
 * shell, so they are not reported as unknown here.
 */
const AGENT_NAMES = ['NANNYAPI_URL', 'NANNYAPI_ENROLL_TOKEN', 'NANNYAPI_CA_FILE', 'NANNYAPI_FINGERPRINT'];

export function defaultRuntimeDir(env: Source): string {
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg !== undefined && xdg !== '') return join(xdg, 'nannyapi');
  let uid = 'user';
  try {
    uid = String(userInfo().uid);
  } catch {
    /* no passwd entry (containers): one shared name is still correct, just not per user */
  }
  return join(tmpdir(), `nannyapi-${uid}`);
}

export function defaultDataDir(env: Source): string {
  const xdg = env['XDG_DATA_HOME'];
  return join(xdg && xdg !== '' ? xdg : join(env['HOME'] ?? homedir(), '.local', 'share'), 'nannyapi');
}

/**
 * Resolves the settings from the environment and the flags (by flag name, as parseCommandLine
 * gives them); a flag wins. Every problem is returned, none thrown.
 */
export function loadConfig(
  env: Source,
  flags: Record<string, string | boolean | string[]> = {},
): ConfigResult {
  const r = resolveSettings(API_SETTINGS, {
    env,
    flags,
    envPrefixes: ['NANNYAPI_'],
    foreignEnv: AGENT_NAMES,
  });
  const errors = [...r.errors];
  const v = r.values;
  const dataDir = resolve((v.dataDir as string | undefined) ?? defaultDataDir(env));
  const databaseUrl = v.databaseUrl as string | undefined;
  const sqliteFile = databaseUrl?.startsWith('sqlite:')
    ? resolve(databaseUrl.slice(7))
    : join(dataDir, 'nannyapi.db');
  const tlsCert = v.tlsCert as string | undefined;
  const tlsKey = v.tlsKey as string | undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    errors.push(
      `${r.from.tlsCert ?? r.from.tlsKey}: NANNYAPI_TLS_CERT (--tls-cert) and NANNYAPI_TLS_KEY (--tls-key) go together`,
    );
  if (v.secretKey !== undefined && !parseSecretKey(v.secretKey as string))
    errors.push(`${r.from.secretKey}: must be 64 hex characters (openssl rand -hex 32)`);
  let adminPassword = v.adminPassword as string | undefined;
  const passwordFile = v.adminPasswordFile as string | undefined;
  if (passwordFile !== undefined) {
    if (adminPassword !== undefined)
      errors.push(`${r.from.adminPasswordFile}: give NANNYAPI_ADMIN_PASSWORD or a password file, not both`);
    else
      try {
        adminPassword = readSecretFile(passwordFile);
        if (adminPassword === '') errors.push(`${r.from.adminPasswordFile}: ${passwordFile} is empty`);
      } catch (e) {
        errors.push(`${r.from.adminPasswordFile}: cannot read ${passwordFile}: ${errorMessage(e)}`);
      }
  }
  const weak =
    adminPassword === undefined || adminPassword === ''
      ? null
      : passwordProblem(adminPassword, v.adminUser as string);
  // the value itself is not echoed: it is a secret
  if (weak)
    errors.push(
      `${r.from.adminPassword ?? r.from.adminPasswordFile}: too weak for the admin password: ${weak}`,
    );
  const rateLimit = v.rateLimit as number;
  if ((v.headersTimeout as number) > (v.requestTimeout as number))
    errors.push(
      `${r.from.headersTimeout ?? r.from.requestTimeout ?? 'settings'}: NANNYAPI_HEADERS_TIMEOUT must not exceed NANNYAPI_REQUEST_TIMEOUT`,
    );
  const config: ApiConfig = {
    host: v.host as string,
    port: v.port as number,
    dataDir,
    databaseUrl: databaseUrl && !databaseUrl.startsWith('sqlite:') ? databaseUrl : undefined,
    sqliteFile,
    pgSchema: v.pgSchema as string | undefined,
    rateLimit,
    rateLimitIp: (v.rateLimitIp as number | undefined) ?? (rateLimit === 0 ? 0 : 6000),
    bodyLimitBytes: v.bodyLimitBytes as number,
    retentionDays: v.retentionDays as number,
    history: historyHorizons(v, r.from, errors),
    accessTokenTtlSeconds: v.accessTokenTtlSeconds as number,
    refreshTokenTtlDays: v.refreshTokenTtlDays as number,
    sessionTtlHours: v.sessionTtlHours as number,
    adminUser: v.adminUser as string,
    adminPassword,
    loginConcurrency: v.loginConcurrency as number,
    trustProxy: v.trustProxy as boolean | string,
    tlsCert,
    tlsKey,
    logLevel: v.logLevel as string,
    publicUrl: v.publicUrl as string | undefined,
    allowedChannelNetworks: v.allowedChannelNetworks as string[],
    secretKey: v.secretKey as string | undefined,
    secretKeyFile: v.secretKeyFile as string | undefined,
    runtimeDir: resolve((v.runtimeDir as string | undefined) ?? defaultRuntimeDir(env)),
    requestTimeoutMs: (v.requestTimeout as number) * 1000,
    headersTimeoutMs: (v.headersTimeout as number) * 1000,
    keepAliveTimeoutMs: (v.keepAliveTimeout as number) * 1000,
    maxConnectionsPerAddress: v.maxConnectionsPerAddress as number,
    quotas: quotasOf(v),
  };
  return { config: Object.freeze(config), errors, warnings: r.warnings };
}

/** A secret from a file (`-` = standard input), without the one trailing newline editors add. */
export function readSecretFile(path: string): string {
  return readFileSync(path === '-' ? 0 : path, 'utf8').replace(/\r?\n$/, '');
}

/** A config for tests: in-memory SQLite, quiet, limits off unless given. */
export function testConfig(overrides: Partial<ApiConfig> = {}): Readonly<ApiConfig> {
  const { config } = loadConfig({
    NANNYAPI_DATA_DIR: '/nonexistent-nannyapi-test',
    NANNYAPI_LOG_LEVEL: 'silent',
  });
  return Object.freeze({ ...config, sqliteFile: ':memory:', rateLimit: 0, rateLimitIp: 0, ...overrides });
}
