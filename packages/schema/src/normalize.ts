/**
 * Maps what the upstream Go agent sends onto the canonical field names, in one place.
 *
 * Upstream names seen on the wire: `name` for the cluster name and `px_cluster_id` for the cluster
 * id (cluster payload), `nodeid` and `pveversion` (node payload), `cpu` for the core count (guest
 * payloads). A canonical field that is present always wins over its alias. The input is not mutated.
 */
import type { PayloadKind } from './payloads.ts';

type Json = Record<string, unknown>;

/** alias → canonical, per payload kind. */
export const UPSTREAM_ALIASES: Readonly<Record<PayloadKind, Readonly<Record<string, string>>>> = {
  cluster: { name: 'cluster_name', px_cluster_id: 'cluster_id' },
  node: { nodeid: 'node_id', pveversion: 'pve_version' },
  lxc: { cpu: 'cpu_cores' },
  qemu: { cpu: 'cpu_cores' },
  storage: {},
};

export interface NormalizeResult {
  body: unknown;
  /** aliases that were mapped, e.g. ["nodeid→node_id"] */
  mapped: string[];
}

export function normalizePayload(kind: PayloadKind, body: unknown): NormalizeResult {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { body, mapped: [] };
  const aliases = UPSTREAM_ALIASES[kind];
  const src = body as Json;
  let out: Json | undefined;
  const mapped: string[] = [];
  for (const [alias, canonical] of Object.entries(aliases)) {
    if (!(alias in src)) continue;
    const value = src[alias];
    // Upstream's guest `cpu` is a core count; a fractional `cpu` is a usage ratio from
    // /cluster/resources and must not become a core count.
    if (alias === 'cpu' && !(typeof value === 'number' && Number.isInteger(value))) continue;
    out ??= { ...src };
    if (out[canonical] === undefined) {
      out[canonical] = value;
      mapped.push(`${alias}→${canonical}`);
    }
    delete out[alias];
  }
  return { body: out ?? src, mapped };
}
