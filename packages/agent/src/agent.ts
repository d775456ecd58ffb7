/**
 * The daemon: a collection cycle every PROXMOX_INTERVAL seconds (the first at once), payloads into
 * the spool, and the delivery loop draining the spool independently — sending never blocks
 * collection. Between cycles (DESIGN.md §9, docs/detection.md) a watch checks membership and quorum
 * every NANNYAGENT_WATCH_INTERVAL seconds and sends the cluster and node reports at once when they
 * change, and a heartbeat sends a node report from /proc every NANNYAGENT_HEARTBEAT_INTERVAL
 * seconds. `createAgent` takes its dependencies; main.ts wires the real ones.
 */
import { hostname } from 'node:os';
import type { ClusterStatusEntry } from '@nanny/proxmox';
import type { Config } from './config.ts';
import { createCollector, type CycleSummary } from './collect.ts';
import { errorText } from './errors.ts';
import { createPooledClient, httpRequest, type HttpClient } from './http.ts';
import { createPmxcfsReader, type PmxcfsReader, type SpawnCounter } from './host.ts';
import type { Logger } from './log.ts';
import { createDelivery, createSender, type Delivery, type Sender } from './sender.ts';
import { createApiSource, createFilesSource, createPveshSource, type Source } from './sources/index.ts';
import { createAutoSource } from './sources/auto.ts';
import { createVersionDetector } from './sources/detect.ts';
import { createLightProcReader, readCpuTimes, readNetCounters } from './sources/local.ts';
import type { Detection } from './sources/types.ts';
import { createSpool, type Spool } from './spool.ts';
import { createStateStore, type StateStore } from './state.ts';
import { AGENT_VERSION } from './version.ts';
import {
  describeChange,
  filesProbe,
  filesWatchMaxWaitMs,
  membershipKey,
  PVESH_MIN_WATCH_SECONDS,
  sourceProbe,
  type MembershipProbe,
} from './watch.ts';

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
  /** the daemon's long-lived parts: one /etc/pve reader, detection cached across cycles */
  shared: { pmxcfs?: PmxcfsReader; detect?: () => Promise<Detection> } = {},
): Source {
  const local = {
    ...(env ? { env } : {}),
    ...shared,
    pveRoot: config.pveRoot,
    procRoot: config.procRoot,
    hostsFile: config.hostsFile,
    tasksRoot: config.tasksRoot,
    pveLibRoot: config.pveLibRoot,
    pkgUpdatesFile: config.pkgUpdatesFile,
    aptListsDir: config.aptListsDir,
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
  /** one watch check: true when membership changed and the reports went out */
  watchCheck(): Promise<boolean>;
  /** one heartbeat node report (0 before the first cycle or without Proxmox VE) */
  heartbeat(): Promise<number>;
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
  // Every process the daemon starts is logged (debug): the idle benchmark counts them.
  const counter: SpawnCounter = {
    onSpawn: (command, args) => {
      log.debug(`spawn: ${command} ${args.join(' ')}`);
      deps.onSpawn?.(command, args);
    },
  };
  const pmxcfs = createPmxcfsReader(counter);
  const detect = createVersionDetector({
    commandTimeoutMs: config.commandTimeoutMs,
    dpkgStatus: config.dpkgStatus,
    ...(deps.env ? { env: deps.env } : {}),
    ...counter,
  });
  const source = createSource(config, log, http, counter, deps.env, { pmxcfs, detect });
  const lightProc = createLightProcReader(config.procRoot);
  const collector = createCollector({
    source,
    log,
    agentVersion: AGENT_VERSION,
    intervalSeconds: config.intervalSeconds,
    // announced only when heartbeats really go out (the rhythm below): nannyapi's silence window
    // shrinks from 2.5 cycles (12.5 min) to 2.5 heartbeats (150 s)
    ...(config.heartbeatIntervalSeconds > 0 && source.local
      ? { heartbeatIntervalSeconds: config.heartbeatIntervalSeconds }
      : {}),
    ...(config.nodeName !== undefined ? { nodeName: config.nodeName } : {}),
    readCpuTimes: () => readCpuTimes(config.procRoot),
    readNetCounters: () => {
      const warnings: string[] = [];
      const r = readNetCounters(config.procRoot, warnings);
      for (const w of warnings) log.debug(w);
      return r;
    },
    readProcLight: () => {
      const warnings: string[] = [];
      const r = lightProc(warnings);
      for (const w of warnings) log.debug(w);
      return r;
    },
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

  // Cycles, watch checks and heartbeats never overlap: an out-of-cycle node report between a
  // cycle's node report and its guest reports would split that cycle for the API. A cycle waits
  // for a running check (bounded by the pmxcfs deadline); checks and heartbeats skip while a
  // cycle runs (the cycle reports membership itself).
  let lock: Promise<void> | undefined;
  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    while (lock) await lock;
    let release!: () => void;
    lock = new Promise<void>((r) => (release = r));
    try {
      return await fn();
    } finally {
      lock = undefined;
      release();
    }
  };

  let view: ReturnType<typeof collector.known>['clusterStatus'];
  let viewKey: string | undefined; // membershipKey(view), computed once per view
  let filesWatch: MembershipProbe | undefined;
  let otherWatch: MembershipProbe | undefined;
  const watchEveryMs = config.watchIntervalSeconds * 1000;
  const probe = (): MembershipProbe =>
    source.name === 'files'
      ? (filesWatch ??= filesProbe({
          reader: pmxcfs,
          pveRoot: config.pveRoot,
          timeoutMs: config.pmxcfsTimeoutMs,
          previous: () => view,
          wait: { everyMs: watchEveryMs, maxWaitMs: filesWatchMaxWaitMs(watchEveryMs) },
        }))
      : (otherWatch ??= sourceProbe(source));
  let failing = 0;
  const watchReady = () => collector.known().nodeName !== undefined && collector.known().proxmox !== false;

  const watchCheck = async (): Promise<boolean> => {
    if (!watchReady()) return false;
    return applyView(await probe().check());
  };

  /** a view the watch got: a change report when it differs from the one known */
  const applyView = async (status: ClusterStatusEntry[]): Promise<boolean> => {
    // the probe hands back the current view itself when nothing was read that differs from it
    if (status === view) return false;
    const before = view;
    const key = membershipKey(status);
    view = status;
    collector.noteClusterStatus(status);
    // No view before: the cycles could not read membership (pmxcfs hung since start); the first one
    // the watch gets is news too.
    if (before !== undefined && (viewKey ??= membershipKey(before)) === key) return false;
    viewKey = key;
    log.info(`membership changed (${describeChange(before, status)}): sending cluster and node reports`);
    let nodeStatus;
    if (!source.local) {
      // api source: the node's own status is one more GET (no /proc of that node here)
      const r = source.open();
      try {
        nodeStatus = (await r.nodeStatus(collector.known().nodeName!)).status;
      } catch (e) {
        log.warn(`node status for the change report: ${errorText(e)}`);
      } finally {
        r.close();
      }
    }
    await collector.outOfCycle('change', { clusterStatus: status, ...(nodeStatus ? { nodeStatus } : {}) });
    return true;
  };

  const cycle = async (): Promise<CycleSummary> => {
    const s = await collector.runCycle();
    const learned = collector.known().clusterStatus;
    if (learned && learned !== view) {
      view = learned;
      viewKey = undefined;
    }
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
    watchCheck,
    heartbeat: () => collector.outOfCycle('heartbeat'),
    async run() {
      await spool.open();
      const deliveryDone = delivery.run();
      const intervalMs = config.intervalSeconds * 1000;
      const timers = new Set<NodeJS.Timeout>();
      /** a rhythm between cycles: `fn` runs unless a cycle holds the lock, then waits `next()` ms */
      const rhythm = (next: () => number, fn: () => Promise<unknown>): void => {
        const t = setTimeout(() => {
          timers.delete(t);
          if (stopped) return;
          const run = lock
            ? Promise.resolve()
            : exclusive(fn).catch((e: unknown) => log.error(`between cycles: ${errorText(e)}`));
          void run.then(() => {
            if (!stopped) rhythm(next, fn);
          });
        }, next());
        timers.add(t);
      };
      const base = watchEveryMs;
      // pvesh: a Perl start-up per check; a hung pmxcfs: one abandoned helper per check, so back
      // off (to 60 s) while checks keep failing.
      const watchPause = () => {
        const ms = source.name === 'pvesh' ? Math.max(base, PVESH_MIN_WATCH_SECONDS * 1000) : base;
        return failing === 0 ? ms : Math.max(ms, Math.min(60_000, ms * 2 ** failing));
      };
      const checked = (e?: unknown) => {
        if (e === undefined) {
          if (failing > 0) log.info('watch: membership check works again');
          failing = 0;
          return;
        }
        if (failing === 0) log.warn(`watch: membership check failed: ${errorText(e)}`);
        else log.debug(`watch: membership check failed again: ${errorText(e)}`);
        failing++;
      };
      if (base > 0 && source.name === 'files') {
        // The helper waits for .members to change (watch.ts): the wait runs outside the lock, so
        // cycles and heartbeats go on meanwhile; only a view that arrived is applied under it.
        const pause = (ms: number) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              timers.delete(t);
              resolve();
            }, ms);
            timers.add(t);
          });
        void (async () => {
          while (!stopped) {
            if (!watchReady()) {
              await pause(base);
              continue;
            }
            let status: ClusterStatusEntry[];
            try {
              status = await probe().check();
            } catch (e) {
              if (stopped) return;
              checked(e);
              await pause(watchPause());
              continue;
            }
            if (stopped) return;
            await exclusive(() => applyView(status)).then(
              () => checked(),
              (e: unknown) => log.error(`between cycles: ${errorText(e)}`),
            );
          }
        })();
      } else if (base > 0) {
        rhythm(watchPause, async () => {
          try {
            await watchCheck();
            checked();
          } catch (e) {
            checked(e);
          }
        });
      }
      if (config.heartbeatIntervalSeconds > 0 && source.local) {
        rhythm(
          () => config.heartbeatIntervalSeconds * 1000,
          () => collector.outOfCycle('heartbeat'),
        );
      }
      while (!stopped) {
        const started = Date.now();
        try {
          await exclusive(cycle);
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
      for (const t of timers) clearTimeout(t);
      while (lock) await lock;
      for (const t of timers) clearTimeout(t);
      pmxcfs.close();
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
