/**
 * Users of an organisation as an administrator manages them (GET/POST/PATCH/DELETE /api/users).
 * A change that would leave an organisation without an administrator is refused inside the
 * transaction that makes it: on PostgreSQL the organisation's admin rows are locked first, so two
 * admins demoting each other at once cannot both succeed.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Trx } from './sql.ts';
import type { StorageHandle, User } from './storage.ts';

export type UserListing = Omit<User, 'password_hash'>;

/** what a role change or a removal did */
export type UserChange = 'ok' | 'not_found' | 'last_admin';

export interface UserAdminStore {
  listUsers(tenantId: string): Promise<UserListing[]>;
  /** undefined when the name is taken (names are unique across organisations: they log in by it) */
  createUser(u: Omit<User, 'id'>): Promise<UserListing | undefined>;
  setRole(tenantId: string, userId: string, role: User['role']): Promise<UserChange>;
  /** deletes the user, ends their sessions and revokes their personal tokens (at `now`) */
  deleteUser(tenantId: string, userId: string, now: string): Promise<UserChange>;
}

const COLUMNS = ['id', 'tenant_id', 'username', 'role', 'created_at'] as const;

export function createUserAdminStore(handle: StorageHandle): UserAdminStore {
  const db = handle.db as Db;

  /** the user, and whether taking their admin role away would leave the organisation without one */
  async function lockAndCheck(trx: Trx, tenantId: string, userId: string) {
    let admins = trx
      .selectFrom('users')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('role', '=', 'admin');
    if (handle.dialect === 'postgres') admins = admins.forUpdate();
    const adminIds = (await admins.execute()).map((r) => r.id);
    const user = await trx
      .selectFrom('users')
      .select(COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', userId)
      .executeTakeFirst();
    const lastAdmin = adminIds.length === 1 && adminIds[0] === userId;
    return { user, lastAdmin };
  }

  return {
    async listUsers(tenantId) {
      return (await db
        .selectFrom('users')
        .select(COLUMNS)
        .where('tenant_id', '=', tenantId)
        .orderBy('username')
        .execute()) as UserListing[];
    },
    async createUser(u) {
      const row = { ...u, id: randomUUID() };
      const r = await db
        .insertInto('users')
        .values(row)
        .onConflict((oc) => oc.column('username').doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return undefined;
      const { password_hash: _, ...listing } = row;
      return listing;
    },
    setRole(tenantId, userId, role) {
      return db.transaction().execute(async (trx) => {
        const { user, lastAdmin } = await lockAndCheck(trx, tenantId, userId);
        if (!user) return 'not_found';
        if (role !== 'admin' && lastAdmin) return 'last_admin';
        await trx.updateTable('users').set({ role }).where('id', '=', userId).execute();
        return 'ok';
      });
    },
    deleteUser(tenantId, userId, now) {
      return db.transaction().execute(async (trx) => {
        const { user, lastAdmin } = await lockAndCheck(trx, tenantId, userId);
        if (!user) return 'not_found';
        if (lastAdmin) return 'last_admin';
        await trx.deleteFrom('sessions').where('user_id', '=', userId).execute();
        await trx
          .updateTable('api_tokens')
          .set({ revoked_at: now })
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .execute();
        await trx.deleteFrom('users').where('id', '=', userId).execute();
        return 'ok';
      });
    },
  };
}
