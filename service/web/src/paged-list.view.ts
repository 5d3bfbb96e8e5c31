import type { AppContext } from './context.model.js';
import { h, replace } from './dom.view.js';
import type { Pager } from './pager.model.js';
import type { Id } from './types.model.js';

/** Options for pagedList. */
export interface PagedListOptions<T extends { id: Id }> {
  pager: Pager<T>;
  /** The list element the items go into (a ul or div with its own layout class). */
  list: HTMLElement;
  renderItem: (item: T, index: number) => HTMLElement;
  /** Shown instead of the list when the first page is empty. */
  empty: () => HTMLElement;
  /** What the items are called, for the status line ("photos"). */
  noun: string;
}

/**
 * A list that loads more items as its end scrolls into view (infinite scroll), with a
 * "Load more" button for keyboards and for browsers without IntersectionObserver.
 */
export function pagedList<T extends { id: Id }>(ctx: AppContext, options: PagedListOptions<T>): { element: HTMLElement; dispose: () => void } {
  const { pager, list } = options;
  const footer = h('div', { class: 'list-end' });
  const status = h('p', { class: 'muted list-status', role: 'status' });
  const element = h('div', { class: 'paged-list', 'aria-busy': 'true' }, list, status, footer);
  let disposed = false;

  const paint = (): void => {
    element.setAttribute('aria-busy', String(pager.state.loading));
    if (pager.state.error) {
      status.textContent = '';
      replace(
        footer,
        h('p', { class: 'error-text', role: 'alert' }, `Could not load more ${options.noun}: ${ctx.explain(pager.state.error)}`),
        h('button', { type: 'button', class: 'button secondary', onclick: () => void load() }, 'Try again'),
      );
    } else if (pager.state.loading) {
      status.textContent = `Loading ${options.noun}…`;
      replace(footer, h('span', { class: 'spinner', 'aria-hidden': 'true' }));
    } else if (pager.state.done) {
      status.textContent = pager.state.items.length === 0 ? '' : `That's all — you're all caught up.`;
      replace(footer);
    } else {
      status.textContent = '';
      replace(footer, h('button', { type: 'button', class: 'button secondary load-more', onclick: () => void load() }, `Load more ${options.noun}`));
    }
  };

  async function load(): Promise<void> {
    if (pager.state.loading || disposed) return;
    const start = pager.state.items.length;
    const pending = pager.more();
    paint();
    try {
      const fresh = await pending;
      if (disposed) return;
      if (start === 0 && pager.state.items.length === 0 && pager.state.done) list.replaceWith(options.empty());
      fresh.forEach((item, i) => list.appendChild(options.renderItem(item, start + i)));
    } catch {
      // pager.state.error holds it; paint() shows it with a retry button
    }
    if (disposed) return;
    paint();
    if (!pager.state.done && !pager.state.error && nearViewport(footer)) void load();
  }

  const observer =
    typeof IntersectionObserver === 'function'
      ? new IntersectionObserver((entries) => {
          if (entries.some((e) => e.isIntersecting) && !pager.state.loading && !pager.state.done && !pager.state.error) void load();
        }, { rootMargin: '600px 0px' })
      : null;
  observer?.observe(footer);
  void load();

  return {
    element,
    dispose: () => {
      disposed = true;
      observer?.disconnect();
    },
  };
}

function nearViewport(el: Element): boolean {
  const rect = el.getBoundingClientRect();
  return rect.top < window.innerHeight + 600 && rect.bottom > -600;
}
