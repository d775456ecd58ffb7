/**
 * Delivery to nannyapi. One item = one POST of a spec payload with the Bearer access token.
 *
 * - 2xx → delivered.
 * - 401 → refresh with the refresh token (POST /api/agent/refresh, rotating) and resend once; a
 *   second 401 is retried later like an outage, so nothing is lost while an operator re-registers.
 * - 5xx, 429, network errors, timeouts → retry with exponential backoff and full jitter, capped,
 *   per item (the item keeps its place: order matters for the API's state history).
 * - other 4xx → the API rejected this body: log its `error_description`, drop the item.
 * - an item whose endpoint is not one of the four ingest paths is dropped unsent: the spool is a
 *   file, and what is in it must not choose where the access token goes (`/../admin`, `http://…`).
 */
import {
  INGEST_PATH_PREFIX,
  OPS_KINDS,
  PAYLOAD_KINDS,
  REFRESH_PATH,
  type TokenResponse,
} from '@nanny/schema';
import type { TlsOptions } from './config.ts';
import { AgentError, errorText } from './errors.ts';
import type { HttpClient, HttpResponse } from './http.ts';
import type { Logger } from './log.ts';
import type { Credentials, StateStore } from './state.ts';
import type { Spool, SpoolItem } from './spool.ts';

export type SendOutcome = 'delivered' | 'dropped' | 'retry';

export interface SenderDeps {
  http: HttpClient;
  state: StateStore;
  log: Logger;
  tls: TlsOptions;
  timeoutMs: number;
  /** NANNYAPI_URL; overrides the URL stored at registration */
  apiUrl?: string;
  now?: () => number;
}

export interface Sender {
  send(item: Pick<SpoolItem, 'endpoint' | 'body'>): Promise<SendOutcome>;
  credentials(): Promise<Credentials>;
}

/** The only endpoints a spooled item may name. */
export const INGEST_ENDPOINTS: ReadonlySet<string> = new Set(
  [...PAYLOAD_KINDS, ...OPS_KINDS].map((k) => INGEST_PATH_PREFIX + k),
);

function describe(res: HttpResponse): string {
  try {
    const b = JSON.parse(res.text) as { error?: string; error_description?: string };
    if (b.error_description) return `${b.error ?? res.status}: ${b.error_description}`;
  } catch {
    /* not JSON */
  }
  return `HTTP ${res.status} ${res.text.slice(0, 200)}`;
}

export function tokensToCredentials(
  apiUrl: string,
  t: TokenResponse,
  now: number,
  registeredAt?: string,
): Credentials {
  return {
    api_url: apiUrl,
    agent_id: t.agent_id,
    access_token: t.access_token,
    refresh_token: t.refresh_token,
    expires_at: new Date(now + t.expires_in * 1000).toISOString(),
    registered_at: registeredAt ?? new Date(now).toISOString(),
  };
}

function parseTokens(res: HttpResponse): TokenResponse | undefined {
  try {
    const b = JSON.parse(res.text) as Partial<TokenResponse>;
    if (b.access_token && b.refresh_token && b.agent_id && typeof b.expires_in === 'number')
      return b as TokenResponse;
  } catch {
    /* fall through */
  }
  return undefined;
}

export function createSender(deps: SenderDeps): Sender {
  const now = deps.now ?? Date.now;
  let creds: Credentials | undefined;
  let refreshing: Promise<boolean> | undefined;
  // Whether the API currently refuses our tokens (revoked agent, expired refresh token). Persisted
  // only when it changes, so `nannyagent status` can say why nothing arrives.
  let authRejected: boolean | undefined;
  const setAuthRejected = async (rejected: boolean, detail?: string): Promise<void> => {
    if (authRejected === rejected) return;
    authRejected = rejected;
    await deps.state
      .writeDelivery({
        auth_rejected: rejected,
        since: new Date(now()).toISOString(),
        ...(detail !== undefined ? { detail } : {}),
      })
      .catch((e: unknown) => deps.log.warn(`cannot write delivery.json: ${errorText(e)}`));
  };

  const credentials = async (): Promise<Credentials> => {
    creds ??= await deps.state.readCredentials();
    if (!creds) {
      throw new AgentError(
        'AGENT_NOT_REGISTERED',
        'not registered: run `nannyagent register --url URL --enroll-token TOKEN`',
      );
    }
    return creds;
  };
  const baseUrl = async (): Promise<string> => deps.apiUrl ?? (await credentials()).api_url;

  const refresh = (): Promise<boolean> => {
    refreshing ??= (async () => {
      const c = await credentials();
      try {
        const res = await deps.http({
          method: 'POST',
          url: (await baseUrl()) + REFRESH_PATH,
          body: JSON.stringify({ refresh_token: c.refresh_token }),
          timeoutMs: deps.timeoutMs,
          tls: deps.tls,
        });
        const t = res.status >= 200 && res.status < 300 ? parseTokens(res) : undefined;
        if (!t) {
          if (res.status === 401 || res.status === 403) {
            const detail = `the API refused this agent's refresh token (${describe(res)}): the agent was revoked or its tokens expired; reports stay spooled until it registers again with \`nannyagent register --url URL --enroll-token TOKEN\``;
            if (authRejected !== true) deps.log.error(detail);
            await setAuthRejected(true, detail);
          } else deps.log.error(`token refresh failed: ${describe(res)}`);
          return false;
        }
        creds = tokensToCredentials(c.api_url, t, now(), c.registered_at);
        await deps.state.writeCredentials(creds);
        deps.log.info('access token refreshed');
        return true;
      } catch (e) {
        deps.log.warn(`token refresh failed: ${errorText(e)}`);
        return false;
      }
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  const post = async (item: Pick<SpoolItem, 'endpoint' | 'body'>): Promise<HttpResponse> => {
    const c = await credentials();
    return deps.http({
      method: 'POST',
      url: (await baseUrl()) + item.endpoint,
      headers: { authorization: `Bearer ${c.access_token}` },
      body: JSON.stringify(item.body),
      timeoutMs: deps.timeoutMs,
      tls: deps.tls,
    });
  };

  return {
    credentials,
    async send(item) {
      if (typeof item.endpoint !== 'string' || !INGEST_ENDPOINTS.has(item.endpoint)) {
        deps.log.error(
          `dropping a spooled item with endpoint ${JSON.stringify(String(item.endpoint)).slice(0, 200)}: not an ingest path`,
        );
        return 'dropped';
      }
      let res: HttpResponse;
      try {
        res = await post(item);
        if (res.status === 401) {
          if (!(await refresh())) return 'retry';
          res = await post(item);
        }
      } catch (e) {
        if (e instanceof AgentError && e.code === 'AGENT_NOT_REGISTERED') throw e;
        deps.log.warn(`POST ${item.endpoint}: ${errorText(e)}`);
        return 'retry';
      }
      if (res.status >= 200 && res.status < 300) {
        if (authRejected !== false) await setAuthRejected(false);
        return 'delivered';
      }
      if (res.status === 401 || res.status === 429 || res.status >= 500) {
        deps.log.warn(`POST ${item.endpoint}: ${describe(res)} (will retry)`);
        return 'retry';
      }
      deps.log.error(`POST ${item.endpoint} rejected, dropping this report: ${describe(res)}`);
      return 'dropped';
    },
  };
}

/** Full jitter: a uniform wait in [0, min(cap, base·2^attempt)] (AWS architecture blog's variant). */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

export interface Delivery {
  /** the loop; resolves when `stop()` was called */
  run(): Promise<void>;
  wake(): void;
  stop(): void;
  /** resolves when the spool is empty (or the loop stopped) */
  idle(): Promise<void>;
}

/** The delivery loop: drains the spool in order, never blocking the collector. */
export function createDelivery(deps: {
  spool: Spool;
  sender: Sender;
  log: Logger;
  retryBaseMs: number;
  retryMaxMs: number;
  random?: () => number;
}): Delivery {
  let stopped = false;
  let interrupt: (() => void) | undefined;
  let wakeable = false;
  let idleWaiters: Array<() => void> = [];
  const sleep = (ms: number, byPush: boolean): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        interrupt = undefined;
        resolve();
      }
      interrupt = done;
      wakeable = byPush;
    });
  const notifyIdle = (): void => {
    const w = idleWaiters;
    idleWaiters = [];
    for (const f of w) f();
  };
  return {
    async run() {
      let attempt = 0;
      let lastItem: SpoolItem | undefined;
      while (!stopped) {
        const item = await deps.spool.peek();
        if (!item) {
          notifyIdle();
          await sleep(60_000, true);
          continue;
        }
        if (item !== lastItem) attempt = 0;
        lastItem = item;
        let outcome: SendOutcome;
        try {
          outcome = await deps.sender.send(item);
        } catch (e) {
          deps.log.error(errorText(e));
          outcome = 'retry';
        }
        if (outcome === 'retry') {
          const wait = backoffDelay(attempt++, deps.retryBaseMs, deps.retryMaxMs, deps.random);
          deps.log.debug(
            `retrying ${item.endpoint} in ${wait} ms (attempt ${attempt}, ${deps.spool.depth()} spooled)`,
          );
          // Not woken by new items: the API is unwell, new items just queue behind this one.
          await sleep(wait, false);
          continue;
        }
        await deps.spool.ack(item);
      }
      notifyIdle();
    },
    wake() {
      if (wakeable) interrupt?.();
    },
    stop() {
      stopped = true;
      interrupt?.();
    },
    idle() {
      if (stopped || deps.spool.depth() === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
