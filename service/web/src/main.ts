import { ApiClient } from './api.client.js';
import { mountApp } from './app.view.js';
import { ApiError } from './api-error.model.js';
import { parseConfig } from './config.model.js';
import { h, replace } from './dom.view.js';
import { SessionStore } from './session.store.js';

/** Starts the client: reads /config.json, restores the session, mounts the app. */
async function start(root: HTMLElement): Promise<void> {
  let config;
  try {
    const response = await fetch('/config.json', { cache: 'no-store' });
    if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
    config = parseConfig(await response.json(), location.origin);
  } catch (cause) {
    replace(
      root,
      h('main', { class: 'page fatal', role: 'alert' }, h('h1', {}, 'Graminsta could not start'), h('p', {}, 'The page could not read its configuration. Please reload in a moment.'), h('button', { type: 'button', class: 'button primary', onclick: () => location.reload() }, 'Reload')),
    );
    throw new Error('while loading /config.json', { cause });
  }
  if (config.cdnBaseURL) document.head.appendChild(h('link', { rel: 'preconnect', href: new URL(config.cdnBaseURL).origin }));

  const session = new SessionStore(window.localStorage);
  const api = new ApiClient({ baseURL: config.apiBaseURL, getToken: () => session.token });
  if (session.token) {
    try {
      session.setUser(await api.me());
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) session.end();
    }
  }
  mountApp(root, { api, config, session });
}

const root = document.getElementById('app');
if (root) void start(root).catch((error: unknown) => console.error(error));
