/**
 * The part the `pvesh` and `api` sources share: both answer API paths, so guest configs come from
 * `GET /nodes/{node}/{kind}/{vmid}/pending` — one call gives the running values (`value`) and the
 * keys with a pending change (`pending`/`delete`), where `…/config` would return the *pending*
 * values unless called with `current=1` (schema parameter `current`, default 0).
 */
import {
  configFromPending,
  storagesFromApi,
  type ClusterResource,
  type ClusterStatusEntry,
  type NodeStatus,
  type PendingEntry,
} from '@nanny/proxmox';
import { AgentError } from '../errors.ts';
import type { CycleReader, Params } from './types.ts';

export type Fetch = (path: string, params: Params | undefined) => Promise<unknown>;

function key(path: string, params?: Params): string {
  if (!params) return path;
  return (
    path +
    '?' +
    Object.keys(params)
      .sort()
      .map((k) => `${k}=${String(params[k])}`)
      .join('&')
  );
}

/** Cache per cycle + fail fast after the first timeout. */
export function cachedGet(fetch: Fetch): (path: string, params?: Params) => Promise<unknown> {
  const cache = new Map<string, Promise<unknown>>();
  let stuck: AgentError | undefined;
  return (path, params) => {
    const k = key(path, params);
    let p = cache.get(k);
    if (!p) {
      if (stuck)
        p = Promise.reject(
          new AgentError('AGENT_TIMEOUT', `${path}: skipped, an earlier read timed out (${stuck.message})`),
        );
      else
        p = fetch(path, params).catch((e: unknown) => {
          if (e instanceof AgentError && e.code === 'AGENT_TIMEOUT') stuck ??= e;
          throw e;
        });
      cache.set(k, p);
    }
    return p;
  };
}

export function asArray<T>(v: unknown, what: string): T[] {
  if (!Array.isArray(v)) throw new AgentError('AGENT_SOURCE', `${what}: expected a JSON array`);
  return v as T[];
}

export function asObject<T>(v: unknown, what: string): T {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new AgentError('AGENT_SOURCE', `${what}: expected a JSON object`);
  return v as T;
}

/**
 * `rawLxc`: a container's raw `lxc.*` lines in their scalar form (lxcRawToString), which `/pending`
 * leaves out (a PVE 7.4 recording in pve-reference, go-proxmox pve7x lxc-101: five `lxc.*` entries
 * in `…/config`, none in `…/pending`). Each source gets them its cheapest way.
 */
export function pathReaderParts(
  get: (path: string, params?: Params) => Promise<unknown>,
  rawLxc?: (node: string, vmid: number) => Promise<string | undefined>,
): Pick<CycleReader, 'get' | 'clusterStatus' | 'guests' | 'guestConfig' | 'storages'> & {
  nodeStatusFromApi(node: string): Promise<NodeStatus>;
} {
  return {
    get,
    async clusterStatus() {
      return asArray<ClusterStatusEntry>(await get('/cluster/status'), '/cluster/status');
    },
    async guests() {
      const all = asArray<ClusterResource>(
        await get('/cluster/resources', { type: 'vm' }),
        '/cluster/resources',
      );
      return all.filter((r) => r && (r.type === 'lxc' || r.type === 'qemu'));
    },
    async storages(node) {
      const path = `/nodes/${node}/storage`;
      return storagesFromApi(asArray<Record<string, unknown>>(await get(path), path)).data;
    },
    async nodeStatusFromApi(node) {
      return asObject<NodeStatus>(await get(`/nodes/${node}/status`), `/nodes/${node}/status`);
    },
    async guestConfig(node, kind, vmid) {
      const path = `/nodes/${node}/${kind}/${vmid}/pending`;
      const entries = asArray<PendingEntry>(await get(path), path);
      const cfg = configFromPending(kind, entries);
      if (kind === 'lxc' && rawLxc) {
        const raw = await rawLxc(node, vmid);
        if (raw !== undefined && raw !== '') cfg.current.lxc = raw;
      }
      return cfg;
    },
  };
}
