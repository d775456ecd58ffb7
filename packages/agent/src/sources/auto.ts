/**
 * `auto`: the `files` source when /etc/pve can be read, else `pvesh` — decided per cycle (pmxcfs may
 * be mounted later), without touching /etc/pve from this process: the files reader's own helper
 * reads `.members`; if that read fails (not mounted, not readable) the cycle uses pvesh instead. A
 * TIMEOUT keeps `files`: pvesh would hang on the same pmxcfs, and the node report still goes out.
 */
import { AgentError, errorText } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { CycleReader, Source } from './types.ts';

export function createAutoSource(files: Source, pvesh: Source, log: Logger): Source {
  let last: string | undefined;
  const source: Source & { name: 'files' | 'pvesh' } = {
    name: 'files',
    local: true,
    open(): CycleReader {
      const f = files.open();
      let chosen: Promise<CycleReader> | undefined;
      const pick = (): Promise<CycleReader> =>
        (chosen ??= f.localNode().then(
          () => f,
          (e: unknown) => {
            if (e instanceof AgentError && e.code === 'AGENT_TIMEOUT') return f;
            f.close();
            if (last !== 'pvesh') log.info(`/etc/pve not readable (${errorText(e)}): using pvesh`);
            return pvesh.open();
          },
        )).then((r) => {
          const name = r === f ? 'files' : 'pvesh';
          source.name = name;
          last = name;
          return r;
        });
      return {
        get: async (p, params) => (await pick()).get(p, params),
        detect: async () => (await pick()).detect(),
        localNode: async () => (await pick()).localNode(),
        clusterCa: async () => (await pick()).clusterCa(),
        guestConfig: async (n, k, v) => (await pick()).guestConfig(n, k, v),
        nodeStatus: async (n) => (await pick()).nodeStatus(n),
        clusterStatus: async () => (await pick()).clusterStatus(),
        guests: async () => (await pick()).guests(),
        backups: async (n, g) => (await pick()).backups(n, g),
        ha: async (n) => (await pick()).ha(n),
        replication: async (n, g) => (await pick()).replication(n, g),
        storages: async (n) => (await pick()).storages(n),
        health: async (n) => (await pick()).health(n),
        close: () => {
          if (chosen) void chosen.then((r) => r.close());
          else f.close();
        },
      };
    },
  };
  return source;
}
