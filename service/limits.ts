// The API's input limits, read by the route validation, the OpenAPI document and the web client's form checks,
// so the three cannot drift apart. Pure constants: the web client bundles this file.

/** Lengths (in characters) the API accepts for each text field. */
export const limits = {
  username: { min: 3, max: 30 },
  password: { min: 8, max: 200 },
  displayName: { min: 1, max: 50 },
  bio: { max: 300 },
  caption: { max: 2000 },
} as const;

/** Length in characters as the limits count them: Unicode code points (as JSON Schema's minLength/maxLength do), not UTF-16 units, so an emoji is one. */
export function charLength(s: string): number {
  return Array.from(s).length;
}

/** The pattern a username matches: lowercase letters, digits and _. */
export const usernamePattern = `^[a-z0-9_]{${limits.username.min},${limits.username.max}}$`;

/** The largest image the API accepts unless GRAMINSTA_MAX_UPLOAD_BYTES says otherwise (10 MiB); the operator sizes the ingress body limit from it. */
export const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
