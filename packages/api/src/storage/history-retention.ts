/**
 * Usage-history retention: deletes rows past each horizon, oldest first, `batchRows` a statement
 * (each walks a time index, never the table). Raw rows go only once their 5-minute buckets are
 * rolled, 5-minute rows only once their hour is: a stalled rollup never loses data.
 */
import type { HistoryHorizons, HistoryMaintenance } from './history-types.ts';
import { getMark, setMark, type Exec } from './history-exec.ts';

const DAY = 86400;

async function drain(
  exec: Exec,
  text: string,
  params: readonly unknown[],
  batchRows: number,
): Promise<number> {
  let total = 0;
  for (;;) {
    const { affected } = await exec(text, [...params, batchRows]);
    total += affected;
    if (affected < batchRows) return total;
  }
}

export async function pruneHistory(
  exec: Exec,
  nowS: number,
  h: HistoryHorizons,
  batchRows: number,
): Promise<HistoryMaintenance['deleted']> {
  // Hourly, like the rollups: an hour of a series' old rows leaves its page in one write.
  const last = await getMark(exec, 'history.pruned');
  if (last !== undefined && nowS - last < 3600)
    return { nodeSamples: 0, guestSamples: 0, nodeRollups: 0, guestRollups: 0 };
  const until = async (horizonDays: number, rolledKey: string) =>
    Math.min(nowS - horizonDays * DAY, (await getMark(exec, rolledKey)) ?? 0);
  const guestRaw = await until(h.rawDays, 'history.rollup.guest.300');
  const nodeRaw = await until(h.rawDays, 'history.rollup.node.300');
  const guest5m = await until(h.fiveMinuteDays, 'history.rollup.guest.3600');
  const node5m = await until(h.fiveMinuteDays, 'history.rollup.node.3600');
  const hourly = nowS - h.hourlyDays * DAY;

  const guestSamples = await drain(
    exec,
    `delete from guest_samples where (guest_id, ts) in
       (select guest_id, ts from guest_samples where ts < ? order by ts limit ?)`,
    [guestRaw],
    batchRows,
  );
  const nodeSamples = await drain(
    exec,
    `delete from node_samples where id in (select id from node_samples where ts < ? order by ts limit ?)`,
    [new Date(nodeRaw * 1000).toISOString()],
    batchRows,
  );
  const rollups = async (table: string, key: string, res: number, before: number) =>
    drain(
      exec,
      `delete from ${table} where (${key}, res, bucket) in
         (select ${key}, res, bucket from ${table} where res = ? and bucket < ? order by bucket limit ?)`,
      [res, before],
      batchRows,
    );
  const guestRollups =
    (await rollups('guest_rollups', 'guest_id', 300, guest5m)) +
    (await rollups('guest_rollups', 'guest_id', 3600, hourly));
  const nodeRollups =
    (await rollups('node_rollups', 'node_id', 300, node5m)) +
    (await rollups('node_rollups', 'node_id', 3600, hourly));
  await setMark(exec, 'history.pruned', nowS);
  return { nodeSamples, guestSamples, nodeRollups, guestRollups };
}
