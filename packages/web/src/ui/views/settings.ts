/**
 * Settings: enrollment tokens (create; the install command for a node, copied in one click), agents
 * (last seen, version, revoke), notification channels (add, test, delete), users, API tokens. Sections an
 * administrator owns say so to other users instead of failing.
 */
import { api, type Json } from '../api.ts';
import { ago, badge, emptyState, table } from '../components.ts';
import { fill, h } from '../dom.ts';
import { fmtTime } from '../format.ts';
import type { Mount } from '../view.ts';
import { copyButton, field, section } from './settings-parts.ts';
import { usersSection } from './settings-users.ts';

interface Enrollment {
  id: string;
  max_uses: number;
  uses_left: number;
  expires_at: string;
  created_at: string;
  revoked_at: string | null;
}
interface Agent {
  id: string;
  hostname: string;
  cluster_name: string | null;
  agent_version: string | null;
  pve_version: string | null;
  revoked_at: string | null;
  created_at: string;
  last_seen_at: string | null;
}
interface Channel {
  id: string;
  type: string;
  name: string;
  min_severity: string;
}
interface Token {
  id: string;
  name: string;
  scope: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  expires_at: string | null;
}

/** The command a node runs to register with this server (docs/agent-install.md). */
export function installCommand(origin: string, token: string): string {
  return `nannyagent register --url ${origin} --enroll-token ${token} && systemctl start nannyagent`;
}

export const settings: Mount = (root, ctx) => {
  const act = (p: Promise<unknown>, then: () => Promise<void>) => p.then(then).catch(ctx.fail);

  // ---- enrollment tokens
  const secretBox = h('div', { class: 'secret', hidden: true });
  const uses = h('input', { type: 'number', name: 'uses', min: '1', value: '1', 'aria-label': 'uses' });
  const ttl = h(
    'select',
    { name: 'ttl', 'aria-label': 'valid for' },
    ['24h', '7d', '30d'].map((v) => h('option', { value: v }, v)),
  );
  const create = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token');
  const enrollForm = h(
    'form',
    { class: 'filters', id: 'enroll-form' },
    field('Uses', uses),
    field('Valid for', ttl),
    create,
  );
  const enroll = section(ctx, 'Enrollment tokens', null, async (box) => {
    const r = await api<{ data: Enrollment[] }>('/api/enrollment-tokens');
    const rows = r.data.map((t) => {
      const revoke = h('button', { type: 'button', class: 'btn btn-small btn-ghost' }, 'Revoke');
      revoke.addEventListener(
        'click',
        () =>
          void act(
            api(`/api/enrollment-tokens/${encodeURIComponent(t.id)}`, { method: 'DELETE' }),
            enroll.run,
          ),
      );
      return h(
        'tr',
        null,
        h('td', null, h('code', null, t.id.slice(0, 8))),
        h('td', { class: 'num' }, `${t.uses_left} / ${t.max_uses}`),
        h(
          'td',
          null,
          h('time', { datetime: t.expires_at, title: fmtTime(t.expires_at) }, fmtTime(t.expires_at)),
        ),
        h('td', null, ago(t.created_at)),
        h('td', null, t.revoked_at ? badge('revoked', 'badge-muted') : revoke),
      );
    });
    fill(
      box,
      enrollForm,
      secretBox,
      rows.length
        ? table(['Token', { label: 'Uses left', cls: 'num' }, 'Expires', 'Created', ''], rows, 'enrollments')
        : emptyState('No enrollment tokens.'),
    );
  });
  enrollForm.addEventListener('submit', (e) => {
    e.preventDefault();
    create.disabled = true;
    api<{ token: string }>('/api/enrollment-tokens', {
      method: 'POST',
      body: { uses: Number(uses.value) || 1, ttl: ttl.value },
    })
      .then((r) => {
        const cmd = installCommand(location.origin, r.token);
        fill(
          secretBox,
          h('p', null, 'Shown once. On each node (after installing the nannyagent package), run:'),
          h(
            'div',
            { class: 'cmd-line' },
            h('code', { class: 'cmd', id: 'install-command' }, cmd),
            copyButton(() => cmd),
          ),
        );
        secretBox.hidden = false;
        return enroll.run();
      })
      .catch(ctx.fail)
      .finally(() => (create.disabled = false));
  });

  // ---- agents
  const agents = section(ctx, 'Agents', null, async (box) => {
    const r = await api<{ data: Agent[] }>('/api/agents');
    const rows = r.data.map((a) => {
      const revoke = h('button', { type: 'button', class: 'btn btn-small btn-ghost' }, 'Revoke');
      revoke.addEventListener('click', () => {
        if (!confirm(`Revoke ${a.hostname}? Its agent can no longer report until it registers again.`))
          return;
        void act(
          api(`/api/agents/${encodeURIComponent(a.id)}/revoke`, { method: 'POST', body: {} }),
          agents.run,
        );
      });
      return h(
        'tr',
        { 'data-agent': a.hostname },
        h(
          'td',
          null,
          a.hostname,
          a.cluster_name ? h('span', { class: 'muted small block' }, a.cluster_name) : null,
        ),
        h('td', null, a.agent_version ?? '–'),
        h('td', null, a.last_seen_at ? ago(a.last_seen_at) : 'never'),
        h('td', null, ago(a.created_at)),
        h('td', null, a.revoked_at ? badge('revoked', 'badge-crit') : revoke),
      );
    });
    fill(
      box,
      rows.length
        ? table(['Host', 'Agent version', 'Last seen', 'Registered', ''], rows, 'agents')
        : emptyState('No agent registered yet.'),
    );
  });

  // ---- notification channels
  const chType = h(
    'select',
    { name: 'type', 'aria-label': 'channel type' },
    ['webhook', 'slack', 'discord', 'ntfy', 'gotify'].map((v) => h('option', { value: v }, v)),
  );
  const chName = h('input', {
    name: 'name',
    required: true,
    'aria-label': 'channel name',
    placeholder: 'name',
  });
  const chUrl = h('input', {
    name: 'url',
    type: 'url',
    required: true,
    'aria-label': 'channel URL',
    placeholder: 'https://…',
  });
  const chExtra = h('input', {
    name: 'extra',
    'aria-label': 'topic or token',
    placeholder: 'ntfy topic / gotify token',
  });
  const chSev = h(
    'select',
    { name: 'min_severity', 'aria-label': 'minimum severity' },
    ['info', 'warning', 'critical'].map((v) => h('option', { value: v }, v)),
  );
  const chAdd = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add channel');
  const chForm = h(
    'form',
    { class: 'filters', id: 'channel-form' },
    chType,
    chName,
    chUrl,
    chExtra,
    chSev,
    chAdd,
  );
  const chNote = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const channels = section(
    ctx,
    'Notification channels',
    h('span', { class: 'muted small' }, 'e-mail: CLI (docs/alerts.md)'),
    async (box) => {
      const r = await api<{ data: Channel[] }>('/api/notification-channels');
      const rows = r.data.map((c) => {
        const test = h('button', { type: 'button', class: 'btn btn-small' }, 'Test');
        test.addEventListener('click', () => {
          test.disabled = true;
          api<Json>(`/api/notification-channels/${encodeURIComponent(c.id)}/test`, {
            method: 'POST',
            body: {},
          })
            .then(() => (chNote.textContent = `${c.name}: test message sent`))
            .catch(
              (e: unknown) =>
                (chNote.textContent = `${c.name}: ${e instanceof Error ? e.message : String(e)}`),
            )
            .finally(() => (test.disabled = false));
        });
        const del = h('button', { type: 'button', class: 'btn btn-small btn-ghost' }, 'Delete');
        del.addEventListener('click', () => {
          if (confirm(`Delete the channel ${c.name}?`))
            void act(
              api(`/api/notification-channels/${encodeURIComponent(c.id)}`, { method: 'DELETE' }),
              channels.run,
            );
        });
        return h(
          'tr',
          { 'data-channel': c.name },
          h('td', null, c.name),
          h('td', null, c.type),
          h('td', null, c.min_severity),
          h('td', { class: 'actions' }, test, del),
        );
      });
      fill(
        box,
        chForm,
        chNote,
        rows.length
          ? table(['Name', 'Type', 'From severity', ''], rows, 'channels')
          : emptyState('No notification channels.'),
      );
    },
  );
  chForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const body: Json = {
      type: chType.value,
      name: chName.value,
      url: chUrl.value,
      min_severity: chSev.value,
    };
    if (chType.value === 'ntfy' && chExtra.value) body['topic'] = chExtra.value;
    if (chType.value === 'gotify' && chExtra.value) body['token'] = chExtra.value;
    void act(api('/api/notification-channels', { method: 'POST', body }), async () => {
      chForm.reset();
      await channels.run();
    });
  });

  // ---- personal API tokens
  const tokName = h('input', {
    name: 'token-name',
    required: true,
    'aria-label': 'token name',
    placeholder: 'name',
  });
  const tokScope = h(
    'select',
    { name: 'scope', 'aria-label': 'scope' },
    h('option', { value: 'read' }, 'read'),
    h('option', { value: 'write' }, 'write'),
  );
  const tokSecret = h('div', { class: 'secret', hidden: true });
  const tokForm = h(
    'form',
    { class: 'filters' },
    tokName,
    tokScope,
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token'),
  );
  const tokens = section(
    ctx,
    'API tokens',
    h('span', { class: 'muted small' }, ctx.user.role === 'admin' ? 'the organisation’s' : 'yours'),
    async (box) => {
      const r = await api<{ data: Token[] }>('/api/tokens');
      const rows = r.data.map((t) => {
        const revoke = h('button', { type: 'button', class: 'btn btn-small btn-ghost' }, 'Revoke');
        revoke.addEventListener(
          'click',
          () => void act(api(`/api/tokens/${encodeURIComponent(t.id)}`, { method: 'DELETE' }), tokens.run),
        );
        return h(
          'tr',
          null,
          h('td', null, t.name),
          h('td', null, t.scope),
          h('td', null, ago(t.created_at)),
          h('td', null, t.last_used_at ? ago(t.last_used_at) : 'never'),
          h('td', null, t.revoked_at ? badge('revoked', 'badge-muted') : revoke),
        );
      });
      fill(
        box,
        tokForm,
        tokSecret,
        rows.length
          ? table(['Name', 'Scope', 'Created', 'Last used', ''], rows, 'tokens')
          : emptyState('No API tokens.'),
      );
    },
  );
  tokForm.addEventListener('submit', (e) => {
    e.preventDefault();
    api<{ token: string }>('/api/tokens', {
      method: 'POST',
      body: { name: tokName.value, scope: tokScope.value },
    })
      .then(async (r) => {
        fill(
          tokSecret,
          h('p', null, 'Shown once:'),
          h(
            'div',
            { class: 'cmd-line' },
            h('code', { class: 'cmd' }, r.token),
            copyButton(() => r.token),
          ),
        );
        tokSecret.hidden = false;
        await tokens.run();
      })
      .catch(ctx.fail);
  });

  const users = usersSection(ctx, act);
  const parts = [enroll, agents, channels, users, tokens];
  root.append(
    h(
      'div',
      { class: 'stack' },
      parts.map((p) => p.el),
    ),
  );
  return {
    wants: () => false,
    async refresh() {
      await Promise.all(parts.map((p) => p.run()));
    },
  };
};
