/** Alerts: firing or resolved, filtered by severity and text; acknowledge; silence for a duration. */
import { api, qs, type Alert, type ClusterView, type Silence } from '../api.ts';
import { ago, card, emptyState, loading, segmented, severityBadge, table } from '../components.ts';
import { fill, h } from '../dom.ts';
import { fmtTime, localizeTimes } from '../format.ts';
import type { Mount } from '../view.ts';

export const DURATIONS: [string, string][] = [
  ['3600', '1 hour'],
  ['14400', '4 hours'],
  ['86400', '1 day'],
  ['604800', '7 days'],
];

/** "cluster · node · VMID n"; a standalone site is named after its node, so it is said once. */
function where(a: Alert, names: Map<string, string>): string {
  const site = names.get(a.cluster_id) ?? a.cluster_name ?? a.cluster_id;
  return [site === a.node ? null : site, a.node, a.vmid ? `VMID ${a.vmid}` : null]
    .filter(Boolean)
    .join(' · ');
}

export const alerts: Mount = (root, ctx, params) => {
  let state = params.get('state') === 'resolved' ? 'resolved' : 'firing';
  const sev = h(
    'select',
    { name: 'severity', 'aria-label': 'severity' },
    [
      ['', 'Any severity'],
      ['critical', 'Critical'],
      ['warning', 'Warning'],
      ['info', 'Info'],
    ].map(([v, l]) => h('option', { value: v ?? '' }, l ?? '')),
  );
  const text = h('input', {
    type: 'search',
    name: 'q',
    placeholder: 'summary, node, rule',
    'aria-label': 'filter alerts',
  });
  const out = h('div', null, loading());
  const silencesOut = h('div');
  const seg = segmented(
    'alert state',
    [
      ['firing', 'Firing'],
      ['resolved', 'Resolved'],
    ],
    state,
    'state',
    (v) => {
      state = v;
      refresh().catch(ctx.fail);
    },
  );
  root.append(
    card('Alerts', seg, h('form', { class: 'filters', role: 'search' }, text, sev), out),
    card(
      'Silences',
      h('span', { class: 'muted small' }, 'notifications held back; alerts still show here'),
      silencesOut,
    ),
  );
  let list: Alert[] = [];
  let names = new Map<string, string>();
  const isAdmin = ctx.user.role === 'admin';

  const act = (p: Promise<unknown>) => p.then(() => refresh()).catch(ctx.fail);
  const draw = () => {
    const q = text.value.trim().toLowerCase();
    const shown = list.filter(
      (a) =>
        (!sev.value || a.severity === sev.value) &&
        (!q || `${a.summary} ${a.node ?? ''} ${a.rule} ${where(a, names)}`.toLowerCase().includes(q)),
    );
    if (shown.length === 0) {
      fill(
        out,
        emptyState(
          list.length
            ? 'No alerts match these filters.'
            : state === 'firing'
              ? 'No alerts firing.'
              : 'No resolved alerts.',
        ),
      );
      return;
    }
    const rows = shown.map((a) => {
      const actions: HTMLElement[] = [];
      if (a.state === 'firing' && !a.acknowledged_at) {
        const b = h('button', { type: 'button', class: 'btn btn-small' }, 'Acknowledge');
        b.addEventListener('click', () => {
          b.disabled = true;
          void act(api(`/api/alerts/${encodeURIComponent(a.id)}/acknowledge`, { method: 'POST', body: {} }));
        });
        actions.push(b);
      }
      if (a.state === 'firing' && isAdmin) {
        const dur = h(
          'select',
          { 'aria-label': `silence ${a.rule} on ${a.node ?? a.cluster_id} for`, class: 'silence-for' },
          DURATIONS.map(([v, l]) => h('option', { value: v }, l)),
        );
        const b = h('button', { type: 'button', class: 'btn btn-small btn-ghost' }, 'Silence');
        b.addEventListener('click', () => {
          b.disabled = true;
          void act(
            api('/api/alerts/silences', {
              method: 'POST',
              body: {
                cluster_id: a.cluster_id,
                ...(a.node ? { node: a.node } : {}),
                rule: a.rule,
                duration_seconds: Number(dur.value),
                comment: `from the dashboard by ${ctx.user.username}`,
              },
            }),
          );
        });
        actions.push(h('span', { class: 'silence' }, dur, b));
      }
      return h(
        'tr',
        { 'data-alert': a.id },
        h('td', null, severityBadge(a.severity)),
        h(
          'td',
          null,
          localizeTimes(a.summary),
          h('span', { class: 'muted small block' }, a.rule),
          a.silenced ? h('span', { class: 'badge badge-muted' }, 'silenced') : null,
          a.acknowledged_by
            ? h(
                'span',
                { class: 'muted small block', title: fmtTime(a.acknowledged_at) },
                `ack by ${a.acknowledged_by} `,
                ago(a.acknowledged_at),
              )
            : null,
        ),
        h('td', null, where(a, names)),
        h('td', null, ago(a.started_at)),
        h(
          'td',
          null,
          a.resolved_at
            ? [
                ago(a.resolved_at),
                a.resolve_summary
                  ? h('span', { class: 'muted small block' }, localizeTimes(a.resolve_summary))
                  : null,
              ]
            : h('span', { class: 'muted' }, '–'),
        ),
        h('td', { class: 'actions' }, actions),
      );
    });
    fill(out, table(['Severity', 'Alert', 'Where', 'Started', 'Resolved', ''], rows, 'alerts'));
  };
  sev.addEventListener('change', draw);
  text.addEventListener('input', draw);

  async function refresh() {
    const [r, cl, si] = await Promise.all([
      api<{ data: Alert[] }>(`/api/alerts${qs({ state, limit: 1000 })}`),
      api<{ data: ClusterView[] }>('/api/clusters?include_standalone=true'),
      api<{ data: Silence[] }>('/api/alerts/silences'),
    ]);
    list = r.data;
    names = new Map(cl.data.map((c) => [c.id, c.cluster_name]));
    if (state === 'firing') ctx.setAlertCount(r.data.length);
    draw();
    const rows = si.data.map((s) => {
      const end = h(
        'button',
        { type: 'button', class: 'btn btn-small btn-ghost', disabled: !isAdmin },
        'End',
      );
      end.addEventListener(
        'click',
        () => void act(api(`/api/alerts/silences/${encodeURIComponent(s.id)}`, { method: 'DELETE' })),
      );
      return h(
        'tr',
        null,
        h(
          'td',
          null,
          [s.cluster_id ? (names.get(s.cluster_id) ?? s.cluster_id) : 'every cluster', s.node, s.rule]
            .filter(Boolean)
            .join(' · '),
        ),
        h(
          'td',
          null,
          h('time', { datetime: s.ends_at, title: fmtTime(s.ends_at) }, `until ${fmtTime(s.ends_at)}`),
        ),
        h('td', null, s.comment ?? ''),
        h('td', null, end),
      );
    });
    fill(
      silencesOut,
      rows.length ? table(['Scope', 'Ends', 'Comment', ''], rows, 'silences') : emptyState('No silences.'),
    );
  }
  return { refresh: () => refresh(), wants: (c) => c.kinds.length > 0 };
};
