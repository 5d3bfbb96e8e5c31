const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** Says how long ago an ISO timestamp was ("3 minutes ago", "just now"), relative to `now`. */
export function timeAgo(iso: string, now: Date): string {
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return '';
  const seconds = Math.round((now.getTime() - then.getTime()) / 1000);
  if (Math.abs(seconds) < 45) return 'just now';
  const format = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(-Math.round(seconds / size), unit);
  }
  return format.format(-Math.round(seconds / 60), 'minute');
}

/** Shortens large counts the way people read them: 999, 1.2K, 34K, 5.6M. */
export function compactCount(n: number): string {
  return new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

/** Writes a count with its noun in the right number: "1 like", "12 likes", "1.2K followers". */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${compactCount(n)} ${n === 1 ? singular : plural}`;
}

/** Formats a byte size for people: "512 B", "1.5 MB". */
export function byteSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const kb = bytes / 1024;
  if (kb < 1024) return `${trimZero(kb)} KB`;
  return `${trimZero(kb / 1024)} MB`;
}

/** Picks a stable hue (0-359) from a username, for the initial-letter avatar. */
export function avatarHue(username: string): number {
  let hash = 0;
  for (const char of username) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return hash % 360;
}

function trimZero(n: number): string {
  return n.toFixed(1).replace(/\.0$/, '');
}
