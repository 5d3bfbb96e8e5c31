import { ApiError, parseApiError } from './api-error.model.js';
import type { UploadTicket } from './types.model.js';

/** A request ready for XMLHttpRequest: absolute URL, method and the headers a browser may set. */
export interface UploadRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

/** Headers a browser refuses to let a page set; the API may list them (Content-Length) but they are sent anyway. */
const forbiddenHeaders = new Set(['content-length', 'host', 'connection', 'expect', 'accept-encoding', 'origin', 'referer']);

/**
 * Turns an upload ticket into the request to send. A relative URL (volume storage) is on the API and
 * gets the bearer token; a URL elsewhere (a presigned S3 URL) never does, so the token does not leak.
 */
export function uploadRequest(ticket: UploadTicket, apiBaseURL: string, token: string | null): UploadRequest {
  const url = new URL(ticket.url, `${apiBaseURL}/`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(ticket.headers ?? {})) {
    if (!forbiddenHeaders.has(name.toLowerCase())) headers[name] = String(value);
  }
  const onApi = url.origin === new URL(apiBaseURL).origin;
  const hasAuth = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  if (onApi && token && !hasAuth) headers.Authorization = `Bearer ${token}`;
  return { method: (ticket.method || 'PUT').toUpperCase(), url: url.toString(), headers };
}

/** Rounds upload progress to a whole percent, clamped to 0-100. */
export function progressPercent(loaded: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.max(0, Math.min(100, Math.floor((loaded / total) * 100)));
}

/** Reads an error answer from storage: the API's JSON error, or S3's XML `<Code>`/`<Message>`. */
export function storageError(status: number, body: string): ApiError {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) {
    try {
      return parseApiError(status, JSON.parse(trimmed));
    } catch {
      // not JSON after all: fall through
    }
  }
  const code = /<Code>([^<]*)<\/Code>/.exec(trimmed)?.[1];
  const detail = code ? ` (${code})` : '';
  return new ApiError(`The photo could not be stored${detail}. Please try again.`, status, code ? `storage_${code}` : 'storage_failed');
}

/** Sends the bytes with XMLHttpRequest so that upload progress is observable; abort with the signal. */
export function sendWithProgress(
  request: UploadRequest,
  body: Blob,
  onProgress: (percent: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(request.method, request.url);
    for (const [name, value] of Object.entries(request.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(progressPercent(event.loaded, event.total));
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100);
        resolve();
      } else {
        reject(storageError(xhr.status, xhr.responseText));
      }
    });
    xhr.addEventListener('error', () => {
      const cause = new Error(`upload to ${new URL(request.url).origin} failed`);
      reject(new ApiError('The upload was interrupted. Check your connection and try again.', 0, 'upload_interrupted', undefined, undefined, { cause }));
    });
    xhr.addEventListener('abort', () => reject(new ApiError('Upload cancelled.', 0, 'aborted')));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}
