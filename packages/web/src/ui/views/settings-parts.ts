/** Parts the settings sections share: a section that loads on its own, a labelled field, a copy button. */
import { ApiError } from '../api.ts';
import { card, emptyState, loading } from '../components.ts';
import { fill, h, type Child } from '../dom.ts';
import type { ViewContext } from '../view.ts';

export function copyButton(text: () => string): HTMLElement {
  const b = h('button', { type: 'button', class: 'btn btn-small' }, 'Copy');
  b.addEventListener('click', () => {
    navigator.clipboard
      .writeText(text())
      .then(() => (b.textContent = 'Copied'))
      .catch(() => (b.textContent = 'Select and copy by hand'));
  });
  return b;
}

export function field(label: string, input: HTMLElement): HTMLElement {
  return h('label', { class: 'field' }, h('span', { class: 'muted small' }, label), input);
}

/** A section that loads on its own; a 403 becomes a note rather than an error. */
export function section(
  ctx: ViewContext,
  title: string,
  extra: Child,
  load: (box: HTMLElement) => Promise<void>,
) {
  const box = h('div', null, loading());
  const el = card(title, extra, box);
  const run = () =>
    load(box).catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 403) fill(box, emptyState('Administrators only.'));
      else ctx.fail(e);
    });
  return { el, run };
}
