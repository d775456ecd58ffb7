import type { Kysely } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

export interface MigrationContext {
  dialect: Dialect;
  /** column types that differ between the dialects */
  types: {
    /** 64-bit integer (byte counts): `integer` in SQLite, `bigint` in PostgreSQL (read back as number) */
    bigint: 'integer' | 'bigint';
    /** auto-increment primary key column type */
    serial: 'integer' | 'bigserial';
    /** floating point */
    real: 'real' | 'double precision';
  };
}

export interface Migration {
  /** unique, sortable: `NNNN_name` */
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema as it was then
  up(db: Kysely<any>, ctx: MigrationContext): Promise<void>;
}
