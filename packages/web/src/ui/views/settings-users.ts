/**
 * Settings → Users (administrators): the organisation's users with their role; create one (the
 * server generates the password and shows it once, to pass on), change a role, delete a user. The
 * server refuses what would leave no administrator, and a `user` sees "Administrators only".
 */
import { api } from '../api.ts';
import { ago, badge, emptyState, table } from '../components.ts';
import { fill, h } from '../dom.ts';
import type { ViewContext } from '../view.ts';
import { copyButton, field, section } from './settings-parts.ts';

interface UserRow {
  id: string;
  username: string;
  role: 'admin' | 'user';
  created_at: string;
}

const ROLES = ['user', 'admin'] as const;

function roleSelect(value: string, label: string): HTMLSelectElement {
  return h(
    'select',
    { 'aria-label': label },
    ROLES.map((r) => h('option', { value: r, ...(r === value ? { selected: true } : {}) }, r)),
  );
}

export function usersSection(
  ctx: ViewContext,
  act: (p: Promise<unknown>, then: () => Promise<void>) => Promise<void>,
) {
  const name = h('input', {
    name: 'username',
    required: true,
    autocomplete: 'off',
    'aria-label': 'new user name',
    placeholder: 'username',
  });
  const role = roleSelect('user', 'new user role');
  const create = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create user');
  const form = h(
    'form',
    { class: 'filters', id: 'user-form' },
    field('Username', name),
    field('Role', role),
    create,
  );
  const secret = h('div', { class: 'secret', hidden: true });

  const users = section(
    ctx,
    'Users',
    h('span', { class: 'muted small' }, 'administrators only'),
    async (box) => {
      const r = await api<{ data: UserRow[] }>('/api/users');
      const rows = r.data.map((u) => {
        const me = u.id === ctx.user.id;
        const sel = roleSelect(u.role, `role of ${u.username}`);
        sel.addEventListener('change', () => {
          void act(
            api(`/api/users/${encodeURIComponent(u.id)}`, { method: 'PATCH', body: { role: sel.value } }),
            // your own role: the page's menus follow it after a reload
            async () => (me ? location.reload() : users.run()),
          );
        });
        const del = h('button', { type: 'button', class: 'btn btn-small btn-ghost' }, 'Delete');
        del.addEventListener('click', () => {
          if (!confirm(`Delete the user ${u.username}? Their sessions end and their API tokens are revoked.`))
            return;
          void act(api(`/api/users/${encodeURIComponent(u.id)}`, { method: 'DELETE' }), users.run);
        });
        return h(
          'tr',
          { 'data-user': u.username },
          h('td', null, u.username, me ? ' ' : null, me ? badge('you', 'badge-muted') : null),
          h('td', null, sel),
          h('td', null, ago(u.created_at)),
          h('td', null, me ? null : del),
        );
      });
      fill(
        box,
        form,
        secret,
        rows.length ? table(['User', 'Role', 'Created', ''], rows, 'users') : emptyState('No users.'),
      );
    },
  );

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    create.disabled = true;
    api<{ data: UserRow; password: string }>('/api/users', {
      method: 'POST',
      body: { username: name.value.trim(), role: role.value },
    })
      .then(async (r) => {
        fill(
          secret,
          h('p', null, `Password of ${r.data.username}, shown once (they change it after logging in):`),
          h(
            'div',
            { class: 'cmd-line' },
            h('code', { class: 'cmd', id: 'new-user-password' }, r.password),
            copyButton(() => r.password),
          ),
        );
        secret.hidden = false;
        form.reset();
        await users.run();
      })
      .catch(ctx.fail)
      .finally(() => (create.disabled = false));
  });
  return users;
}
