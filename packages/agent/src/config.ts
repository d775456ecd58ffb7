/**
 * Configuration: `/etc/nannyagent/config.env` < environment < command-line flags, validated once
 * with every error listed, then frozen and passed down (DESIGN.md §7). This is one of the two
 * modules that read `process.env` (the other is main.ts); everything else receives a `Config`.
 *
 * Every setting is documented in docs/agent-configuration.md — keep the table below and that page
 * in step.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { AgentError } from './errors.ts';
import { LOG_LEVELS, type LogLevel } from './log.ts';

export type SourceName = 'auto' | 'pvesh' | 'files' | 'api';
export const SOURCE_NAMES: readonly SourceName[] = ['auto', 'pvesh', 'files', 'api'];

export interface TlsOptions {
  /** PEM text of a CA to trust (instead of the system store) */
  ca?: string;
  /** SHA-256 fingerprint of the server certificate, hex without separators, lower case */
  fingerprint?: string;
  /** plain http:// allowed to hosts other than loopback */
  allowInsecureHttp: boolean;
}

export interface Config {
  configFile: string;
  /** nannyapi base URL; undefined → the URL stored at registration */
  apiUrl?: string;
  apiTls: TlsOptions;
  intervalSeconds: number;
  /** seconds between membership/quorum checks between cycles; 0 = off (DESIGN.md §9) */
  watchIntervalSeconds: number;
  /** seconds between /proc-only node reports; 0 = off */
  heartbeatIntervalSeconds: number;
  /** dpkg's status file: pveversion runs again only when it changed */
  dpkgStatus: string;
  source: SourceName;
  pveRoot: string;
  procRoot: string;
  /** /etc/hosts (a standalone node's ip for the files source) */
  hostsFile: string;
  stateDir: string;
  /** name of this node; undefined → detected (pmxcfs `.members`, `/cluster/status` local=1, hostname) */
  nodeName?: string;
  commandTimeoutMs: number;
  pmxcfsTimeoutMs: number;
  requestTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  spoolMaxItems: number;
  logLevel: LogLevel;
  /** PVE HTTPS API source */
  pveApiUrl?: string;
  pveApiToken?: string;
  /** PEM text of the CA file for the PVE API (usually a copy of /etc/pve/pve-root-ca.pem) */
  pveApiCa?: string;
  pveApiTls: TlsOptions;
  /** one-time enrollment token: `run` registers with it when the agent is not registered yet */
  enrollToken?: string;
}

type Raw = Record<string, string>;

interface Setting {
  env: string;
  flag?: string;
  apply(value: string, c: Draft, errors: string[], from: string): void;
}

type Draft = { -readonly [K in keyof Config]?: Config[K] } & {
  apiCaFile?: string;
  apiFingerprint?: string;
  allowInsecure?: boolean;
  pveApiCaFile?: string;
  pveApiFingerprint?: string;
};

const number =
  (key: keyof Config, opts: { min: number; max?: number; integer?: boolean; scale?: number }) =>
  (v: string, c: Draft, errors: string[], from: string): void => {
    const n = Number(v);
    if (
      v.trim() === '' ||
      !Number.isFinite(n) ||
      (opts.integer && !Number.isInteger(n)) ||
      n < opts.min ||
      (opts.max !== undefined && n > opts.max)
    ) {
      errors.push(
        `${from}: must be ${opts.integer ? 'an integer' : 'a number'} ≥ ${opts.min}${opts.max !== undefined ? ` and ≤ ${opts.max}` : ''}, got "${v}"`,
      );
      return;
    }
    (c as Record<string, unknown>)[key] = n * (opts.scale ?? 1);
  };

const text =
  (key: keyof Draft) =>
  (v: string, c: Draft, errors: string[], from: string): void => {
    if (v.trim() === '') errors.push(`${from}: must not be empty`);
    else (c as Record<string, unknown>)[key] = v.trim();
  };

const bool =
  (key: keyof Draft) =>
  (v: string, c: Draft, errors: string[], from: string): void => {
    const t = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) (c as Record<string, unknown>)[key] = true;
    else if (['0', 'false', 'no', 'off', ''].includes(t)) (c as Record<string, unknown>)[key] = false;
    else errors.push(`${from}: must be true or false, got "${v}"`);
  };

const url =
  (key: keyof Draft) =>
  (v: string, c: Draft, errors: string[], from: string): void => {
    let u: URL;
    try {
      u = new URL(v.trim());
    } catch {
      errors.push(`${from}: not a URL: "${v}"`);
      return;
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      errors.push(`${from}: must be an http(s) URL, got "${v}"`);
      return;
    }
    (c as Record<string, unknown>)[key] = v.trim().replace(/\/+$/, '');
  };

export const SETTINGS: readonly Setting[] = [
  { env: 'NANNYAPI_URL', flag: 'url', apply: url('apiUrl') },
  { env: 'NANNYAPI_CA_FILE', flag: 'api-ca-file', apply: text('apiCaFile') },
  { env: 'NANNYAPI_FINGERPRINT', flag: 'api-fingerprint', apply: text('apiFingerprint') },
  { env: 'NANNYAGENT_ALLOW_INSECURE_HTTP', flag: 'allow-insecure-http', apply: bool('allowInsecure') },
  { env: 'NANNYAPI_ENROLL_TOKEN', flag: 'enroll-token', apply: text('enrollToken') },
  // Fractions are accepted so tests can run cycles every few hundred milliseconds; a node uses whole
  // seconds (the payload's interval_seconds is rounded).
  { env: 'PROXMOX_INTERVAL', flag: 'interval', apply: number('intervalSeconds', { min: 0.05, max: 86400 }) },
  // 0 turns each off; fractions are for tests, as for PROXMOX_INTERVAL.
  {
    env: 'NANNYAGENT_WATCH_INTERVAL',
    flag: 'watch-interval',
    apply: number('watchIntervalSeconds', { min: 0, max: 86400 }),
  },
  {
    env: 'NANNYAGENT_HEARTBEAT_INTERVAL',
    flag: 'heartbeat-interval',
    apply: number('heartbeatIntervalSeconds', { min: 0, max: 86400 }),
  },
  { env: 'NANNYAGENT_DPKG_STATUS', flag: 'dpkg-status', apply: text('dpkgStatus') },
  {
    env: 'NANNYAGENT_SOURCE',
    flag: 'source',
    apply: (v, c, errors, from) => {
      if ((SOURCE_NAMES as readonly string[]).includes(v.trim())) c.source = v.trim() as SourceName;
      else errors.push(`${from}: must be one of ${SOURCE_NAMES.join(', ')}, got "${v}"`);
    },
  },
  { env: 'NANNYAGENT_PVE_ROOT', flag: 'pve-root', apply: text('pveRoot') },
  { env: 'NANNYAGENT_PROC_ROOT', flag: 'proc-root', apply: text('procRoot') },
  { env: 'NANNYAGENT_HOSTS_FILE', flag: 'hosts-file', apply: text('hostsFile') },
  { env: 'NANNYAGENT_STATE_DIR', flag: 'state-dir', apply: text('stateDir') },
  { env: 'NANNYAGENT_NODE', flag: 'node', apply: text('nodeName') },
  {
    env: 'NANNYAGENT_COMMAND_TIMEOUT',
    flag: 'command-timeout',
    apply: number('commandTimeoutMs', { min: 0.05, max: 3600, scale: 1000 }),
  },
  {
    env: 'NANNYAGENT_PMXCFS_TIMEOUT',
    flag: 'pmxcfs-timeout',
    apply: number('pmxcfsTimeoutMs', { min: 0.05, max: 3600, scale: 1000 }),
  },
  {
    env: 'NANNYAGENT_REQUEST_TIMEOUT',
    flag: 'request-timeout',
    apply: number('requestTimeoutMs', { min: 0.05, max: 3600, scale: 1000 }),
  },
  {
    env: 'NANNYAGENT_RETRY_BASE',
    flag: 'retry-base',
    apply: number('retryBaseMs', { min: 0.001, max: 3600, scale: 1000 }),
  },
  {
    env: 'NANNYAGENT_RETRY_MAX',
    flag: 'retry-max',
    apply: number('retryMaxMs', { min: 0.001, max: 86400, scale: 1000 }),
  },
  {
    env: 'NANNYAGENT_SPOOL_MAX_ITEMS',
    flag: 'spool-max-items',
    apply: number('spoolMaxItems', { min: 1, max: 10_000_000, integer: true }),
  },
  {
    env: 'NANNYAGENT_LOG_LEVEL',
    flag: 'log-level',
    apply: (v, c, errors, from) => {
      if ((LOG_LEVELS as readonly string[]).includes(v.trim())) c.logLevel = v.trim() as LogLevel;
      else errors.push(`${from}: must be one of ${LOG_LEVELS.join(', ')}, got "${v}"`);
    },
  },
  { env: 'NANNYAGENT_PVE_API_URL', flag: 'pve-api-url', apply: url('pveApiUrl') },
  {
    env: 'NANNYAGENT_PVE_API_TOKEN',
    flag: 'pve-api-token',
    apply: (v, c, errors, from) => {
      // USER@REALM!TOKENID=SECRET, the form the `PVEAPIToken=` header carries.
      if (/^[^\s@!=]+@[^\s@!=]+![^\s!=]+=\S+$/.test(v.trim())) c.pveApiToken = v.trim();
      else errors.push(`${from}: must look like user@realm!tokenid=secret`);
    },
  },
  { env: 'NANNYAGENT_PVE_API_CA_FILE', flag: 'pve-api-ca-file', apply: text('pveApiCaFile') },
  { env: 'NANNYAGENT_PVE_API_FINGERPRINT', flag: 'pve-api-fingerprint', apply: text('pveApiFingerprint') },
];

export const DEFAULT_CONFIG_FILE = '/etc/nannyagent/config.env';

/**
 * Parses a systemd-`EnvironmentFile`-like file: `KEY=value`, `#` comments, optional `export `,
 * optional single or double quotes around the value.
 */
export function parseEnvFile(text: string): { values: Raw; errors: string[] } {
  const values: Raw = {};
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(t);
    if (!m) {
      errors.push(`line ${i + 1}: expected KEY=value, got "${t}"`);
      return;
    }
    let v = m[2]!;
    if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))))
      v = v.slice(1, -1);
    values[m[1]!] = v;
  });
  return { values, errors };
}

function normalizeFingerprint(v: string): string | undefined {
  const hex = v
    .replace(/^sha256[:/]/i, '')
    .replace(/[:\s]/g, '')
    .toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

export interface LoadInput {
  env: Record<string, string | undefined>;
  /** flags by their long name without dashes, e.g. { interval: '30' } */
  flags?: Record<string, string>;
  readFile?: (path: string) => string;
}

/** Loads, merges and validates; throws one AgentError listing every problem. */
export function loadConfig(input: LoadInput): Readonly<Config> {
  const read = input.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const flags = input.flags ?? {};
  const errors: string[] = [];
  const configFile = flags['config'] ?? input.env['NANNYAGENT_CONFIG'] ?? DEFAULT_CONFIG_FILE;
  let fileValues: Raw = {};
  try {
    const parsed = parseEnvFile(read(configFile));
    fileValues = parsed.values;
    errors.push(...parsed.errors.map((e) => `${configFile}: ${e}`));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A missing file is normal (everything may come from the environment); an explicit one must exist.
    const explicit = flags['config'] !== undefined || input.env['NANNYAGENT_CONFIG'] !== undefined;
    if (code !== 'ENOENT' || explicit) errors.push(`${configFile}: cannot read (${code ?? String(err)})`);
  }
  const known = new Set(SETTINGS.map((s) => s.env));
  for (const k of Object.keys(fileValues)) {
    if (!known.has(k) && k !== 'NANNYAGENT_CONFIG') errors.push(`${configFile}: unknown setting ${k}`);
  }
  const knownFlags = new Set(SETTINGS.flatMap((s) => (s.flag ? [s.flag] : [])).concat(['config']));
  for (const f of Object.keys(flags)) if (!knownFlags.has(f)) errors.push(`--${f}: unknown option`);

  const d: Draft = {};
  for (const s of SETTINGS) {
    const fromFlag = s.flag !== undefined ? flags[s.flag] : undefined;
    const fromEnv = input.env[s.env];
    const fromFile = fileValues[s.env];
    if (fromFlag !== undefined) s.apply(fromFlag, d, errors, `--${s.flag}`);
    else if (fromEnv !== undefined) s.apply(fromEnv, d, errors, s.env);
    else if (fromFile !== undefined) s.apply(fromFile, d, errors, `${s.env} (${configFile})`);
  }

  const tls = (caFile: string | undefined, fp: string | undefined, name: string): TlsOptions => {
    const o: TlsOptions = { allowInsecureHttp: d.allowInsecure ?? false };
    if (caFile !== undefined) {
      try {
        o.ca = read(caFile);
        if (!o.ca.includes('-----BEGIN CERTIFICATE-----'))
          errors.push(`${name}_CA_FILE: ${caFile} holds no PEM certificate`);
      } catch (err) {
        errors.push(
          `${name}_CA_FILE: cannot read ${caFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        );
      }
    }
    if (fp !== undefined) {
      const n = normalizeFingerprint(fp);
      if (n) o.fingerprint = n;
      else errors.push(`${name}_FINGERPRINT: must be a SHA-256 fingerprint (64 hex digits, colons allowed)`);
    }
    return o;
  };
  const apiTls = tls(d.apiCaFile, d.apiFingerprint, 'NANNYAPI');
  const pveApiTls = tls(d.pveApiCaFile, d.pveApiFingerprint, 'NANNYAGENT_PVE_API');

  const checkPlain = (u: string | undefined, name: string): void => {
    if (u === undefined) return;
    const parsed = new URL(u);
    if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname) && !d.allowInsecure) {
      errors.push(
        `${name}: plain http:// is refused for ${parsed.hostname} (not loopback); use https:// or set NANNYAGENT_ALLOW_INSECURE_HTTP=true`,
      );
    }
  };
  checkPlain(d.apiUrl, 'NANNYAPI_URL');
  checkPlain(d.pveApiUrl, 'NANNYAGENT_PVE_API_URL');

  if (d.source === 'api') {
    if (d.pveApiUrl === undefined) errors.push('NANNYAGENT_PVE_API_URL: required when NANNYAGENT_SOURCE=api');
    if (d.pveApiToken === undefined)
      errors.push('NANNYAGENT_PVE_API_TOKEN: required when NANNYAGENT_SOURCE=api');
  }
  const retryBaseMs = d.retryBaseMs ?? 1000;
  const retryMaxMs = d.retryMaxMs ?? 300_000;
  if (retryMaxMs < retryBaseMs)
    errors.push('NANNYAGENT_RETRY_MAX: must not be smaller than NANNYAGENT_RETRY_BASE');

  if (errors.length > 0) throw new AgentError('AGENT_CONFIG', errors.join('\n'));

  const c: Config = {
    configFile,
    apiTls,
    intervalSeconds: d.intervalSeconds ?? 300,
    watchIntervalSeconds: d.watchIntervalSeconds ?? 5,
    heartbeatIntervalSeconds: d.heartbeatIntervalSeconds ?? 60,
    dpkgStatus: d.dpkgStatus ?? '/var/lib/dpkg/status',
    source: d.source ?? 'auto',
    pveRoot: d.pveRoot ?? '/etc/pve',
    procRoot: d.procRoot ?? '/proc',
    hostsFile: d.hostsFile ?? '/etc/hosts',
    stateDir: d.stateDir ?? '/var/lib/nannyagent',
    commandTimeoutMs: d.commandTimeoutMs ?? 30_000,
    pmxcfsTimeoutMs: d.pmxcfsTimeoutMs ?? 10_000,
    requestTimeoutMs: d.requestTimeoutMs ?? 15_000,
    retryBaseMs,
    retryMaxMs,
    spoolMaxItems: d.spoolMaxItems ?? 20_000,
    logLevel: d.logLevel ?? 'info',
    pveApiTls: { ...pveApiTls },
  };
  if (d.apiUrl !== undefined) c.apiUrl = d.apiUrl;
  if (d.nodeName !== undefined) c.nodeName = d.nodeName;
  if (d.pveApiUrl !== undefined) c.pveApiUrl = d.pveApiUrl;
  if (d.pveApiToken !== undefined) c.pveApiToken = d.pveApiToken;
  if (pveApiTls.ca !== undefined) c.pveApiCa = pveApiTls.ca;
  if (d.enrollToken !== undefined) c.enrollToken = d.enrollToken;
  return Object.freeze(c);
}
