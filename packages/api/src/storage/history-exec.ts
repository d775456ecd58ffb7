/** How the usage-history job runs its statements, and its watermarks in `nanny_meta`. */
import type { Db, RawSql } from './sql.ts';

/** Runs one statement on the job's connection, `?` placeholders. */
export interface Exec {
  <R>(text: string, params: readonly unknown[]): Promise<{ rows: R[]; affected: number }>;
  statements: number;
}

export function execOn(db: Db, raw: RawSql): Exec {
  const exec = (async (text: string, params: readonly unknown[]) => {
    exec.statements++;
    const r = await raw(db, text, params);
    return { rows: r.rows, affected: Number(r.numAffectedRows ?? 0n) };
  }) as Exec;
  exec.statements = 0;
  return exec;
}

export async function getMark(exec: Exec, key: string): Promise<number | undefined> {
  const { rows } = await exec<{ value: string }>('select "value" from "nanny_meta" where "key" = ?', [key]);
  const v = rows[0] ? Number(rows[0].value) : NaN;
  return Number.isFinite(v) ? v : undefined;
}
export async function setMark(exec: Exec, key: string, value: number): Promise<void> {
  await exec(
    'insert into "nanny_meta" ("key", "value") values (?, ?) on conflict ("key") do update set "value" = excluded."value"',
    [key, String(value)],
  );
}
