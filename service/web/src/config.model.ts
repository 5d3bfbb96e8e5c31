import type { WebConfig } from './types.model.js';

/** Turns the raw /config.json body into a WebConfig, resolving an empty API URL to the page's own origin. */
export function parseConfig(raw: unknown, pageOrigin: string): WebConfig {
  if (raw === null || typeof raw !== 'object') {
    throw new Error('config.json: expected a JSON object');
  }
  const record = raw as Record<string, unknown>;
  const api = optionalString(record, 'apiBaseURL');
  const cdn = optionalString(record, 'cdnBaseURL');
  return {
    apiBaseURL: trimSlash(api === '' ? pageOrigin : absolute(api, pageOrigin, 'apiBaseURL')),
    cdnBaseURL: cdn === '' ? '' : trimSlash(absolute(cdn, pageOrigin, 'cdnBaseURL')),
  };
}

/** Resolves an image URL from the API: absolute URLs stay, relative ones go under the CDN base (or the API). */
export function resolveImageUrl(imageUrl: string, config: WebConfig): string {
  return new URL(imageUrl, `${config.cdnBaseURL || config.apiBaseURL}/`).toString();
}

function optionalString(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new Error(`config.json: ${key} must be a string`);
  return value.trim();
}

function absolute(value: string, base: string, key: string): string {
  try {
    return new URL(value, base).toString();
  } catch (cause) {
    throw new Error(`config.json: ${key} is not a URL: ${value}`, { cause });
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
