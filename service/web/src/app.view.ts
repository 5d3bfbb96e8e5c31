import { ApiError, describeError } from './api-error.model.js';
import type { ApiClient } from './api.client.js';
import { authScreen } from './auth.view.js';
import type { AppContext, Screen } from './context.model.js';
import { h, icon, replace } from './dom.view.js';
import { feedScreen } from './feed.view.js';
import { notFoundScreen, photoScreen } from './photo.view.js';
import { profileScreen } from './profile.view.js';
import { needsSession, parseRoute, routeHref, type Route } from './route.model.js';
import type { SessionStore } from './session.store.js';
import type { WebConfig } from './types.model.js';
import { uploadScreen } from './upload.view.js';

/** Mounts the whole app into root: header and navigation, the routed screen, and the toast. */
export function mountApp(root: HTMLElement, deps: { api: ApiClient; config: WebConfig; session: SessionStore }): void {
  const nav = h('nav', { class: 'site-nav', 'aria-label': 'Main' });
  const main = h('main', { id: 'main', tabindex: -1 });
  const toast = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
  let toastTimer: number | undefined;
  let current: Screen | null = null;
  let firstRender = true;

  const ctx: AppContext = {
    ...deps,
    navigate(href) {
      if (location.hash === href) render();
      else location.hash = href;
    },
    notify(message, kind = 'info') {
      toast.textContent = message;
      toast.className = `toast is-visible toast-${kind}`;
      window.clearTimeout(toastTimer);
      toastTimer = window.setTimeout(() => toast.classList.remove('is-visible'), kind === 'error' ? 8000 : 4000);
    },
    explain(error) {
      if (error instanceof ApiError && error.status === 401 && error.code !== 'invalid_credentials' && deps.session.token) {
        deps.session.end();
        ctx.navigate(routeHref({ name: 'login', next: location.hash || '#/' }));
      }
      return describeError(error);
    },
    now: () => new Date(),
  };

  const screenFor = (route: Route): Screen => {
    switch (route.name) {
      case 'feed':
        return feedScreen(ctx);
      case 'login':
      case 'signup':
        return authScreen(ctx, route.name, route.next);
      case 'upload':
        return uploadScreen(ctx);
      case 'profile':
        return profileScreen(ctx, route.username);
      case 'photo':
        return photoScreen(ctx, route.id);
      case 'notFound':
        return notFoundScreen(route.path);
    }
  };

  function render(): void {
    const route = parseRoute(location.hash);
    if (needsSession(route) && !deps.session.token) {
      location.replace(routeHref({ name: 'login', next: location.hash || '#/' }));
      return;
    }
    if ((route.name === 'login' || route.name === 'signup') && deps.session.token) {
      location.replace('#/');
      return;
    }
    current?.dispose?.();
    current = screenFor(route);
    replace(main, current.element);
    document.title = `${current.title} · Graminsta`;
    paintNav(route);
    window.scrollTo(0, 0);
    // Move focus to the new screen so keyboard and screen-reader users start at its top (not on the first load).
    if (!firstRender) main.focus({ preventScroll: true });
    firstRender = false;
  }

  function paintNav(route: Route): void {
    const user = deps.session.user;
    const link = (href: string, label: string, iconName: Parameters<typeof icon>[0], active: boolean, extra: Record<string, string> = {}): HTMLElement =>
      h('a', { href, class: 'nav-link', 'aria-current': active ? 'page' : null, ...extra }, icon(iconName), h('span', { class: 'nav-label' }, label));
    if (deps.session.token) {
      const me = user?.username;
      replace(
        nav,
        h(
          'ul',
          { role: 'list' },
          h('li', {}, link('#/', 'Feed', 'home', route.name === 'feed')),
          h('li', {}, link(routeHref({ name: 'upload' }), 'New photo', 'plus', route.name === 'upload')),
          me ? h('li', {}, link(routeHref({ name: 'profile', username: me }), 'Profile', 'user', route.name === 'profile' && route.username === me)) : null,
          h('li', {}, h('button', { type: 'button', class: 'nav-link', onclick: () => void logOut() }, icon('logout'), h('span', { class: 'nav-label' }, 'Log out'))),
        ),
      );
    } else {
      replace(
        nav,
        h(
          'ul',
          { role: 'list', class: 'nav-guest' },
          h('li', {}, h('a', { href: routeHref({ name: 'login' }), class: 'button secondary small', 'aria-current': route.name === 'login' ? 'page' : null }, 'Log in')),
          h('li', {}, h('a', { href: routeHref({ name: 'signup' }), class: 'button primary small', 'aria-current': route.name === 'signup' ? 'page' : null }, 'Sign up')),
        ),
      );
    }
  }

  async function logOut(): Promise<void> {
    try {
      await deps.api.logOut();
    } catch {
      // The token is dropped locally either way; a revoke that failed expires on its own.
    }
    deps.session.end();
    ctx.notify('You are logged out.');
    ctx.navigate(routeHref({ name: 'login' }));
  }

  replace(
    root,
    h('a', { href: '#main', class: 'skip-link', onclick: (e) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
    h('header', { class: 'site-header' }, h('div', { class: 'header-inner' }, h('a', { href: '#/', class: 'brand' }, 'Graminsta'), nav)),
    main,
    toast,
  );
  deps.session.subscribe(() => paintNav(parseRoute(location.hash)));
  window.addEventListener('hashchange', render);
  render();
}
