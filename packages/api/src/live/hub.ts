/**
 * The live hub: server-sent event streams of the dashboard, one set per tenant. Ingest records are
 * coalesced per tenant for `coalesceMs` (5,000 guest reports in a second become one message), and a
 * stream whose socket is not draining is not written to: it misses messages and gets one `resync`
 * when it drains, so a slow browser never makes the server buffer without bound.
 */

/** One open stream, as the hub sees it (the route adapts a socket to this). */
export interface LiveClient {
  tenantId: string;
  /** the user (or token) the stream belongs to: at most `maxPerUser` streams each */
  userKey: string;
  /** writes a chunk; false when the socket's buffer is over its limit (the hub then skips it) */
  write(chunk: string): boolean;
  /** ends the stream (evicted, or the app closes) */
  end(): void;
}

/** What changed in one tenant during one coalescing window: the page refetches what it shows of it. */
export interface LiveChange {
  kinds: string[];
  clusters: string[];
  nodes: string[];
  guests: number;
  events: string[];
}

export interface LiveHubOptions {
  maxPerUser: number;
  coalesceMs: number;
  heartbeatMs: number;
}

export interface LiveHub {
  /** adds a stream; evicts the user's oldest stream beyond `maxPerUser`; returns the remover */
  add(client: LiveClient): () => void;
  /** notes a change of a tenant; sent after the coalescing window */
  note(
    tenantId: string,
    change: { kind: string; clusterId: string; nodeId?: string; events: string[] },
  ): void;
  /** streams a drained socket wrote again after it had missed messages */
  drained(client: LiveClient): void;
  count(): number;
  close(): void;
}

/** An SSE frame: `event:` and one `data:` line (JSON has no newline). */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function createLiveHub(opts: LiveHubOptions): LiveHub {
  const byTenant = new Map<string, Set<LiveClient>>();
  const missed = new WeakSet<LiveClient>();
  const pending = new Map<
    string,
    LiveChange & { sets: { k: Set<string>; c: Set<string>; n: Set<string>; e: Set<string> } }
  >();
  let flushTimer: NodeJS.Timeout | null = null;
  let beat: NodeJS.Timeout | null = null;

  const all = () => [...byTenant.values()].flatMap((s) => [...s]);
  const send = (c: LiveClient, chunk: string) => {
    if (missed.has(c)) return;
    if (!c.write(chunk)) missed.add(c);
  };
  const toTenant = (tenantId: string, chunk: string) => {
    for (const c of byTenant.get(tenantId) ?? []) send(c, chunk);
  };
  const flush = () => {
    flushTimer = null;
    for (const [tenantId, p] of pending) {
      const change: LiveChange = {
        kinds: [...p.sets.k],
        clusters: [...p.sets.c],
        nodes: [...p.sets.n],
        guests: p.guests,
        events: [...p.sets.e],
      };
      toTenant(tenantId, sseFrame('change', change));
    }
    pending.clear();
  };
  const heartbeat = () => {
    // A comment line: proxies and the browser see traffic; the page ignores it.
    for (const c of all()) send(c, ': ping\n\n');
  };

  return {
    add(client) {
      let set = byTenant.get(client.tenantId);
      if (!set) byTenant.set(client.tenantId, (set = new Set()));
      const mine = [...set].filter((c) => c.userKey === client.userKey);
      // A tab closed without a clean disconnect keeps its slot until TCP notices: the newest
      // stream wins, so opening the page always works.
      for (const old of mine.slice(0, Math.max(0, mine.length - opts.maxPerUser + 1))) {
        set.delete(old);
        old.end();
      }
      set.add(client);
      if (!beat) {
        beat = setInterval(heartbeat, opts.heartbeatMs);
        beat.unref();
      }
      return () => {
        const s = byTenant.get(client.tenantId);
        s?.delete(client);
        if (s && s.size === 0) byTenant.delete(client.tenantId);
        if (byTenant.size === 0 && beat) {
          clearInterval(beat);
          beat = null;
        }
      };
    },
    note(tenantId, ch) {
      if (!byTenant.has(tenantId)) return;
      let p = pending.get(tenantId);
      if (!p) {
        p = {
          kinds: [],
          clusters: [],
          nodes: [],
          guests: 0,
          events: [],
          sets: { k: new Set(), c: new Set(), n: new Set(), e: new Set() },
        };
        pending.set(tenantId, p);
      }
      p.sets.k.add(ch.kind);
      p.sets.c.add(ch.clusterId);
      if (ch.nodeId && ch.kind === 'node') p.sets.n.add(ch.nodeId);
      if (ch.kind === 'lxc' || ch.kind === 'qemu') p.guests++;
      for (const e of ch.events) p.sets.e.add(e);
      if (!flushTimer) {
        flushTimer = setTimeout(flush, opts.coalesceMs);
        flushTimer.unref();
      }
    },
    drained(client) {
      if (!missed.has(client)) return;
      missed.delete(client);
      send(client, sseFrame('resync', {}));
    },
    count: () => all().length,
    close() {
      if (flushTimer) clearTimeout(flushTimer);
      if (beat) clearInterval(beat);
      flushTimer = beat = null;
      for (const c of all()) c.end();
      byTenant.clear();
      pending.clear();
    },
  };
}
