// Reads answered before Koa: a route that can answer from memory writes its JSON straight to the response, with the
// status line, headers, request metric and access-log line the Koa chain (cors, requestContext, jsonResponder) gives.
import type http from 'node:http';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { CORS_HEADERS } from './cors.js';
import { JSON_TYPE, type Serialized } from './json-response.js';
import { NOSNIFF, requestIdFor } from './middleware.js';

/** Answers `req` itself and returns true, or returns false without touching `res` (Koa answers). */
export type FastRead = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** Writes a 200 of `route` with the serialized JSON `s`. */
export type FastAnswer = (req: http.IncomingMessage, res: http.ServerResponse, route: string, s: Serialized) => void;

const BASE_HEADERS: readonly string[] = [...CORS_HEADERS.flat()];

/** The writer of fast 200 answers: headers in the order the Koa chain sets them, the same histogram and access log. */
export function fastJsonAnswer(log: Logger, metrics: Metrics): FastAnswer {
  const accessLog = log.enabled('info');
  return (req, res, route, s) => {
    const start = process.hrtime.bigint();
    const requestId = requestIdFor(req.headers['x-request-id'] as string | undefined);
    // One array: without headers set before it, writeHead stores them as they are (no per-header setHeader).
    res.writeHead(200, [...BASE_HEADERS, 'X-Request-Id', requestId, NOSNIFF[0], NOSNIFF[1], 'ETag', s.etag, 'Content-Type', JSON_TYPE, 'Content-Length', String(s.body.length)]);
    res.end(s.body);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    metrics.httpDuration.observe({ method: 'GET', route, status: '200' }, seconds);
    if (accessLog) log.child({ requestId }).info('request', { method: 'GET', path: req.url, route, status: 200, durationMs: Math.round(seconds * 1e6) / 1e3 });
  };
}
