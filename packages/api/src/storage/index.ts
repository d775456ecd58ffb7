/** Opens the configured storage: SQLite under the data dir, or PostgreSQL from NANNYAPI_DATABASE_URL. */
import type { ApiConfig } from '../config.ts';
import { createKyselyStorage } from './kysely-storage.ts';
import type { Storage } from './storage.ts';

export type * from './storage.ts';

export function createStorage(
  config: Pick<ApiConfig, 'databaseUrl' | 'sqliteFile' | 'pgSchema'>,
): Promise<Storage> {
  return createKyselyStorage({
    databaseUrl: config.databaseUrl,
    sqliteFile: config.sqliteFile,
    pgSchema: config.pgSchema,
  });
}
