/**
 * Configuration: `/etc/nannyagent/config.env` < environment < command-line flags, validated once
 * with every error listed, then frozen and passed down (DESIGN.md §7). This is one of the two
 * modules that read `process.env` (the other is main.ts); everything else receives a `Config`.
 *
 * The settings table of docs/agent-configuration.md is generated from AGENT_SETTINGS
 * (`npm run docs:settings`); a test fails when they disagree.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseEnvFile as parseSettingsFile, resolveSettings, type FileValues } from '@nanny/settings';
import { AgentError } from './errors.ts';
import type { LogLevel } from './log.ts';
import { AGENT_SETTINGS, type SourceName } from './config-settings.ts';

export { AGENT_SETTINGS, type SourceName };

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
  pkgUpdatesFile: string;
  aptListsDir: string;
  source: SourceName;
  pveRoot: string;
  procRoot: string;
  /** /etc/hosts (a standalone node's ip for the files source) */
  hostsFile: string;
  /** /var/log/pve/tasks (files source: vzdump tasks) */
  tasksRoot: string;
  /** /var/lib/pve-manager (files source: replication state) */
  pveLibRoot: string;
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

/**
 * Variables with the prefixes the agent owns; an unknown one is warned about. NANNYAPI_* is not
 * among them: the server's settings share it and often sit in the same shell or unit file.
 */
export const AGENT_ENV_PREFIXES = ['NANNYAGENT_'] as const;

/** Parses a systemd-`EnvironmentFile`-like file (see @nanny/settings); values without line numbers. */
export function parseEnvFile(text: string): { values: Record<string, string>; errors: string[] } {
  const r = parseSettingsFile(text);
  return {
    values: Object.fromEntries(Object.entries(r.values).map(([k, v]) => [k, v.value])),
    errors: r.errors,
  };
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

export interface LoadInput {
  env: Record<string, string | undefined>;
  /** flags by their long name without dashes, e.g. { interval: '30' } (what parseCommandLine gives) */
  flags?: Record<string, string | boolean | string[] | undefined>;
  readFile?: (path: string) => string;
  /** unknown NANNYAGENT_* variables and the like: reported, not fatal */
  onWarning?: (message: string) => void;
}

/** Loads, merges and validates; throws one AgentError listing every problem. */
export function loadConfig(input: LoadInput): Readonly<Config> {
  const read = input.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const flags = input.flags ?? {};
  const errors: string[] = [];
  // The file's own path comes from flags and environment only (resolved before the file is read).
  const where = resolveSettings(
    AGENT_SETTINGS.filter((s) => s.key === 'configFile'),
    { env: input.env, flags },
  );
  errors.push(...where.errors);
  const configFile = where.values.configFile as string;
  let file: FileValues | undefined;
  try {
    const parsed = parseSettingsFile(read(configFile));
    const { NANNYAGENT_CONFIG: _ignored, ...values } = parsed.values;
    file = { path: configFile, values };
    errors.push(...parsed.errors.map((e) => `${configFile}: ${e}`));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A missing file is normal (everything may come from the environment); an explicit one must exist.
    if (code !== 'ENOENT' || where.from.configFile !== undefined)
      errors.push(
        `${where.from.configFile ?? configFile}: cannot read ${configFile} (${code ?? String(err)})`,
      );
  }
  const known = new Set(AGENT_SETTINGS.flatMap((s) => (s.flag !== undefined ? [s.flag] : [])));
  for (const f of Object.keys(flags)) {
    if (!known.has(f)) errors.push(`--${f}: unknown option`);
  }
  const r = resolveSettings(AGENT_SETTINGS, {
    env: input.env,
    flags,
    ...(file !== undefined ? { file } : {}),
    envPrefixes: AGENT_ENV_PREFIXES,
  });
  errors.push(...r.errors);
  for (const w of r.warnings) input.onWarning?.(w);
  const d = r.values as Partial<Config> & {
    apiCaFile?: string;
    apiFingerprint?: string;
    allowInsecure: boolean;
    pveApiCaFile?: string;
    pveApiFingerprint?: string;
  };
  // cross-setting problems name the setting as the user gave it (flag, variable or file line)
  const from = (key: string, env: string): string => r.from[key] ?? env;

  const tls = (caKey: string, fpKey: string, prefix: string): TlsOptions => {
    const o: TlsOptions = { allowInsecureHttp: d.allowInsecure };
    const caFile = r.values[caKey] as string | undefined;
    if (caFile !== undefined) {
      const name = from(caKey, `${prefix}_CA_FILE`);
      try {
        o.ca = read(caFile);
        if (!o.ca.includes('-----BEGIN CERTIFICATE-----'))
          errors.push(`${name}: ${caFile} holds no PEM certificate`);
      } catch (err) {
        errors.push(`${name}: cannot read ${caFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
    }
    const fp = r.values[fpKey] as string | undefined;
    if (fp !== undefined) o.fingerprint = fp;
    return o;
  };
  const apiTls = tls('apiCaFile', 'apiFingerprint', 'NANNYAPI');
  const pveApiTls = tls('pveApiCaFile', 'pveApiFingerprint', 'NANNYAGENT_PVE_API');

  const checkPlain = (key: 'apiUrl' | 'pveApiUrl', env: string): void => {
    const u = d[key];
    if (u === undefined) return;
    const parsed = new URL(u);
    if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname) && !d.allowInsecure) {
      errors.push(
        `${from(key, env)}: plain http:// is refused for ${parsed.hostname} (not loopback); use https:// or set NANNYAGENT_ALLOW_INSECURE_HTTP=true`,
      );
    }
  };
  checkPlain('apiUrl', 'NANNYAPI_URL');
  checkPlain('pveApiUrl', 'NANNYAGENT_PVE_API_URL');

  if (d.source === 'api') {
    const why = `required when ${from('source', 'NANNYAGENT_SOURCE')} is api`;
    if (d.pveApiUrl === undefined) errors.push(`NANNYAGENT_PVE_API_URL (--pve-api-url): ${why}`);
    if (d.pveApiToken === undefined) errors.push(`NANNYAGENT_PVE_API_TOKEN (--pve-api-token): ${why}`);
  }
  if (d.retryMaxMs! < d.retryBaseMs!)
    errors.push(
      `${from('retryMaxMs', 'NANNYAGENT_RETRY_MAX')}: must not be smaller than ${from('retryBaseMs', 'NANNYAGENT_RETRY_BASE')}`,
    );

  const tokenFile = r.values.enrollTokenFile as string | undefined;
  if (tokenFile !== undefined) {
    const name = from('enrollTokenFile', 'NANNYAPI_ENROLL_TOKEN_FILE');
    if (d.enrollToken !== undefined)
      errors.push(`${name}: give the enrollment token or a token file, not both`);
    else
      try {
        const text = (tokenFile === '-' ? readFileSync(0, 'utf8') : read(tokenFile)).trim();
        if (text === '') errors.push(`${name}: ${tokenFile} is empty`);
        else d.enrollToken = text;
      } catch (err) {
        errors.push(
          `${name}: cannot read ${tokenFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        );
      }
  }

  if (errors.length > 0) throw new AgentError('AGENT_CONFIG', errors.join('\n'));

  const c: Config = {
    configFile,
    apiTls,
    intervalSeconds: d.intervalSeconds!,
    watchIntervalSeconds: d.watchIntervalSeconds!,
    heartbeatIntervalSeconds: d.heartbeatIntervalSeconds!,
    dpkgStatus: d.dpkgStatus!,
    pkgUpdatesFile: d.pkgUpdatesFile!,
    aptListsDir: d.aptListsDir!,
    source: d.source!,
    pveRoot: d.pveRoot!,
    procRoot: d.procRoot!,
    hostsFile: d.hostsFile!,
    tasksRoot: d.tasksRoot!,
    pveLibRoot: d.pveLibRoot!,
    stateDir: d.stateDir!,
    commandTimeoutMs: d.commandTimeoutMs!,
    pmxcfsTimeoutMs: d.pmxcfsTimeoutMs!,
    requestTimeoutMs: d.requestTimeoutMs!,
    retryBaseMs: d.retryBaseMs!,
    retryMaxMs: d.retryMaxMs!,
    spoolMaxItems: d.spoolMaxItems!,
    logLevel: d.logLevel!,
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
