// Hash routes, so the web mode can serve plain static files without a fallback rule.

/** One screen of the app. */
export type Route =
  | { name: 'feed' }
  | { name: 'login'; next?: string }
  | { name: 'signup'; next?: string }
  | { name: 'upload' }
  | { name: 'profile'; username: string }
  | { name: 'photo'; id: string }
  | { name: 'notFound'; path: string };

/** Reads a location hash ("#/u/alice") as a Route. */
export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [pathPart = '', query = ''] = raw.split('?', 2);
  const path = pathPart === '' ? '/' : pathPart;
  const params = new URLSearchParams(query);
  const segments = path.split('/').filter((s) => s !== '').map(safeDecode);
  const [first, second] = segments;
  const next = params.get('next') ?? undefined;
  if (segments.length === 0) return { name: 'feed' };
  if (segments.length === 1 && first === 'login') return next ? { name: 'login', next } : { name: 'login' };
  if (segments.length === 1 && first === 'signup') return next ? { name: 'signup', next } : { name: 'signup' };
  if (segments.length === 1 && first === 'upload') return { name: 'upload' };
  if (segments.length === 2 && first === 'u' && second) return { name: 'profile', username: second };
  if (segments.length === 2 && first === 'p' && second) return { name: 'photo', id: second };
  return { name: 'notFound', path };
}

/** Writes a Route as a hash ("#/u/alice"), the inverse of parseRoute. */
export function routeHref(route: Route): string {
  switch (route.name) {
    case 'feed':
      return '#/';
    case 'login':
    case 'signup':
      return route.next ? `#/${route.name}?next=${encodeURIComponent(route.next)}` : `#/${route.name}`;
    case 'upload':
      return '#/upload';
    case 'profile':
      return `#/u/${encodeURIComponent(route.username)}`;
    case 'photo':
      return `#/p/${encodeURIComponent(route.id)}`;
    case 'notFound':
      return `#${route.path}`;
  }
}

/** Says whether a screen needs a logged-in person. */
export function needsSession(route: Route): boolean {
  return route.name === 'feed' || route.name === 'upload';
}

/** Keeps a post-login target only when it is one of our own hash routes (no open redirects). */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('#/') || next.startsWith('#//')) return '#/';
  const route = parseRoute(next);
  return route.name === 'login' || route.name === 'signup' || route.name === 'notFound' ? '#/' : next;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
