/** The read API as the page uses it: JSON with the session cookie, the error envelope as ApiError. */
import type { ClusterMembership, ClusterView, GuestView, NodeSample, NodeView } from '@nanny/schema';

export type { ClusterMembership, ClusterView, GuestView, NodeSample, NodeView };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Page<T> {
  data: T[];
  total: number;
  limit: number;
  offset: number;
}

export type Json = Record<string, unknown>;

/** GET /api/guests?usage=1: the guest with the usage figures of its last report */
export interface GuestRow extends GuestView {
  cpu_usage_ratio?: number | null;
  mem_used_bytes?: number | null;
  disk_used_bytes?: number | null;
  disk_total_bytes?: number | null;
}

export interface NodeDetail extends NodeView {
  history: { from: string; to: string; samples: (NodeSample & Json)[] };
  /** the node's last report as received (every field the agent sends) */
  report?: Json;
}

export interface GuestDetail extends GuestRow {
  config_versions: { ts: string; config_hash: string; diff: ConfigDiff | null }[];
  status_changes: { ts: string; from_status: string | null; to_status: string }[];
  config: Json;
  networks: Json[];
  disks: Json[];
  report: Json;
}
export interface ConfigDiff {
  added?: Json;
  removed?: Json;
  changed?: Record<string, [unknown, unknown]>;
}

export interface FleetEvent {
  id: number;
  cluster_id: string | null;
  node_id: string | null;
  guest_id: string | null;
  subject: 'cluster' | 'node' | 'guest';
  type: string;
  message: string;
  occurred_at: string;
}

export interface Alert {
  id: string;
  rule: string;
  severity: 'info' | 'warning' | 'critical';
  state: 'firing' | 'resolved';
  summary: string;
  cluster_id: string;
  cluster_name: string | null;
  node: string | null;
  vmid: number | null;
  started_at: string;
  resolved_at: string | null;
  resolve_summary: string | null;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  silenced: boolean;
}
export interface Silence {
  id: string;
  cluster_id: string | null;
  node: string | null;
  rule: string | null;
  starts_at: string;
  ends_at: string;
  comment: string | null;
  created_by: string | null;
}
export interface User {
  id: string;
  username: string;
  role: string;
}

export interface Init {
  method?: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  body?: unknown;
}

/** GETs started before they are asked for (the first page's data, while the session is checked) */
const prefetched = new Map<string, { at: number; p: Promise<unknown> }>();
/** a prefetched answer not taken within this long is stale: it is asked for again */
const PREFETCH_FRESH_MS = 10_000;

/**
 * Starts a GET now; the next `api(path)` takes its answer instead of asking again. The first page
 * thereby loads while `/api/auth/me` is still on its way, not after it.
 */
export function prefetch(path: string): void {
  const p = send(path, {});
  // a refused prefetch (no session yet) is the login's business, not an unhandled rejection
  p.catch(() => undefined);
  prefetched.set(path, { at: Date.now(), p });
}

/** forgets prefetched answers (logged out: they belonged to the old session) */
export function dropPrefetched(): void {
  prefetched.clear();
}

export function api<T>(path: string, options: Init = {}): Promise<T> {
  const early = options.method === undefined || options.method === 'GET' ? prefetched.get(path) : undefined;
  if (early) {
    prefetched.delete(path);
    if (Date.now() - early.at < PREFETCH_FRESH_MS) return early.p as Promise<T>;
  }
  return send<T>(path, options);
}

async function send<T>(path: string, options: Init): Promise<T> {
  const init: RequestInit = {
    method: options.method ?? 'GET',
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
  };
  if (options.body !== undefined) {
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
    init.body = JSON.stringify(options.body);
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'The API cannot be reached');
  }
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const d = (body as { error_description?: unknown } | null)?.error_description;
    throw new ApiError(res.status, typeof d === 'string' ? d : `HTTP ${res.status}`);
  }
  return body as T;
}

/** A route another release may not have yet (storage, backups, guest history): null on 404. */
export async function optional<T>(path: string): Promise<T | null> {
  try {
    return await api<T>(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== '' && v !== null && v !== undefined && v !== false) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Every page of a paged list, fetched in parallel after the first told the total. */
export async function allPages<T>(path: string, params: Record<string, string | number>, per = 1000) {
  const first = await api<Page<T>>(`${path}${qs({ ...params, limit: per, offset: 0 })}`);
  const rest = [];
  for (let off = per; off < first.total; off += per)
    rest.push(api<Page<T>>(`${path}${qs({ ...params, limit: per, offset: off })}`));
  const pages = await Promise.all(rest);
  return first.data.concat(...pages.map((p) => p.data));
}
