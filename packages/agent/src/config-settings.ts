/**
 * Every setting of the agent, one list (config.ts loads and validates them; the docs table and
 * `--help` come from here too). Apart from config.ts only to keep each file a readable size.
 */
import {
  boolean,
  custom,
  decimal,
  httpUrl,
  integer,
  oneOf,
  text,
  ValueProblem,
  type Kind,
  type Schema,
} from '@nanny/settings';
import { LOG_LEVELS } from './log.ts';

export type SourceName = 'auto' | 'pvesh' | 'files' | 'api';
export const SOURCE_NAMES: readonly SourceName[] = ['auto', 'pvesh', 'files', 'api'];

export const DEFAULT_CONFIG_FILE = '/etc/nannyagent/config.env';

const seconds = (min: number, max: number) => decimal(min, max, 1000);

/**
 * Every setting of the agent: flags, environment names, defaults, validation, `--help` and the
 * table in docs/agent-configuration.md all come from this list (`npm run docs:settings`).
 */
export const AGENT_SETTINGS: Schema = [
  {
    key: 'configFile',
    env: 'NANNYAGENT_CONFIG',
    flag: 'config',
    arg: 'FILE',
    kind: text(),
    default: DEFAULT_CONFIG_FILE,
    doc: 'path of the config file; a missing default file is fine, a missing file you named is an error',
  },
  {
    key: 'apiUrl',
    env: 'NANNYAPI_URL',
    flag: 'url',
    arg: 'URL',
    kind: httpUrl(),
    defaultDoc: 'the URL given to `register`',
    doc: 'base URL of nannyapi, e.g. `https://nannyapi.example.com`. `http://` is refused except to loopback (`127.0.0.0/8`, `::1`, `localhost`) unless `NANNYAGENT_ALLOW_INSECURE_HTTP=true`',
  },
  {
    key: 'enrollToken',
    env: 'NANNYAPI_ENROLL_TOKEN',
    flag: 'enroll-token',
    arg: 'TOKEN',
    kind: text(),
    doc: 'one-time enrollment token (`register`; `run` registers with it when no credentials exist yet)',
  },
  {
    key: 'enrollTokenFile',
    env: 'NANNYAPI_ENROLL_TOKEN_FILE',
    flag: 'enroll-token-file',
    arg: 'FILE',
    kind: text(),
    doc: 'read the enrollment token from this file (`-` = standard input) instead: a flag shows in `ps`',
  },
  {
    key: 'apiCaFile',
    env: 'NANNYAPI_CA_FILE',
    flag: 'api-ca-file',
    arg: 'FILE',
    kind: text(),
    defaultDoc: 'system trust store',
    doc: "PEM file of the CA that signed nannyapi's certificate (private CA)",
  },
  {
    key: 'apiFingerprint',
    env: 'NANNYAPI_FINGERPRINT',
    flag: 'api-fingerprint',
    arg: 'SHA256',
    kind: fingerprint(),
    doc: "SHA-256 fingerprint of nannyapi's certificate (64 hex digits, colons allowed): pins it instead of verifying a chain",
  },
  {
    key: 'allowInsecure',
    env: 'NANNYAGENT_ALLOW_INSECURE_HTTP',
    flag: 'allow-insecure-http',
    kind: boolean(),
    default: 'false',
    doc: 'allow plain `http://` to hosts other than loopback (tokens travel in clear text)',
  },
  // Fractions are accepted so tests can run cycles every few hundred milliseconds; a node uses whole
  // seconds (the payload's interval_seconds is rounded).
  {
    key: 'intervalSeconds',
    env: 'PROXMOX_INTERVAL',
    flag: 'interval',
    arg: 'SECONDS',
    kind: decimal(0.05, 86400),
    default: '300',
    doc: 'seconds between collection cycles; the first cycle runs at start. Fractions are accepted (tests use `0.15`); reports carry it rounded as `interval_seconds`',
  },
  {
    key: 'watchIntervalSeconds',
    env: 'NANNYAGENT_WATCH_INTERVAL',
    flag: 'watch-interval',
    arg: 'SECONDS',
    kind: decimal(0, 86400),
    default: '5',
    doc: 'seconds between cheap membership and quorum checks between cycles (one long-lived `/etc/pve` reader, or one `GET /cluster/status`; `pvesh` at most every 30 s); a change sends the cluster and node reports at once. `0` = off. See [detection.md](detection.md)',
  },
  {
    key: 'heartbeatIntervalSeconds',
    env: 'NANNYAGENT_HEARTBEAT_INTERVAL',
    flag: 'heartbeat-interval',
    arg: 'SECONDS',
    kind: decimal(0, 86400),
    default: '60',
    doc: 'seconds between node reports built from `/proc` alone (no Proxmox call, no process): node history at one-minute resolution and a dead agent noticed within minutes. `0` = off',
  },
  {
    key: 'dpkgStatus',
    env: 'NANNYAGENT_DPKG_STATUS',
    flag: 'dpkg-status',
    arg: 'FILE',
    kind: text(),
    default: '/var/lib/dpkg/status',
    doc: "dpkg's status file: `pveversion --verbose` runs again only when it changed (mtime, size, inode)",
  },
  {
    key: 'pkgUpdatesFile',
    env: 'NANNYAGENT_PKGUPDATES',
    flag: 'pkgupdates',
    arg: 'FILE',
    kind: text(),
    default: '/var/lib/pve-manager/pkgupdates',
    doc: "pve-manager's cached list of available updates (written daily by `pveupdate`): the node report's `updates_count` (files and pvesh sources)",
  },
  {
    key: 'aptListsDir',
    env: 'NANNYAGENT_APT_LISTS',
    flag: 'apt-lists',
    arg: 'DIR',
    kind: text(),
    default: '/var/lib/apt/lists',
    doc: "apt's lists: a pending update whose version a security archive's `Packages` index (its Release file labelled `Debian-Security` or suite `*-security`) offers counts in `updates_security_count` (files and pvesh sources; read again only after `apt-get update`)",
  },
  {
    key: 'source',
    env: 'NANNYAGENT_SOURCE',
    flag: 'source',
    arg: 'NAME',
    kind: oneOf(SOURCE_NAMES),
    default: 'auto',
    doc: "where Proxmox data comes from: `files` (the `/etc/pve` virtual files, guest config files and `/proc`: two processes per cycle whatever the guest count), `pvesh` (the spec's way: `pvesh get PATH --output-format json`, one process per path), `api` (the Proxmox HTTPS API with an API token, for polling from outside), `auto` (`files` when `/etc/pve` can be read, else `pvesh`, decided every cycle)",
  },
  {
    key: 'nodeName',
    env: 'NANNYAGENT_NODE',
    flag: 'node',
    arg: 'NAME',
    kind: text(),
    defaultDoc: 'detected',
    doc: 'the node to report: `.members` (`files`), the `local: 1` entry of `/cluster/status` (`pvesh`, `api`), else the host name up to the first dot. Required in practice for `api`',
  },
  {
    key: 'pveRoot',
    env: 'NANNYAGENT_PVE_ROOT',
    flag: 'pve-root',
    arg: 'DIR',
    kind: text(),
    default: '/etc/pve',
    doc: 'root of the pmxcfs tree',
  },
  {
    key: 'procRoot',
    env: 'NANNYAGENT_PROC_ROOT',
    flag: 'proc-root',
    arg: 'DIR',
    kind: text(),
    default: '/proc',
    doc: 'root of procfs (node CPU from `/proc/stat` deltas, memory, load, uptime, kernel)',
  },
  {
    key: 'hostsFile',
    env: 'NANNYAGENT_HOSTS_FILE',
    flag: 'hosts-file',
    arg: 'FILE',
    kind: text(),
    default: '/etc/hosts',
    doc: "where the `files` source finds a standalone node's `ip` (PVE resolves it from the node name; a standalone `.members` has none)",
  },
  {
    key: 'tasksRoot',
    env: 'NANNYAGENT_TASKS_ROOT',
    flag: 'tasks-root',
    arg: 'DIR',
    kind: text(),
    default: '/var/log/pve/tasks',
    doc: "the node's task index (`index`, `index.1`, `active`) and task logs: where the `files` source finds vzdump tasks (read incrementally)",
  },
  {
    key: 'pveLibRoot',
    env: 'NANNYAGENT_PVE_LIB_ROOT',
    flag: 'pve-lib-root',
    arg: 'DIR',
    kind: text(),
    default: '/var/lib/pve-manager',
    doc: 'node-local state of pve-manager: where the `files` source finds `pve-replication-state.json`',
  },
  {
    key: 'stateDir',
    env: 'NANNYAGENT_STATE_DIR',
    flag: 'state-dir',
    arg: 'DIR',
    kind: text(),
    default: '/var/lib/nannyagent',
    doc: "credentials (`credentials.json`, mode 0600), `last-cycle.json`, the spool (`spool/`). Must be owned by the agent's user and mode 0700 (created so when missing); otherwise the agent refuses to start",
  },
  {
    key: 'commandTimeoutMs',
    env: 'NANNYAGENT_COMMAND_TIMEOUT',
    flag: 'command-timeout',
    arg: 'SECONDS',
    kind: seconds(0.05, 3600),
    default: '30',
    doc: 'seconds a `pvesh`/`pveversion` call may take before it is killed and abandoned',
  },
  {
    key: 'pmxcfsTimeoutMs',
    env: 'NANNYAGENT_PMXCFS_TIMEOUT',
    flag: 'pmxcfs-timeout',
    arg: 'SECONDS',
    kind: seconds(0.05, 3600),
    default: '10',
    doc: 'seconds all `/etc/pve` reads of one cycle may take (they run in a helper process, abandoned on timeout: a hung pmxcfs blocks reads forever)',
  },
  {
    key: 'requestTimeoutMs',
    env: 'NANNYAGENT_REQUEST_TIMEOUT',
    flag: 'request-timeout',
    arg: 'SECONDS',
    kind: seconds(0.05, 3600),
    default: '15',
    doc: 'seconds per HTTP request (nannyapi and the Proxmox API)',
  },
  {
    key: 'retryBaseMs',
    env: 'NANNYAGENT_RETRY_BASE',
    flag: 'retry-base',
    arg: 'SECONDS',
    kind: seconds(0.001, 3600),
    default: '1',
    doc: 'seconds: first backoff step for 5xx / 429 / network errors',
  },
  {
    key: 'retryMaxMs',
    env: 'NANNYAGENT_RETRY_MAX',
    flag: 'retry-max',
    arg: 'SECONDS',
    kind: seconds(0.001, 86400),
    default: '300',
    doc: 'seconds: backoff cap. The wait before attempt *n* is uniform in `[0, min(max, base·2ⁿ)]` (full jitter)',
  },
  {
    key: 'spoolMaxItems',
    env: 'NANNYAGENT_SPOOL_MAX_ITEMS',
    flag: 'spool-max-items',
    arg: 'N',
    kind: integer(1, 10_000_000),
    default: '20000',
    doc: 'undelivered reports kept on disk; when full the oldest are dropped with a warning (200 guests × 5-minute cycles ≈ 8 hours)',
  },
  {
    key: 'logLevel',
    env: 'NANNYAGENT_LOG_LEVEL',
    flag: 'log-level',
    arg: 'LEVEL',
    kind: oneOf(LOG_LEVELS),
    default: 'info',
    doc: 'how much goes to stderr (→ the journal)',
  },
  {
    key: 'pveApiUrl',
    env: 'NANNYAGENT_PVE_API_URL',
    flag: 'pve-api-url',
    arg: 'URL',
    kind: httpUrl(),
    doc: '`api` source: e.g. `https://pve1.example.com:8006` (required with `NANNYAGENT_SOURCE=api`)',
  },
  {
    key: 'pveApiToken',
    env: 'NANNYAGENT_PVE_API_TOKEN',
    flag: 'pve-api-token',
    arg: 'TOKEN',
    // USER@REALM!TOKENID=SECRET, the form the `PVEAPIToken=` header carries.
    kind: text({ pattern: /^[^\s@!=]+@[^\s@!=]+![^\s!=]+=\S+$/, patternDoc: 'user@realm!tokenid=secret' }),
    doc: '`api` source: `USER@REALM!TOKENID=SECRET`; a read-only token needs the `PVEAuditor` role on `/`',
  },
  {
    key: 'pveApiCaFile',
    env: 'NANNYAGENT_PVE_API_CA_FILE',
    flag: 'pve-api-ca-file',
    arg: 'FILE',
    kind: text(),
    defaultDoc: 'system trust store',
    doc: "`api` source: a copy of the cluster's `/etc/pve/pve-root-ca.pem`. It verifies pveproxy **and** gives the reports their `cluster_fingerprint` (no API path returns that certificate)",
  },
  {
    key: 'pveApiFingerprint',
    env: 'NANNYAGENT_PVE_API_FINGERPRINT',
    flag: 'pve-api-fingerprint',
    arg: 'SHA256',
    kind: fingerprint(),
    doc: "`api` source: pin pveproxy's certificate by its SHA-256 fingerprint (as the web UI shows it)",
  },
];

function fingerprint(): Kind<string> {
  return custom('SHA-256 fingerprint', (v) => {
    const hex = v
      .replace(/^sha256[:/]/i, '')
      .replace(/[:\s]/g, '')
      .toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex))
      throw new ValueProblem('must be a SHA-256 fingerprint (64 hex digits, colons allowed)');
    return hex;
  });
}
