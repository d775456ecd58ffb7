/**
 * The command line: `nannyagent run | collect | register | status | --help`. Settings come from
 * /etc/nannyagent/config.env < environment < flags (config.ts); this module turns argv into a
 * command, its own options and the setting flags.
 */
import { hostname } from 'node:os';
import { clusterFingerprint, looksLikePemCertificate } from '@nanny/proxmox';
import { REGISTER_PATH } from '@nanny/schema';
import { createAgent, createSource, shortHostname } from './agent.ts';
import { createCollector, type CycleItem } from './collect.ts';
import {
  optionsHelp,
  parseCommandLine,
  settingOptions,
  settingsHelp,
  type OptionSpecs,
} from '@nanny/settings';
import { AGENT_SETTINGS, loadConfig, type Config } from './config.ts';
import { AgentError, errorText } from './errors.ts';
import { httpRequest, type HttpClient } from './http.ts';
import type { SpawnCounter } from './host.ts';
import { createLogger, type Logger } from './log.ts';
import { backoffDelay, createSender, tokensToCredentials } from './sender.ts';
import { readCpuTimes } from './sources/local.ts';
import { createSpool } from './spool.ts';
import { createStateStore } from './state.ts';
import { AGENT_VERSION } from './version.ts';

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: Record<string, string | undefined>;
  http?: HttpClient;
  /** test hook: SIGTERM/SIGINT handling of `run` */
  onSignal?: (handler: () => void) => void;
  counter?: SpawnCounter;
}

/** The commands, their own options and usage; settings flags are accepted by every command. */
const COMMANDS: Record<string, { usage: string; summary: string; options: OptionSpecs }> = {
  run: {
    usage: 'nannyagent run',
    summary: 'the daemon: a cycle every PROXMOX_INTERVAL seconds',
    options: {},
  },
  collect: {
    usage: 'nannyagent collect --once [--dry-run] [--source auto|pvesh|files|api]',
    summary:
      'one cycle; --dry-run prints each payload as one JSON line {"endpoint": ..., "body": ...} instead of sending',
    options: {
      once: { type: 'boolean', help: 'one cycle, then exit (required: the daemon is `nannyagent run`)' },
      'dry-run': { type: 'boolean', help: 'print the payloads instead of sending them' },
    },
  },
  register: {
    usage: 'nannyagent register --url URL --enroll-token TOKEN',
    summary: 'exchange a one-time enrollment token for credentials',
    options: {},
  },
  status: {
    usage: 'nannyagent status',
    summary: 'identity, API reachability, spool depth, last cycle',
    options: {},
  },
};

const GENERAL: OptionSpecs = {
  help: { type: 'boolean', short: 'h', help: 'this help (per command: nannyagent COMMAND --help)' },
  version: { type: 'boolean', help: 'print the version' },
};
const SETTING_OPTIONS = settingOptions(AGENT_SETTINGS);

const SETTINGS_HELP = `Settings (flag, environment variable, default; /etc/nannyagent/config.env < environment < flags):
${settingsHelp(AGENT_SETTINGS)}

Documentation: docs/agent-configuration.md, docs/agent-install.md
`;

export const HELP = `nannyagent ${AGENT_VERSION} — collects Proxmox VE cluster, node, LXC and QEMU data and posts it to nannyapi

Usage:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage}\n      ${c.summary}`)
  .join('\n')}
  nannyagent --help | --version

${SETTINGS_HELP}`;

function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  const own = optionsHelp(c.options);
  return `Usage: ${c.usage}\n\n${c.summary}\n${own ? `\nOptions:\n${own}\n` : ''}\n${SETTINGS_HELP}`;
}

interface ParsedArgs {
  command: string | undefined;
  switches: Set<string>;
  /** setting flags only, by flag name */
  flags: Record<string, string | boolean | string[]>;
  errors: string[];
}

/** argv → command, its switches and the setting flags; every misuse is listed (each names the option). */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const all: OptionSpecs = { ...GENERAL, ...SETTING_OPTIONS };
  for (const c of Object.values(COMMANDS)) Object.assign(all, c.options);
  const first = parseCommandLine(argv, all);
  const command = first.positionals[0];
  // Per command: `run --once` is an error, not silently ignored.
  const own = command !== undefined ? COMMANDS[command]?.options : undefined;
  const p = own !== undefined ? parseCommandLine(argv, { ...GENERAL, ...SETTING_OPTIONS, ...own }) : first;
  const errors = [...p.errors];
  if (own !== undefined && p.positionals.length > 1) errors.push(`unexpected argument "${p.positionals[1]}"`);
  const out: ParsedArgs = { command, switches: new Set(), flags: {}, errors };
  for (const [k, v] of Object.entries(p.values)) {
    if (k in SETTING_OPTIONS) out.flags[k] = v;
    else if (v === true) out.switches.add(k);
  }
  return out;
}

function configErrors(io: CliIo, e: unknown): number {
  if (e instanceof AgentError && e.code === 'AGENT_CONFIG') {
    io.stderr(
      `nannyagent: invalid configuration:\n${e.message
        .split('\n')
        .map((l) => `  - ${l}`)
        .join('\n')}\n`,
    );
    return 2;
  }
  throw e;
}

async function register(config: Readonly<Config>, log: Logger, io: CliIo, http: HttpClient): Promise<number> {
  const errors: string[] = [];
  if (!config.apiUrl) errors.push('--url (NANNYAPI_URL): required');
  if (!config.enrollToken) errors.push('--enroll-token (NANNYAPI_ENROLL_TOKEN): required');
  if (errors.length) return configErrors(io, new AgentError('AGENT_CONFIG', errors.join('\n')));
  const ok = await registerWith(config, log, http, io.env as NodeJS.ProcessEnv);
  return ok ? 0 : 1;
}

/** POST /api/agent/register; stores the credentials (mode 0600). */
export async function registerWith(
  config: Readonly<Config>,
  log: Logger,
  http: HttpClient,
  env?: NodeJS.ProcessEnv,
): Promise<boolean> {
  const state = createStateStore(config.stateDir);
  const id = await identity(config, log, http, env);
  const body = {
    enrollment_token: config.enrollToken,
    hostname: id.node,
    agent_version: AGENT_VERSION,
    ...(id.pveVersion !== undefined ? { pve_version: id.pveVersion } : {}),
    ...(id.clusterName !== undefined ? { cluster_name: id.clusterName } : {}),
    ...(id.fingerprint !== undefined ? { cluster_fingerprint: id.fingerprint } : {}),
  };
  try {
    const res = await http({
      method: 'POST',
      url: config.apiUrl! + REGISTER_PATH,
      body: JSON.stringify(body),
      timeoutMs: config.requestTimeoutMs,
      tls: config.apiTls,
    });
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(res.text) as Record<string, unknown>;
    } catch {
      /* reported below */
    }
    if (res.status < 200 || res.status >= 300 || typeof parsed.access_token !== 'string') {
      log.error(
        `registration failed: HTTP ${res.status} ${String(parsed.error_description ?? res.text.slice(0, 200))}`,
      );
      return false;
    }
    const creds = tokensToCredentials(config.apiUrl!, parsed as never, Date.now());
    await state.writeCredentials(creds);
    log.info(
      `registered as agent ${creds.agent_id} with ${config.apiUrl}; credentials in ${state.dir}/credentials.json`,
    );
    return true;
  } catch (e) {
    log.error(`registration failed: ${errorText(e)}`);
    return false;
  }
}

/** What registration tells the API about this node; every part is optional and best effort. */
async function identity(
  config: Readonly<Config>,
  log: Logger,
  http: HttpClient,
  env?: NodeJS.ProcessEnv,
): Promise<{ node: string; pveVersion?: string; clusterName?: string; fingerprint?: string }> {
  const quiet = createLogger('error', () => undefined);
  const reader = createSource(config, quiet, http, {}, env).open();
  try {
    const [d, status, local, ca] = await Promise.all([
      reader.detect().catch(() => undefined),
      reader.clusterStatus().catch(() => undefined),
      reader.localNode().catch(() => undefined),
      reader.clusterCa().catch(() => undefined),
    ]);
    const fromStatus = status?.find((e) => e.type === 'node' && Number(e.local) === 1)?.name;
    const cluster = status?.find((e) => e.type === 'cluster')?.name;
    const out: { node: string; pveVersion?: string; clusterName?: string; fingerprint?: string } = {
      node: config.nodeName ?? fromStatus ?? local ?? shortHostname(),
    };
    if (d?.pveVersion) out.pveVersion = d.pveVersion;
    if (typeof cluster === 'string') out.clusterName = cluster;
    if (ca !== undefined && looksLikePemCertificate(ca)) out.fingerprint = clusterFingerprint(ca);
    if (!d?.installed) log.warn('Proxmox VE not detected on this host; registering anyway');
    return out;
  } finally {
    reader.close();
  }
}

async function collectOnce(
  config: Readonly<Config>,
  log: Logger,
  io: CliIo,
  http: HttpClient,
  dryRun: boolean,
): Promise<number> {
  const items: CycleItem[] = [];
  const collector = createCollector({
    source: createSource(config, log, http, io.counter ?? {}, io.env as NodeJS.ProcessEnv),
    log,
    agentVersion: AGENT_VERSION,
    intervalSeconds: config.intervalSeconds,
    ...(config.nodeName !== undefined ? { nodeName: config.nodeName } : {}),
    readCpuTimes: () => readCpuTimes(config.procRoot),
    hostname: shortHostname,
    emit: (batch) => {
      for (const i of batch) {
        if (dryRun) io.stdout(JSON.stringify({ endpoint: i.endpoint, body: i.body }) + '\n');
        else items.push(i);
      }
    },
  });
  const summary = await collector.runCycle();
  await createStateStore(config.stateDir)
    .writeLastCycle(summary)
    .catch(() => undefined);
  if (dryRun) return 0;
  const sender = createSender({
    http,
    state: createStateStore(config.stateDir),
    log,
    tls: config.apiTls,
    timeoutMs: config.requestTimeoutMs,
    ...(config.apiUrl !== undefined ? { apiUrl: config.apiUrl } : {}),
  });
  let failed = 0;
  for (const i of items) {
    let outcome = 'retry';
    // A one-shot run retries briefly; the daemon's spool is for long outages.
    for (let attempt = 0; attempt < 3 && outcome === 'retry'; attempt++) {
      if (attempt > 0)
        await new Promise((r) => setTimeout(r, backoffDelay(attempt, config.retryBaseMs, config.retryMaxMs)));
      try {
        outcome = await sender.send(i);
      } catch (e) {
        log.error(errorText(e));
        return 1;
      }
    }
    if (outcome !== 'delivered') failed++;
  }
  log.info(`sent ${items.length - failed} of ${items.length} report(s)`);
  return failed > 0 || summary.errors.length > 0 ? 1 : 0;
}

async function status(config: Readonly<Config>, io: CliIo, http: HttpClient): Promise<number> {
  const state = createStateStore(config.stateDir);
  const lines: string[] = [];
  const creds = await state.readCredentials().catch(() => undefined);
  const apiUrl = config.apiUrl ?? creds?.api_url;
  const last = await state.readLastCycle().catch(() => undefined);
  lines.push(`node:          ${config.nodeName ?? last?.node ?? shortHostname()} (host ${hostname()})`);
  lines.push(
    `agent:         ${creds ? `${creds.agent_id}, registered ${creds.registered_at}, token expires ${creds.expires_at}` : 'not registered'}`,
  );
  lines.push(`api:           ${apiUrl ?? '(no NANNYAPI_URL)'}`);
  let reachable = false;
  if (apiUrl) {
    try {
      const res = await http({
        method: 'GET',
        url: apiUrl + '/healthz',
        timeoutMs: Math.min(config.requestTimeoutMs, 5000),
        tls: config.apiTls,
      });
      reachable = true;
      lines.push(`reachable:     yes (GET /healthz → HTTP ${res.status})`);
    } catch (e) {
      lines.push(`reachable:     no (${errorText(e)})`);
    }
  }
  const log = createLogger('error', io.stderr);
  const spool = createSpool({ dir: state.spoolDir, maxItems: config.spoolMaxItems, log });
  try {
    await spool.open();
    lines.push(`spool:         ${spool.depth()} undelivered report(s) in ${state.spoolDir}`);
  } catch (e) {
    lines.push(`spool:         unreadable (${errorText(e)})`);
  }
  const delivery = await state.readDelivery().catch(() => undefined);
  if (delivery?.auth_rejected) {
    lines.push(`delivery:      REFUSED since ${delivery.since} (HTTP 401: revoked or expired tokens)`);
    if (delivery.detail) lines.push(`               ${delivery.detail}`);
  } else if (delivery) lines.push(`delivery:      ok since ${delivery.since}`);
  if (last) {
    lines.push(
      `last cycle:    ${last.finished_at} via ${last.source}, ${last.duration_ms} ms, ${last.reports} report(s), ${last.errors.length} error(s)` +
        (last.proxmox ? '' : ', Proxmox VE not detected'),
    );
    for (const e of last.errors.slice(0, 5)) lines.push(`               ${e}`);
  } else lines.push('last cycle:    none yet');
  io.stdout(lines.join('\n') + '\n');
  return creds && reachable && !delivery?.auth_rejected ? 0 : 1;
}

/** Runs one command; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv);
  const known = args.command === undefined || args.command === 'help' || args.command in COMMANDS;
  if (!known) {
    io.stderr(`nannyagent: unknown command "${args.command}" (try --help)\n`);
    return 2;
  }
  if (args.errors.length > 0) {
    io.stderr(`${args.errors.map((e) => `nannyagent: ${e}`).join('\n')}\n(see nannyagent --help)\n`);
    return 2;
  }
  if (args.switches.has('help') || args.command === 'help') {
    io.stdout(args.command !== undefined && args.command in COMMANDS ? commandHelp(args.command) : HELP);
    return 0;
  }
  if (args.switches.has('version')) {
    io.stdout(`nannyagent ${AGENT_VERSION}\n`);
    return 0;
  }
  if (args.command === undefined) {
    io.stdout(HELP);
    return 2;
  }
  let config: Readonly<Config>;
  try {
    config = loadConfig({
      env: io.env,
      flags: args.flags,
      onWarning: (w) => io.stderr(`nannyagent: warning: ${w}\n`),
    });
  } catch (e) {
    return configErrors(io, e);
  }
  const log = createLogger(config.logLevel, io.stderr);
  const http = io.http ?? httpRequest;
  switch (args.command) {
    case 'register':
      return register(config, log, io, http);
    case 'status':
      return status(config, io, http);
    case 'collect':
      if (!args.switches.has('once')) {
        io.stderr('nannyagent: collect needs --once (the daemon is `nannyagent run`)\n');
        return 2;
      }
      return collectOnce(config, log, io, http, args.switches.has('dry-run'));
    case 'run': {
      const agent = createAgent({
        config,
        log,
        http,
        env: io.env as NodeJS.ProcessEnv,
        ...(io.counter ?? {}),
      });
      try {
        await agent.state.check();
      } catch (e) {
        // An unsafe state directory is an operator's fix, not a crash: say what and how.
        if (e instanceof AgentError && e.code === 'AGENT_STATE') {
          io.stderr(`nannyagent: ${e.message}\n`);
          return 1;
        }
        throw e;
      }
      if (!(await agent.state.readCredentials())) {
        if (config.enrollToken && config.apiUrl) {
          if (!(await registerWith(config, log, http, io.env as NodeJS.ProcessEnv))) return 1;
        } else {
          io.stderr(
            'nannyagent: not registered: run `nannyagent register --url URL --enroll-token TOKEN` first (or set NANNYAPI_URL and NANNYAPI_ENROLL_TOKEN)\n',
          );
          return 2;
        }
      }
      log.info(
        `nannyagent ${AGENT_VERSION} starting: source ${config.source}, interval ${config.intervalSeconds} s, state ${config.stateDir}`,
      );
      io.onSignal?.(() => {
        log.info('stopping');
        agent.stop();
      });
      await agent.run();
      return 0;
    }
  }
  return 2;
}
