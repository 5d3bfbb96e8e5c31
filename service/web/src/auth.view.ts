import { ApiError } from './api-error.model.js';
import type { AppContext, Screen } from './context.model.js';
import { h } from './dom.view.js';
import { busy, field, formAlert, type Field } from './form.view.js';
import { routeHref, safeNext } from './route.model.js';
import { checkDisplayName, checkNewPassword, checkRequired, checkUsername, type FieldError } from './validation.model.js';

/** The log-in screen, or the sign-up screen when mode is 'signup'. */
export function authScreen(ctx: AppContext, mode: 'login' | 'signup', next?: string): Screen {
  const signup = mode === 'signup';
  const username = field({
    name: 'username',
    label: 'Username',
    hint: signup ? '3 to 30 characters: lowercase letters, digits and _.' : undefined,
    attrs: { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true, maxlength: 30 },
  });
  const displayName = signup
    ? field({ name: 'displayName', label: 'Display name (optional)', hint: 'How your name appears to others.', attrs: { autocomplete: 'name', maxlength: 50 } })
    : null;
  const password = field({
    name: 'password',
    label: 'Password',
    hint: signup ? 'At least 8 characters.' : undefined,
    attrs: { type: 'password', autocomplete: signup ? 'new-password' : 'current-password', required: true },
  });
  const alert = formAlert();
  const submit = h('button', { type: 'submit', class: 'button primary block' }, signup ? 'Create account' : 'Log in');
  const fields: Record<string, Field> = { username, password, ...(displayName ? { displayName } : {}) };

  const checks: Array<[Field, () => FieldError]> = signup
    ? [
        [username, () => checkUsername(username.input.value.trim())],
        [displayName!, () => checkDisplayName(displayName!.input.value.trim())],
        [password, () => checkNewPassword(password.input.value)],
      ]
    : [
        [username, () => checkRequired(username.input.value.trim(), 'username')],
        [password, () => checkRequired(password.input.value, 'password')],
      ];

  async function onSubmit(event: Event): Promise<void> {
    event.preventDefault();
    alert.show(null);
    let firstBad: Field | null = null;
    for (const [f, check] of checks) {
      const problem = check();
      f.setError(problem);
      if (problem && !firstBad) firstBad = f;
    }
    if (firstBad) {
      firstBad.input.focus();
      return;
    }
    const done = busy(submit, signup ? 'Creating account…' : 'Logging in…');
    try {
      const credentials = { username: username.input.value.trim(), password: password.input.value };
      const name = displayName?.input.value.trim();
      const session = signup ? await ctx.api.signUp(name ? { ...credentials, displayName: name } : credentials) : await ctx.api.logIn(credentials);
      ctx.session.start(session.token, session.user);
      ctx.notify(signup ? `Welcome to Graminsta, ${session.user.displayName || session.user.username}!` : `Welcome back, ${session.user.displayName || session.user.username}.`);
      ctx.navigate(safeNext(next));
    } catch (error) {
      const target = error instanceof ApiError && error.field ? fields[error.field] : undefined;
      if (target) {
        target.setError(ctx.explain(error));
        target.input.focus();
      } else {
        alert.show(loginMessage(error, ctx));
      }
    } finally {
      done();
    }
  }

  const other = signup
    ? h('p', { class: 'auth-switch' }, 'Already have an account? ', h('a', { href: routeHref(next ? { name: 'login', next } : { name: 'login' }) }, 'Log in'))
    : h('p', { class: 'auth-switch' }, 'New to Graminsta? ', h('a', { href: routeHref(next ? { name: 'signup', next } : { name: 'signup' }) }, 'Create an account'));

  const element = h(
    'section',
    { class: 'page auth-page', 'aria-labelledby': 'auth-title' },
    h(
      'div',
      { class: 'auth-card' },
      h('p', { class: 'brand-mark', 'aria-hidden': 'true' }, 'Graminsta'),
      h('h1', { id: 'auth-title' }, signup ? 'Create your account' : 'Log in'),
      h('p', { class: 'muted' }, signup ? 'Share photos with the people you follow.' : 'See what the people you follow have shared.'),
      h('form', { novalidate: true, onsubmit: (e) => void onSubmit(e) }, alert.element, username.element, displayName?.element, password.element, submit),
      other,
    ),
  );
  return { element, title: signup ? 'Sign up' : 'Log in' };
}

function loginMessage(error: unknown, ctx: AppContext): string {
  if (error instanceof ApiError && error.status === 401) return 'That username and password do not match. Please try again.';
  return ctx.explain(error);
}
