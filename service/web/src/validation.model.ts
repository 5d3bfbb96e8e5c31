import { byteSize } from './format.model.js';
import { charLength as chars, DEFAULT_MAX_UPLOAD_BYTES, limits } from '../../limits.js';

// Client-side checks with the API's own limits (service/limits.ts), so people hear about a mistake before a round trip.
// The API stays the authority: its validation_failed answers are shown the same way.

/** Image types the client offers to upload (the API validates the whole image as well). */
export const imageTypes = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;

/** The largest upload the client lets through before asking the API (the API's default limit). */
export const defaultMaxUploadBytes = DEFAULT_MAX_UPLOAD_BYTES;

/** The longest caption the form accepts: the API's limit. */
export const maxCaptionLength = limits.caption.max;

const { username: U, password: P, displayName: D, bio: B } = limits;

/** The result of one field check: null when fine, else a message meant for the person typing. */
export type FieldError = string | null;

/** Checks a username: 3-30 characters of a-z, 0-9 and _. */
export function checkUsername(value: string): FieldError {
  if (value.length === 0) return 'Choose a username.';
  if (value.length < U.min || value.length > U.max) return `Usernames are ${U.min} to ${U.max} characters long.`;
  if (!/^[a-z0-9_]+$/.test(value)) return 'Use only lowercase letters a-z, digits and _.';
  return null;
}

/** Checks a password for sign-up: at least 8 characters, at most 200. */
export function checkNewPassword(value: string): FieldError {
  if (value.length === 0) return 'Choose a password.';
  if (chars(value) < P.min) return `Passwords need at least ${P.min} characters.`;
  if (chars(value) > P.max) return `Passwords are at most ${P.max} characters long.`;
  return null;
}

/** Checks that a log-in field is not empty. */
export function checkRequired(value: string, what: string): FieldError {
  return value.length === 0 ? `Enter your ${what}.` : null;
}

/** Checks an optional display name: at most 50 characters. */
export function checkDisplayName(value: string): FieldError {
  return chars(value) > D.max ? `Display names are at most ${D.max} characters long.` : null;
}

/** Checks a bio: at most 300 characters. */
export function checkBio(value: string): FieldError {
  return chars(value) > B.max ? `Bios are at most ${B.max} characters long.` : null;
}

/** Checks a caption against the length limit. */
export function checkCaption(value: string): FieldError {
  return chars(value) > maxCaptionLength ? `Captions are at most ${maxCaptionLength} characters long.` : null;
}

/** Checks a chosen file before upload: an image of a supported type, not empty, not too large. */
export function checkImageFile(file: { name: string; type: string; size: number }, maxBytes = defaultMaxUploadBytes): FieldError {
  if (!(imageTypes as readonly string[]).includes(file.type)) {
    return `${file.name || 'This file'} is not a JPEG, PNG, WebP or GIF image.`;
  }
  if (file.size === 0) return `${file.name || 'This file'} is empty.`;
  if (file.size > maxBytes) {
    return `${file.name || 'This file'} is ${byteSize(file.size)}; the limit is ${byteSize(maxBytes)}.`;
  }
  return null;
}
