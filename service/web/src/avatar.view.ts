import { h } from './dom.view.js';
import { avatarHue } from './format.model.js';

/** A round initial-letter avatar with a colour picked from the username (no avatar images in the API). */
export function avatar(username: string, displayName: string, size: 'sm' | 'lg'): HTMLElement {
  const initial = (displayName || username).trim().charAt(0).toUpperCase() || '?';
  const el = h('span', { class: `avatar avatar-${size}`, 'aria-hidden': 'true' }, initial);
  el.style.setProperty('--hue', String(avatarHue(username)));
  return el;
}
