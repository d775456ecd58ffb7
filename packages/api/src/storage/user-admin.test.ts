/** Users as an administrator manages them, on every dialect: an organisation keeps one administrator. */
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { DIALECTS } from './testing.ts';
import { createUserAdminStore } from './user-admin.ts';

for (const d of DIALECTS) {
  test(`${d.name}: two admins demoting each other at once: one stays admin`, async (t) => {
    const opened = await d.open();
    if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return;
    try {
      const at = '2026-12-01T00:00:00.000Z';
      const tenant = await opened.storage.ensureTenant('default', at);
      const other = await opened.storage.ensureTenant('other', at);
      const users = opened.storage.extend(createUserAdminStore);
      const mk = (username: string, tenantId = tenant.id) =>
        users.createUser({
          tenant_id: tenantId,
          username,
          password_hash: 'x',
          role: 'admin',
          created_at: at,
        });
      const [a, b] = [await mk('ann'), await mk('bob')];
      await mk('olga', other.id);
      assert.equal(await mk('ann'), undefined, 'a taken name');
      for (let round = 0; round < 5; round++) {
        const got = await Promise.all([
          users.setRole(tenant.id, a!.id, 'user'),
          users.setRole(tenant.id, b!.id, 'user'),
        ]);
        assert.deepEqual([...got].sort(), ['last_admin', 'ok'], `round ${round}`);
        const admins = (await users.listUsers(tenant.id)).filter((u) => u.role === 'admin');
        assert.equal(admins.length, 1);
        for (const u of [a!, b!]) assert.equal(await users.setRole(tenant.id, u.id, 'admin'), 'ok');
      }
      assert.equal(await users.deleteUser(other.id, a!.id, at), 'not_found', "another organisation's user");
      assert.equal(await users.deleteUser(tenant.id, a!.id, at), 'ok');
      assert.equal(await users.deleteUser(tenant.id, b!.id, at), 'last_admin');
      assert.deepEqual(
        (await users.listUsers(tenant.id)).map((u) => u.username),
        ['bob'],
      );
    } finally {
      await opened.cleanup();
    }
  });
}
