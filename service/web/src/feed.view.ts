import type { AppContext, Screen } from './context.model.js';
import { h, icon } from './dom.view.js';
import { Pager } from './pager.model.js';
import { pagedList } from './paged-list.view.js';
import { photoCard } from './photo-card.view.js';
import { routeHref } from './route.model.js';
import { checkUsername } from './validation.model.js';
import type { Photo } from './types.model.js';

/** The home screen: photos by the people you follow and by you, newest first, loading as you scroll. */
export function feedScreen(ctx: AppContext): Screen {
  const pager = new Pager<Photo>((cursor) => ctx.api.feed(cursor, 8));
  const list = h('ul', { class: 'cards', role: 'list', 'aria-label': 'Photos in your feed' });
  const paged = pagedList(ctx, {
    pager,
    list,
    noun: 'photos',
    renderItem: (photo, index) => h('li', {}, photoCard(ctx, photo, { eager: index < 2 })),
    empty: () =>
      h(
        'div',
        { class: 'empty-state' },
        h('div', { class: 'empty-icon' }, icon('image')),
        h('h2', {}, 'Your feed is empty'),
        h('p', { class: 'muted' }, 'Share your first photo, or find someone to follow by their username.'),
        h('a', { href: routeHref({ name: 'upload' }), class: 'button primary' }, 'Share a photo'),
      ),
  });
  const element = h('section', { class: 'page feed-page', 'aria-labelledby': 'feed-title' }, h('h1', { id: 'feed-title', class: 'visually-hidden' }, 'Your feed'), findPeople(ctx), paged.element);
  return { element, title: 'Feed', dispose: paged.dispose };
}

/** A small form that opens a profile by username (the API has no user search, so this is how people find each other). */
export function findPeople(ctx: AppContext): HTMLElement {
  const input = h('input', {
    id: 'find-username',
    name: 'username',
    type: 'search',
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    placeholder: 'username',
    'aria-describedby': 'find-error',
    enterkeyhint: 'go',
  });
  const error = h('p', { id: 'find-error', class: 'field-error', 'aria-live': 'polite' });
  const form = h(
    'form',
    {
      class: 'find-people',
      role: 'search',
      onsubmit: (event) => {
        event.preventDefault();
        const username = input.value.trim().replace(/^@/, '').toLowerCase();
        const problem = checkUsername(username);
        error.textContent = problem ?? '';
        input.setAttribute('aria-invalid', String(problem !== null));
        if (!problem) ctx.navigate(routeHref({ name: 'profile', username }));
      },
    },
    h('label', { for: 'find-username' }, 'Find people'),
    h('div', { class: 'inline-field' }, h('span', { class: 'at-prefix', 'aria-hidden': 'true' }, '@'), input, h('button', { type: 'submit', class: 'button secondary' }, icon('search'), h('span', {}, 'Open profile'))),
    error,
  );
  return form;
}
