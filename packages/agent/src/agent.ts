/**
 * The daemon: a collection cycle every PROXMOX_INTERVAL seconds (the first at once), payloads into
 * the spool, and the delivery loop draining the spool independently — sending never blocks
 * collection. `createAgent` takes its dependencies; main.ts wires the real ones.
 */
import { hostname } from 'node:os';
import type { Config } from './config.ts';
import { createCollector, type CycleSummary } from './collect.ts';
import { errorText } from './errors.ts';
import { createPooledClient, httpRequest, type HttpClient } from './http.ts';
import type { SpawnCounter } from './host.ts';
import type { Logger } from './log.ts';
import { createDelivery, createSender, type Delivery, type Sender } from './sender.ts';
import { createApiSource, createFilesSource, createPveshSource, type Source } from './sources/index.ts';
import { createAutoSource } from './sources/auto.ts';
import { readCpuTimes } from './sources/local.ts';
import { createSpool, type Spool } from './spool.ts';
import { createStateStore, type StateStore } from './state.ts';
import { AGENT_VERSION } from './version.ts';

export interface AgentDeps extends SpawnCounter {
  config: Readonly<Config>;
  log: Logger;
  http?: HttpClient;
  now?: () => Date;
  random?: () => number;
  /** environment of spawned tools (PATH) */
  env?: NodeJS.ProcessEnv;
}

export function shortHostname(): string {
  return hostname().split('.')[0] ?? 'localhost';
}

export function createSource(
  config: Readonly<Config>,
  log: Logger,
  http: HttpClient,
  counter: SpawnCounter = {},
  env?: NodeJS.ProcessEnv,
): Source {
  const local = {
    ...(env ? { env } : {}),
    pveRoot: config.pveRoot,
    procRoot: config.procRoot,
    hostsFile: config.hostsFile,
    commandTimeoutMs: config.commandTimeoutMs,
    pmxcfsTimeoutMs: config.pmxcfsTimeoutMs,
    ...counter,
  };
  const files = () => createFilesSource({ ...local, warn: (m) => log.warn(m) });
  switch (config.source) {
    case 'files':
      return files();
    case 'pvesh':
      return createPveshSource(local);
    case 'api':
      return createApiSource({
        url: config.pveApiUrl!,
        token: config.pveApiToken!,
        tls: config.pveApiTls,
        ...(config.pveApiCa !== undefined ? { ca: config.pveApiCa } : {}),
        timeoutMs: config.requestTimeoutMs,
        http: createPooledClient,
      });
    case 'auto':
      return createAutoSource(files(), createPveshSource(local), log);
  }
}

export interface Agent {
  state: StateStore;
  spool: Spool;
  sender: Sender;
  delivery: Delivery;
  /** one cycle, payloads into the spool */
  cycle(): Promise<CycleSummary>;
  /** the daemon loop; resolves after stop() */
  run(): Promise<void>;
  stop(): void;
}

export function createAgent(deps: AgentDeps): Agent {
  const { config, log } = deps;
  const http = deps.http ?? httpRequest;
  const state = createStateStore(config.stateDir);
  const spool = createSpool({ dir: state.spoolDir, maxItems: config.spoolMaxItems, log });
  const sender = createSender({
    http,
    state,
    log,
    tls: config.apiTls,
    timeoutMs: config.requestTimeoutMs,
    ...(config.apiUrl !== undefined ? { apiUrl: config.apiUrl } : {}),
  });
  const delivery = createDelivery({
    spool,
    sender,
    log,
    retryBaseMs: config.retryBaseMs,
    retryMaxMs: config.retryMaxMs,
    ...(deps.random ? { random: deps.random } : {}),
  });
  const source = createSource(config, log, http, deps.onSpawn ? { onSpawn: deps.onSpawn } : {}, deps.env);
  const collector = createCollector({
    source,
    log,
    agentVersion: AGENT_VERSION,
    intervalSeconds: config.intervalSeconds,
    ...(config.nodeName !== undefined ? { nodeName: config.nodeName } : {}),
    readCpuTimes: () => readCpuTimes(config.procRoot),
    hostname: shortHostname,
    ...(deps.now ? { now: deps.now } : {}),
    emit: async (items) => {
      const queuedAt = new Date().toISOString();
      await spool.push(items.map((i) => ({ endpoint: i.endpoint, body: i.body, queued_at: queuedAt })));
      delivery.wake();
    },
  });

  let stopped = false;
  let wakeLoop: (() => void) | undefined;

  const cycle = async (): Promise<CycleSummary> => {
    const s = await collector.runCycle();
    await state
      .writeLastCycle(s)
      .catch((e: unknown) => log.warn(`cannot write last-cycle.json: ${errorText(e)}`));
    log.debug(
      `cycle done in ${s.duration_ms} ms: ${s.reports} report(s), ${s.errors.length} error(s), ${spool.depth()} spooled`,
    );
    return s;
  };

  return {
    state,
    spool,
    sender,
    delivery,
    cycle,
    async run() {
      await spool.open();
      const deliveryDone = delivery.run();
      const intervalMs = config.intervalSeconds * 1000;
      while (!stopped) {
        const started = Date.now();
        try {
          await cycle();
        } catch (e) {
          log.error(`cycle failed: ${errorText(e)}`);
        }
        const wait = Math.max(0, intervalMs - (Date.now() - started));
        if (stopped) break;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          wakeLoop = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wakeLoop = undefined;
      }
      delivery.stop();
      await deliveryDone;
    },
    stop() {
      stopped = true;
      wakeLoop?.();
      delivery.stop();
    },
  };
}
