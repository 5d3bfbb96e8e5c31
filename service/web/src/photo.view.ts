import { ApiError } from './api-error.model.js';
import type { AppContext, Screen } from './context.model.js';
import { h, replace } from './dom.view.js';
import { busy } from './form.view.js';
import { photoCard } from './photo-card.view.js';
import { routeHref } from './route.model.js';

/** One photo on its own page (the target of grid links and of a fresh upload); its author may delete it. */
export function photoScreen(ctx: AppContext, id: string): Screen {
  const body = h('div', { class: 'single-photo', 'aria-busy': 'true' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }));
  const element = h('section', { class: 'page photo-page', 'aria-labelledby': 'photo-title' }, h('h1', { id: 'photo-title', class: 'visually-hidden' }, 'Photo'), body);
  void ctx.api
    .photo(id)
    .then((photo) => {
      body.setAttribute('aria-busy', 'false');
      const card = photoCard(ctx, photo, { eager: true });
      const mine = String(ctx.session.user?.id) === String(photo.author.id);
      const remove = mine
        ? h('button', {
            type: 'button',
            class: 'button danger',
            onclick: (event) => {
              if (!confirm('Delete this photo? This cannot be undone.')) return;
              const done = busy(event.currentTarget as HTMLButtonElement, 'Deleting…');
              ctx.api
                .deletePhoto(photo.id)
                .then(() => {
                  ctx.notify('Photo deleted.');
                  ctx.navigate(routeHref({ name: 'profile', username: photo.author.username }));
                })
                .catch((error: unknown) => {
                  done();
                  ctx.notify(`Could not delete the photo: ${ctx.explain(error)}`, 'error');
                });
            },
          }, 'Delete photo')
        : null;
      replace(body, card, h('div', { class: 'photo-links' }, h('a', { href: routeHref({ name: 'profile', username: photo.author.username }), class: 'button secondary' }, `More from @${photo.author.username}`), remove));
    })
    .catch((error: unknown) => {
      body.setAttribute('aria-busy', 'false');
      const notFound = error instanceof ApiError && error.status === 404;
      replace(body, h('div', { class: 'empty-state', role: 'alert' }, h('h2', {}, notFound ? 'This photo is gone' : 'This photo could not be loaded'), h('p', { class: 'muted' }, notFound ? 'It may have been deleted.' : ctx.explain(error)), h('a', { href: routeHref({ name: 'feed' }), class: 'button secondary' }, 'Back to your feed')));
    });
  return { element, title: 'Photo' };
}

/** The screen for a hash route that does not exist. */
export function notFoundScreen(path: string): Screen {
  return {
    title: 'Not found',
    element: h(
      'section',
      { class: 'page', 'aria-labelledby': 'nf-title' },
      h('div', { class: 'empty-state' }, h('h1', { id: 'nf-title' }, 'Page not found'), h('p', { class: 'muted' }, `Nothing lives at ${path}.`), h('a', { href: routeHref({ name: 'feed' }), class: 'button primary' }, 'Go to your feed')),
    ),
  };
}
