import { ApiError } from './api-error.model.js';
import { avatar } from './avatar.view.js';
import { resolveImageUrl } from './config.model.js';
import type { AppContext, Screen } from './context.model.js';
import { h, icon, replace } from './dom.view.js';
import { busy, field, formAlert } from './form.view.js';
import { compactCount } from './format.model.js';
import { Pager } from './pager.model.js';
import { pagedList } from './paged-list.view.js';
import { routeHref } from './route.model.js';
import type { Photo, User } from './types.model.js';
import { checkBio, checkDisplayName } from './validation.model.js';

/** A person's profile: name, bio, counts, follow or unfollow, and a grid of their photos. */
export function profileScreen(ctx: AppContext, username: string): Screen {
  const header = h('div', { class: 'profile-header', 'aria-busy': 'true' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }));
  const gridSlot = h('div', { class: 'profile-photos' });
  const title = h('h1', { id: 'profile-title', class: 'visually-hidden' }, `@${username}`);
  const element = h('section', { class: 'page profile-page', 'aria-labelledby': 'profile-title' }, title, header, gridSlot);
  let disposeGrid: (() => void) | undefined;
  let disposed = false;

  const showUser = (user: User): void => {
    header.setAttribute('aria-busy', 'false');
    const isMe = ctx.session.user?.username === user.username;
    const counts = h(
      'ul',
      { class: 'profile-counts', role: 'list' },
      count(user.photos, 'photo', 'photos', 'count-photos'),
      count(user.followers, 'follower', 'followers', 'count-followers'),
      count(user.following, 'following', 'following', 'count-following'),
    );
    const actions = h('div', { class: 'profile-actions' });
    if (isMe) {
      actions.append(
        h('button', { type: 'button', class: 'button secondary', onclick: () => editProfile(ctx, user, header, showUser) }, 'Edit profile'),
        h('a', { href: routeHref({ name: 'upload' }), class: 'button primary' }, icon('plus'), h('span', {}, 'New photo')),
      );
    } else if (ctx.session.token) {
      actions.append(followButton(ctx, user, (delta) => {
        user.followers += delta;
        counts.querySelector('.count-followers')!.replaceWith(count(user.followers, 'follower', 'followers', 'count-followers'));
      }));
    } else {
      actions.append(h('a', { href: routeHref({ name: 'login', next: routeHref({ name: 'profile', username }) }), class: 'button primary' }, 'Log in to follow'));
    }
    title.textContent = user.displayName || `@${user.username}`;
    replace(
      header,
      avatar(user.username, user.displayName, 'lg'),
      h(
        'div',
        { class: 'profile-info' },
        h('p', { class: 'profile-name', 'aria-hidden': 'true' }, user.displayName || user.username),
        h('p', { class: 'muted' }, `@${user.username}`),
        counts,
        user.bio ? h('p', { class: 'profile-bio' }, user.bio) : null,
        actions,
      ),
    );
  };

  void (async () => {
    try {
      const user = await ctx.api.user(username);
      if (disposed) return;
      showUser(user);
      document.title = `${user.displayName || user.username} (@${user.username}) · Graminsta`;
      const pager = new Pager<Photo>((cursor) => ctx.api.userPhotos(user.username, cursor, 12));
      const grid = h('ul', { class: 'photo-grid', role: 'list', 'aria-label': `Photos by ${user.displayName || user.username}` });
      const paged = pagedList(ctx, {
        pager,
        list: grid,
        noun: 'photos',
        renderItem: (photo) => gridItem(ctx, photo),
        empty: () => h('div', { class: 'empty-state' }, h('div', { class: 'empty-icon' }, icon('image')), h('p', { class: 'muted' }, 'No photos yet.')),
      });
      disposeGrid = paged.dispose;
      replace(gridSlot, paged.element);
    } catch (error) {
      if (disposed) return;
      header.setAttribute('aria-busy', 'false');
      const notFound = error instanceof ApiError && error.status === 404;
      replace(
        header,
        h(
          'div',
          { class: 'empty-state', role: 'alert' },
          h('h2', {}, notFound ? `There is no one called @${username}` : 'This profile could not be loaded'),
          h('p', { class: 'muted' }, notFound ? 'Check the spelling and try again.' : ctx.explain(error)),
          h('a', { href: routeHref({ name: 'feed' }), class: 'button secondary' }, 'Back to your feed'),
        ),
      );
    }
  })();

  return {
    element,
    title: `@${username}`,
    dispose: () => {
      disposed = true;
      disposeGrid?.();
    },
  };
}

function count(n: number, singular: string, plural: string, className: string): HTMLElement {
  return h('li', { class: className }, h('strong', { class: 'count-value' }, compactCount(n)), ' ', h('span', { class: 'muted' }, n === 1 ? singular : plural));
}

function gridItem(ctx: AppContext, photo: Photo): HTMLElement {
  const label = photo.caption ? photo.caption : `Photo from ${new Date(photo.createdAt).toLocaleDateString()}`;
  return h(
    'li',
    {},
    h(
      'a',
      { href: routeHref({ name: 'photo', id: String(photo.id) }), class: 'grid-link', 'data-photo-id': photo.id },
      h('img', { src: resolveImageUrl(photo.thumbnailUrl ?? photo.imageUrl, ctx.config), alt: label, loading: 'lazy', decoding: 'async' }),
      h('span', { class: 'grid-likes', 'aria-hidden': 'true' }, icon('heart'), compactCount(photo.likes)),
    ),
  );
}

function followButton(ctx: AppContext, user: User, onChange: (delta: number) => void): HTMLButtonElement {
  let following = user.followedByMe === true;
  const button = h('button', { type: 'button', class: 'button follow-button' });
  const paint = (): void => {
    button.textContent = following ? 'Unfollow' : 'Follow';
    button.className = `button follow-button ${following ? 'secondary' : 'primary'}`;
    button.setAttribute('aria-label', `${following ? 'Unfollow' : 'Follow'} @${user.username}`);
  };
  button.addEventListener('click', () => {
    void (async () => {
      const wasFollowing = following;
      const done = busy(button, wasFollowing ? 'Unfollowing…' : 'Following…');
      try {
        if (wasFollowing) await ctx.api.unfollow(user.username);
        else await ctx.api.follow(user.username);
        following = !wasFollowing;
        onChange(following ? 1 : -1);
        ctx.notify(following ? `You now follow @${user.username}.` : `You no longer follow @${user.username}.`);
      } catch (error) {
        ctx.notify(`Could not ${wasFollowing ? 'unfollow' : 'follow'} @${user.username}: ${ctx.explain(error)}`, 'error');
      } finally {
        done();
        paint();
      }
    })();
  });
  paint();
  return button;
}

function editProfile(ctx: AppContext, user: User, header: HTMLElement, showUser: (user: User) => void): void {
  const displayName = field({ name: 'displayName', label: 'Display name', attrs: { value: user.displayName, maxlength: 50, autocomplete: 'name' } });
  const bio = field({ name: 'bio', label: 'Bio', multiline: true, attrs: { rows: 3, maxlength: 300 } });
  bio.input.value = user.bio;
  const alert = formAlert();
  const save = h('button', { type: 'submit', class: 'button primary' }, 'Save');
  const form = h(
    'form',
    {
      class: 'edit-profile',
      novalidate: true,
      'aria-label': 'Edit profile',
      onsubmit: (event) => {
        event.preventDefault();
        const nameProblem = checkDisplayName(displayName.input.value.trim());
        const bioProblem = checkBio(bio.input.value.trim());
        displayName.setError(nameProblem);
        bio.setError(bioProblem);
        if (nameProblem || bioProblem) return;
        const done = busy(save, 'Saving…');
        void ctx.api
          .updateMe({ displayName: displayName.input.value.trim(), bio: bio.input.value.trim() })
          .then((updated) => {
            ctx.session.setUser(updated);
            ctx.notify('Profile saved.');
            showUser(updated);
          })
          .catch((error: unknown) => {
            done();
            alert.show(ctx.explain(error));
          });
      },
    },
    alert.element,
    displayName.element,
    bio.element,
    h('div', { class: 'form-row' }, save, h('button', { type: 'button', class: 'button secondary', onclick: () => showUser(user) }, 'Cancel')),
  );
  replace(header, form);
  displayName.input.focus();
}
