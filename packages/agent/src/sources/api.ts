/**
 * The Proxmox VE HTTPS API with an API token (`Authorization: PVEAPIToken=USER@REALM!ID=SECRET`),
 * for polling a cluster from outside: no process at all, pveproxy's workers are already warm.
 * Answers carry a `{"data": …}` envelope. A read-only token needs the PVEAuditor role on `/`.
 *
 * The cluster identity (pve-root-ca.pem) is not served by any API path; when the configured CA file
 * is that certificate (the usual way to verify pveproxy) its fingerprint is the cluster's.
 */
import {
  cephAbsentError,
  newestInstalledKernel,
  normalizeApiConfig,
  summarizeUpdates,
  type NodeStatus,
} from '@nanny/proxmox';
import type { TlsOptions } from '../config.ts';
import { AgentError, errorText } from '../errors.ts';
import {
  cephOutcome,
  certificatesFromApi,
  installedFromAptVersions,
  kernelHealth,
  updatesHealth,
  type NodeHealth,
} from './ops.ts';
import type { HttpClient } from '../http.ts';
import { createPathOps } from './ops-path.ts';
import { asObject, cachedGet, pathReaderParts } from './path-reader.ts';
import type { CycleReader, Detection, Source } from './types.ts';

export interface ApiSourceOptions {
  url: string;
  token: string;
  tls: TlsOptions;
  /** PEM of the configured CA file */
  ca?: string;
  timeoutMs: number;
  /** per-cycle client (connections reused within a cycle, closed at its end) */
  http: () => HttpClient & { close(): void };
}

export function createApiSource(opts: ApiSourceOptions): Source {
  const base = opts.url.replace(/\/+$/, '').replace(/\/api2\/json$/, '') + '/api2/json';
  const ops = createPathOps();
  /** a status answer came once: this cluster has Ceph (kept across cycles) */
  let cephSeen = false;
  return {
    name: 'api',
    local: false,
    open(): CycleReader {
      const client = opts.http();
      const get = cachedGet(async (path, params) => {
        const qs = params
          ? '?' +
            new URLSearchParams(
              Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
            ).toString()
          : '';
        const url = base + path + qs;
        const res = await client({
          method: 'GET',
          url,
          headers: { authorization: `PVEAPIToken=${opts.token}`, accept: 'application/json' },
          timeoutMs: opts.timeoutMs,
          tls: opts.tls,
        });
        if (res.status !== 200) {
          // pveproxy puts the reason in the status line and, for parameter errors, in `errors`.
          throw new AgentError(
            'AGENT_SOURCE',
            `GET ${path}: HTTP ${res.status} ${res.statusText ?? ''} ${res.text.slice(0, 300).trim()}`,
          );
        }
        let body: unknown;
        try {
          body = JSON.parse(res.text);
        } catch (e) {
          throw new AgentError('AGENT_SOURCE', `GET ${path}: answer is not JSON`, { cause: e });
        }
        return asObject<{ data?: unknown }>(body, `GET ${path}`).data ?? null;
      });
      // A container's raw lxc.* lines: `…/config?current=1` (an HTTP request on the open
      // connection, no process; /pending leaves them out).
      const parts = pathReaderParts(get, async (node, vmid) => {
        const lxc = normalizeApiConfig('lxc', await get(`/nodes/${node}/lxc/${vmid}/config`, { current: 1 }))
          .data.lxc;
        return typeof lxc === 'string' ? lxc : undefined;
      });
      let detection: Promise<Detection> | undefined;
      return {
        ...parts,
        backups: (node) => ops.backups(get, node),
        ha: () => ops.ha(get),
        replication: (node) => ops.replication(get, node),
        detect: () =>
          (detection ??= (async (): Promise<Detection> => {
            const v = asObject<{ version?: string; repoid?: string }>(await get('/version'), 'GET /version');
            const d: Detection = { installed: true };
            if (v.version) d.pveVersion = `pve-manager/${v.version}${v.repoid ? `/${v.repoid}` : ''}`;
            return d;
          })()),
        localNode: async () => undefined,
        clusterCa: async () => opts.ca,
        async nodeStatus(node): Promise<{ status: NodeStatus; error?: string }> {
          return { status: await parts.nodeStatusFromApi(node) };
        },
        async health(node) {
          const warnings: string[] = [];
          const opt = async (path: string, what: string): Promise<unknown> => {
            try {
              return await get(path);
            } catch (e) {
              warnings.push(`${what}: ${errorText(e)}`);
              return undefined;
            }
          };
          const [status, versions, certs, updates, cephFirst] = await Promise.all([
            parts.nodeStatusFromApi(node).catch(() => undefined),
            opt(`/nodes/${node}/apt/versions`, 'installed kernels'),
            opt(`/nodes/${node}/certificates/info`, 'certificates'),
            // Needs Sys.Modify: a PVEAuditor token gets 403 (pve-manager APT.pm), then no update count.
            get(`/nodes/${node}/apt/update`).catch(() => undefined),
            // A cluster without Ceph answers 500 "binary not installed" / "not initialized": no Ceph;
            // any other failure is an installed Ceph in an unknown state (cephOutcome).
            get('/cluster/ceph/status').then(
              (answer) => ({ answer }),
              (error: unknown) => ({ error }),
            ),
          ]);
          const ceph = cephFirst;
          let cephPart: NodeHealth | undefined;
          const u = updates === undefined ? undefined : summarizeUpdates(updates).data;
          if ('answer' in ceph) cephSeen = true;
          else if (!cephSeen && !cephAbsentError(errorText(ceph.error))) {
            // The API source cannot look for /etc/pve/ceph.conf. Before calling a failure an
            // unreadable Ceph, ask whether Ceph is there at all: cfg/raw runs the same "installed,
            // initialised" checks without connecting to the monitors (pve-manager API2/Ceph/Cfg.pm);
            // only on this rare path. If that fails too for another reason, nothing says Ceph
            // exists: no field, a warning — not an alert about a Ceph the cluster may not have.
            const there = await get(`/nodes/${node}/ceph/cfg/raw`).then(
              () => true,
              (e: unknown) => (cephAbsentError(errorText(e)) ? false : undefined),
            );
            if (there !== true) {
              if (there === undefined) warnings.push(`ceph status: ${errorText(ceph.error)}`);
              cephPart = {};
            }
          }
          return {
            data: {
              ...kernelHealth(
                status?.['current-kernel']?.release,
                newestInstalledKernel(installedFromAptVersions(versions)),
              ),
              ...certificatesFromApi(certs),
              ...updatesHealth(u),
              ...(cephPart ?? cephOutcome(ceph, warnings)),
            },
            warnings,
          };
        },
        close() {
          client.close();
        },
      };
    },
  };
}
