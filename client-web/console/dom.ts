// A few DOM helpers for the console's screens (no framework: the console is small and its
// panes are updated in place so that nothing typed is lost and focus stays put).

type Child = Node | string | null | undefined | false;

/** Element attributes and listeners: `on…` keys are listeners, `text` sets textContent. */
export type Props = Record<string, string | number | boolean | EventListener | undefined>;

/** Creates an element with attributes, listeners and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'value') (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** A labelled field: label, control and an optional hint tied by aria-describedby. */
export function field(id: string, label: string, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string): HTMLElement {
  control.id = id;
  const wrap = h('div', { class: 'field' }, h('label', { for: id, text: label }), control);
  if (hint) {
    const hintId = id + '-hint';
    control.setAttribute('aria-describedby', hintId);
    wrap.append(h('p', { id: hintId, class: 'hint', text: hint }));
  }
  return wrap;
}

/** Replaces the children of `el`, keeping focus on the element with the same id if it had it. */
export function replaceChildren(el: HTMLElement, ...children: Child[]): void {
  const focusedId = el.contains(document.activeElement) ? document.activeElement?.id : undefined;
  el.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
  if (focusedId) document.getElementById(focusedId)?.focus();
}
