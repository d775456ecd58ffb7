/**
 * DOM building without a framework. Every text from the API goes in through text nodes or attribute
 * setters, never innerHTML: a guest named "<img onerror=…>" shows as those characters.
 */
export type Child = Node | string | number | null | undefined | false | readonly Child[];
type AttrValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly (string | null | undefined | false)[]
  | ((ev: Event) => void);
export type Attrs = Record<string, AttrValue> | null;

export function append<E extends Node>(el: E, children: readonly Child[]): E {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c as readonly Child[]);
    else if (typeof c === 'string' || typeof c === 'number')
      el.appendChild(document.createTextNode(String(c)));
    else el.appendChild(c as Node);
  }
  return el;
}

function setAttrs<E extends Element>(el: E, attrs: Attrs): E {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (Array.isArray(v)) el.setAttribute(k, v.filter(Boolean).join(' '));
    else el.setAttribute(k, v === true ? '' : String(v as string | number));
  }
  return el;
}

/** h('a', { href: '#/', class: 'x', onclick: fn }, 'text', child…) */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  return append(setAttrs(document.createElement(tag), attrs ?? null), children);
}

export function clear<E extends Element>(el: E): E {
  el.replaceChildren();
  return el;
}

export function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el;
}

/** Replaces `el`'s content in one step, so the page never shows an empty frame (no layout jump). */
export function fill(el: Element, ...children: Child[]): void {
  const frag = append(document.createDocumentFragment(), children);
  el.replaceChildren(frag);
}
