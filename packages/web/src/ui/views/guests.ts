/**
 * Every guest with its usage, sortable by any column, searched with `tag:` `node:` `status:`
 * `type:` `cluster:` and free words. The whole list is loaded once (1,000 per request, in
 * parallel) and filtered and sorted here; only the rows in view are in the DOM (fixed row height,
 * spacer rows above and below), so 10,000 guests scroll like 30.
 */
import { allPages, type GuestRow } from '../api.ts';
import { card, emptyState, loading, noDataYet } from '../components.ts';
import { fill, h } from '../dom.ts';
import type { Mount } from '../view.ts';
import { COLUMNS, guestRow, matches, parseQuery, sortGuests } from './guest-table.ts';

const OVERSCAN = 12;
/** a refetch at most this often while changes stream in (ms) */
const REFETCH_MS = 5000;

export const guests: Mount = (root, ctx, params) => {
  let all: GuestRow[] = [];
  let shown: GuestRow[] = [];
  let sortKey = params.get('sort') ?? 'vmid';
  let dir: 1 | -1 = params.get('dir') === 'desc' ? -1 : 1;
  let rowH = 0;
  let lastFetch = 0;
  let trailing = 0;
  const load = async () => {
    lastFetch = Date.now();
    all = await allPages<GuestRow>('/api/guests', { usage: 1 });
    apply();
  };

  const select = (name: string, options: [string, string][], value: string) =>
    h(
      'select',
      { name, 'aria-label': name },
      options.map(([v, label]) => {
        const o = h('option', { value: v }, label);
        o.selected = v === value;
        return o;
      }),
    );
  const typeSel = select(
    'type',
    [
      ['', 'All types'],
      ['lxc', 'Containers (LXC)'],
      ['qemu', 'VMs (QEMU)'],
    ],
    params.get('type') ?? '',
  );
  const statusSel = select(
    'status',
    [
      ['', 'Any status'],
      ['running', 'Running'],
      ['stopped', 'Stopped'],
      ['paused', 'Paused'],
    ],
    params.get('status') ?? '',
  );
  const text = h('input', {
    type: 'search',
    name: 'q',
    placeholder: 'name, VMID, tag:prod node:pve1 status:running type:lxc',
    value: params.get('q') ?? '',
    'aria-label': 'search guests',
  });
  const count = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const form = h('form', { class: 'filters', role: 'search' }, text, typeSel, statusSel);
  const heads = COLUMNS.map((c) => {
    const b = h('button', { type: 'button', class: 'sort', 'data-sort': c.key }, c.label);
    b.addEventListener('click', () => {
      dir = sortKey === c.key ? (dir === 1 ? -1 : 1) : 1;
      sortKey = c.key;
      apply();
    });
    return h('th', { scope: 'col', class: c.cls ?? null }, b);
  });
  const tbody = h('tbody');
  const tableEl = h('table', { class: 'table guests vtable' }, h('thead', null, h('tr', null, heads)), tbody);
  const scroller = h(
    'div',
    { class: 'table-wrap vscroll', tabindex: '0', 'aria-label': 'guest list' },
    tableEl,
  );
  const out = h('div', null, loading());
  root.appendChild(card('Guests', count, form, out));

  const spacer = (px: number) => {
    const tr = h(
      'tr',
      { class: 'spacer', 'aria-hidden': 'true' },
      h('td', { colspan: String(COLUMNS.length) }),
    );
    tr.style.height = `${px}px`;
    return tr;
  };
  const draw = () => {
    if (shown.length === 0) return;
    if (!rowH) {
      fill(tbody, guestRow(shown[0]!));
      rowH = Math.max(24, tbody.firstElementChild?.getBoundingClientRect().height ?? 40);
    }
    const first = Math.max(0, Math.floor(scroller.scrollTop / rowH) - OVERSCAN);
    const n = Math.ceil((scroller.clientHeight || 600) / rowH) + 2 * OVERSCAN;
    const last = Math.min(shown.length, first + n);
    fill(
      tbody,
      spacer(first * rowH),
      shown.slice(first, last).map((g) => guestRow(g)),
      spacer((shown.length - last) * rowH),
    );
  };
  let raf = 0;
  scroller.addEventListener('scroll', () => {
    if (!raf)
      raf = requestAnimationFrame(() => {
        raf = 0;
        draw();
      });
  });

  const query = () => {
    const extra = [
      typeSel.value ? `type:${typeSel.value}` : '',
      statusSel.value ? `status:${statusSel.value}` : '',
    ];
    return parseQuery([text.value, ...extra].join(' '));
  };
  function apply() {
    const q = query();
    shown = sortGuests(
      all.filter((g) => matches(g, q)),
      sortKey,
      dir,
    );
    for (const th of heads) {
      const k = th.firstElementChild?.getAttribute('data-sort');
      if (k === sortKey) th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    const p = new URLSearchParams();
    if (text.value.trim()) p.set('q', text.value.trim());
    if (typeSel.value) p.set('type', typeSel.value);
    if (statusSel.value) p.set('status', statusSel.value);
    if (sortKey !== 'vmid' || dir === -1) {
      p.set('sort', sortKey);
      p.set('dir', dir === 1 ? 'asc' : 'desc');
    }
    // the URL keeps the search and sort (a link can be shared) without a hashchange re-render
    if (root.isConnected) history.replaceState(null, '', `#/guests${p.size ? `?${p.toString()}` : ''}`);
    count.textContent = shown.length === all.length ? `${all.length}` : `${shown.length} of ${all.length}`;
    if (all.length === 0) fill(out, noDataYet());
    else if (shown.length === 0) fill(out, emptyState('No guests match these filters.'));
    else {
      if (scroller.parentElement !== out) fill(out, scroller);
      draw();
    }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  typeSel.addEventListener('change', apply);
  statusSel.addEventListener('change', apply);
  let debounce = 0;
  text.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = window.setTimeout(apply, 150);
  });

  return {
    wants: (c) => c.guests > 0 || c.kinds.includes('node') || c.events.length > 0,
    async refresh(change) {
      const since = Date.now() - lastFetch;
      if (change && since < REFETCH_MS) {
        // a burst of reports: one trailing refetch instead of one per message
        if (!trailing)
          trailing = window.setTimeout(() => {
            trailing = 0;
            if (root.isConnected) load().catch(ctx.fail);
          }, REFETCH_MS - since);
        return;
      }
      await load();
    },
  };
};
