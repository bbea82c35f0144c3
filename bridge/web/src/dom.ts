// A few DOM helpers: the page is plain TypeScript, no framework.

type Child = Node | string | null | undefined | false;

/** `h('button', { class: 'primary', 'data-testid': 'submit' }, 'Deposit')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el as T;
}

/** Sets text only when it changed (keeps selections and avoids needless layout). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

export function short(hex: string, keep = 6): string {
  return hex.length <= 2 + keep * 2 ? hex : `${hex.slice(0, 2 + keep)}…${hex.slice(-keep + 2)}`;
}

/** A hash or address in monospace, with its full value in the tooltip, copyable on click. */
export function mono(hex: string, keep = 6): HTMLElement {
  const el = h('code', { class: 'mono', title: `${hex} (click to copy)` }, short(hex, keep));
  el.addEventListener('click', () => {
    void navigator.clipboard?.writeText(hex).catch(() => {});
  });
  return el;
}
