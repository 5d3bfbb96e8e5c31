import { resolveImageUrl } from './config.model.js';
import type { AppContext } from './context.model.js';
import { h, icon } from './dom.view.js';
import { countOf, timeAgo } from './format.model.js';
import { routeHref } from './route.model.js';
import type { Photo } from './types.model.js';
import { avatar } from './avatar.view.js';

/** A photo as a card in the feed or on its own page: author, image, like button, caption. */
export function photoCard(ctx: AppContext, photo: Photo, options: { eager?: boolean } = {}): HTMLElement {
  const profileHref = routeHref({ name: 'profile', username: photo.author.username });
  const name = photo.author.displayName || photo.author.username;
  const state = { liked: photo.likedByMe === true, likes: photo.likes, busy: false };

  const count = h('span', { class: 'like-count', 'aria-live': 'polite' });
  const likeButton = h('button', { type: 'button', class: 'icon-button like-button', onclick: () => void toggleLike() }, icon('heart'));
  const paint = (): void => {
    likeButton.setAttribute('aria-pressed', String(state.liked));
    likeButton.setAttribute('aria-label', state.liked ? `Unlike photo by ${name}` : `Like photo by ${name}`);
    likeButton.classList.toggle('is-liked', state.liked);
    count.textContent = countOf(state.likes, 'like');
  };

  async function toggleLike(): Promise<void> {
    if (!ctx.session.token) {
      ctx.navigate(routeHref({ name: 'login', next: location.hash || '#/' }));
      return;
    }
    if (state.busy) return;
    state.busy = true;
    const wasLiked = state.liked;
    state.liked = !wasLiked;
    state.likes += wasLiked ? -1 : 1;
    paint();
    try {
      if (wasLiked) await ctx.api.unlike(photo.id);
      else await ctx.api.like(photo.id);
    } catch (error) {
      state.liked = wasLiked;
      state.likes += wasLiked ? 1 : -1;
      paint();
      ctx.notify(`Could not ${wasLiked ? 'unlike' : 'like'} the photo: ${ctx.explain(error)}`, 'error');
    } finally {
      state.busy = false;
    }
  }
  paint();

  const img = h('img', {
    src: resolveImageUrl(photo.imageUrl, ctx.config),
    alt: photo.caption ? photo.caption : `Photo shared by ${name}`,
    loading: options.eager ? 'eager' : 'lazy',
    decoding: 'async',
    width: photo.width,
    height: photo.height,
  });
  img.addEventListener('error', () => frame.classList.add('is-broken'), { once: true });
  img.addEventListener('load', () => frame.classList.add('is-loaded'), { once: true });
  const frame = h('div', { class: 'photo-frame', ondblclick: () => void (state.liked ? undefined : toggleLike()) }, img);
  if (photo.width && photo.height) frame.style.aspectRatio = `${photo.width} / ${photo.height}`;

  return h(
    'article',
    { class: 'card', 'aria-label': `Photo by ${name}`, 'data-photo-id': photo.id },
    h(
      'header',
      { class: 'card-header' },
      h('a', { href: profileHref, class: 'avatar-link', tabindex: -1, 'aria-hidden': 'true' }, avatar(photo.author.username, name, 'sm')),
      h(
        'div',
        { class: 'card-author' },
        h('a', { href: profileHref, class: 'author-name' }, name),
        h('span', { class: 'muted' }, `@${photo.author.username}`),
      ),
      h(
        'a',
        { href: routeHref({ name: 'photo', id: String(photo.id) }), class: 'muted time-link' },
        h('time', { datetime: photo.createdAt, title: new Date(photo.createdAt).toLocaleString() }, timeAgo(photo.createdAt, ctx.now())),
      ),
    ),
    frame,
    h(
      'div',
      { class: 'card-body' },
      h('div', { class: 'card-actions' }, likeButton, count),
      photo.caption ? h('p', { class: 'caption' }, h('a', { href: profileHref, class: 'author-name' }, photo.author.username), ' ', photo.caption) : null,
    ),
  );
}
