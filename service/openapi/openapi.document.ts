// The OpenAPI 3.1 document served at /openapi.json. Every status, header and constraint here is one the code has:
// the limits come from the same constants the validation reads, and a Schemathesis run against the live service
// (test/service/openapi/) fails on any answer the document does not describe.
import { limits, usernamePattern } from '../limits.js';
import { cursorPattern } from '../cursor.js';
import { textPattern } from '../http/validate.js';
import { codesOf } from '../http/middleware.js';

const { password: P, displayName: D, bio: B, caption: C } = limits;

/** What the document depends on that the deployment sets. */
export interface OpenApiOptions {
  /** The largest image an upload may declare (GRAMINSTA_MAX_UPLOAD_BYTES). */
  maxUploadBytes: number;
}

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const body = (schema: object) => ({ required: true, ...json(schema) });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const requestId = { 'X-Request-Id': { required: true, description: 'the request id (kept from a well-formed X-Request-Id of the request)', schema: str } };
const rateHeaders = {
  'RateLimit-Policy': { description: 'the limits that apply, when rate limits are on (draft-ietf-httpapi-ratelimit-headers-08)', schema: str },
  RateLimit: { description: 'what is left of each limit and the seconds until it resets, when rate limits are on', schema: str },
};

const WHY: Record<number, string> = {
  400: 'invalid input: the field names what is wrong (validation_failed), or the body is not JSON (malformed_json)',
  401: 'the bearer token is missing, malformed, forged, expired or revoked, or the credentials are wrong',
  403: 'not yours (forbidden), or following yourself (cannot_follow_self)',
  404: 'no such resource',
  409: 'conflicts with the current state',
  410: 'the upload expired',
  413: 'the body (JSON over 64 KiB, or image bytes over the declared size or the limit) is too large',
  415: 'not a supported image type, not an image, or not the declared type',
  429: 'a rate limit is exhausted (rate_limited), or on upload slots too many open ones (too_many_open_uploads)',
  503: 'the database is unavailable or the password-hash queue is full; retry after Retry-After',
};

/** The error answer of one status: the JSON error body with the codes that status carries. */
function errorResponse(status: number): object {
  const headers: Record<string, object> = { ...requestId };
  if (status === 401) headers['WWW-Authenticate'] = { required: true, schema: { const: 'Bearer' } };
  if (status === 503) headers['Retry-After'] = { required: true, description: 'seconds to wait before retrying', schema: { type: 'string', pattern: '^[0-9]+$' } };
  if (status === 429) Object.assign(headers, rateHeaders, { 'Retry-After': { description: 'seconds until the exhausted limit resets (rate_limited)', schema: { type: 'string', pattern: '^[0-9]+$' } } });
  return { description: WHY[status], headers, ...json(errorBody(codesOf(status))) };
}

function errorBody(codes: string[]): object {
  return {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: { error: { type: 'object', required: ['code', 'message', 'requestId'], additionalProperties: false, properties: { code: { enum: codes }, message: str, field: str, requestId: str } } },
  };
}

const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const ok = (description: string, schema?: object, headers: object = {}) => ({ description, headers: { ...requestId, ...headers }, ...(schema ? json(schema) : {}) });
// Every request that is not a GET passes the JSON body parser first: any of them can answer 400 (malformed JSON) or 413.
const write = [400, 413];

const bearer = [{ bearer: [] }];
// Public reads take a token to personalize the answer (likedByMe, followedByMe); a bad one is still a 401.
const optionalBearer = [{}, { bearer: [] }];
const userParam = { name: 'username', in: 'path', required: true, schema: { type: 'string', pattern: usernamePattern } };
const photoId = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } };
const uploadIdSchema = { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$', description: 'an uploadId returned by POST /api/v1/uploads' };
const pageParams = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
  { name: 'cursor', in: 'query', description: 'a nextCursor from the previous page; empty or absent: the first page', schema: { type: 'string', pattern: `^(?:${cursorPattern.slice(1, -1)})?$` } },
];
const userAndToken = { type: 'object', required: ['user', 'token'], additionalProperties: false, properties: { user: ref('User'), token: str } };
const wrapped = (key: string, name: string) => ({ type: 'object', required: [key], additionalProperties: false, properties: { [key]: ref(name) } });
const page = { type: 'object', required: ['items', 'nextCursor'], additionalProperties: false, properties: { items: { type: 'array', items: ref('Photo') }, nextCursor: { oneOf: [{ type: 'string', pattern: cursorPattern }, { type: 'null' }] } } };
const displayName = { type: 'string', minLength: D.min, maxLength: D.max, pattern: textPattern({ nonBlank: true }), description: 'stored trimmed' };
const password = { type: 'string', minLength: P.min, maxLength: P.max };

/** The OpenAPI document of the /api/v1 routes. */
export function buildOpenApiDocument(opts: OpenApiOptions) {
  return {
    openapi: '3.1.0',
    info: { title: 'Graminsta API', version: '1.0.0', description: 'See docs/api.md. Errors: {"error": {"code", "message", "field"?, "requestId"}}. Lengths count Unicode code points.' },
    paths: {
      '/api/v1/users': {
        post: {
          operationId: 'signUp',
          security: [],
          requestBody: body({ type: 'object', required: ['username', 'password'], additionalProperties: false, properties: { username: { type: 'string', pattern: usernamePattern }, password, displayName } }),
          responses: { '201': ok('created', userAndToken, rateHeaders), ...errors(...write, 409, 429, 503) },
        },
      },
      '/api/v1/sessions': {
        post: {
          operationId: 'logIn',
          security: [],
          requestBody: body({ type: 'object', required: ['username', 'password'], additionalProperties: false, properties: { username: { type: 'string', pattern: usernamePattern }, password } }),
          responses: { '201': ok('logged in', userAndToken, rateHeaders), ...errors(...write, 401, 429, 503) },
        },
      },
      '/api/v1/sessions/current': { delete: { operationId: 'logOut', security: bearer, responses: { '204': ok('token revoked'), ...errors(...write, 401, 503) } } },
      '/api/v1/me': {
        get: { operationId: 'getMe', security: bearer, responses: { '200': ok('the caller', wrapped('user', 'User')), ...errors(401, 404, 503) } },
        patch: {
          operationId: 'updateMe',
          security: bearer,
          requestBody: body({ type: 'object', additionalProperties: false, properties: { displayName, bio: { type: 'string', maxLength: B.max, pattern: textPattern({ multiline: true }), description: 'stored trimmed' } } }),
          responses: { '200': ok('updated', wrapped('user', 'User')), ...errors(...write, 401, 404, 503) },
        },
      },
      '/api/v1/users/{username}': {
        get: {
          operationId: 'getUser',
          security: optionalBearer,
          parameters: [userParam, { name: 'If-None-Match', in: 'header', required: false, description: 'an ETag from an earlier answer: 304 while the profile is unchanged', schema: str }],
          responses: {
            '200': ok('profile', wrapped('user', 'User'), { ETag: { required: true, description: 'strong ETag (SHA-1) of the body', schema: { type: 'string', pattern: '^"[A-Za-z0-9_-]{27}"$' } } }),
            '304': ok('not modified: If-None-Match names the current ETag', undefined, { ETag: { required: true, schema: { type: 'string', pattern: '^"[A-Za-z0-9_-]{27}"$' } } }),
            ...errors(400, 401, 404, 503),
          },
        },
      },
      '/api/v1/users/{username}/follow': {
        put: { operationId: 'follow', security: bearer, parameters: [userParam], responses: { '204': ok('following'), ...errors(...write, 401, 403, 404, 503) } },
        delete: { operationId: 'unfollow', security: bearer, parameters: [userParam], responses: { '204': ok('not following (yourself included)'), ...errors(...write, 401, 404, 503) } },
      },
      '/api/v1/users/{username}/photos': {
        get: { operationId: 'listUserPhotos', security: optionalBearer, parameters: [userParam, ...pageParams], responses: { '200': ok('page of photos, newest first', page), ...errors(400, 401, 404, 503) } },
      },
      '/api/v1/uploads': {
        post: {
          operationId: 'createUpload',
          security: bearer,
          requestBody: body({
            type: 'object',
            required: ['contentType', 'size'],
            additionalProperties: false,
            properties: { contentType: { type: 'string', enum: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'], description: 'another string: 415' }, size: { type: 'integer', minimum: 1, maximum: opts.maxUploadBytes } },
          }),
          responses: {
            '201': ok('where to PUT the bytes', { type: 'object', required: ['uploadId', 'method', 'url', 'headers'], additionalProperties: false, properties: { uploadId: uploadIdSchema, method: { const: 'PUT' }, url: str, headers: { type: 'object', additionalProperties: str } } }, rateHeaders),
            ...errors(...write, 401, 415, 429, 503),
          },
        },
      },
      '/api/v1/uploads/{uploadId}/content': {
        put: {
          operationId: 'putUploadContent',
          security: bearer,
          parameters: [{ name: 'uploadId', in: 'path', required: true, schema: uploadIdSchema }],
          requestBody: { required: true, description: 'the image bytes (volume storage; with S3 the presigned URL takes them); the type is read from the bytes', content: Object.fromEntries(['image/*', 'application/octet-stream'].map((t) => [t, { schema: { type: 'string', format: 'binary', minLength: 1, maxLength: opts.maxUploadBytes } }])) },
          responses: { '204': ok('stored'), ...errors(...write, 401, 404, 409, 410, 415, 503) },
        },
      },
      '/api/v1/photos': {
        post: {
          operationId: 'createPhoto',
          security: bearer,
          requestBody: body({ type: 'object', required: ['uploadId'], additionalProperties: false, properties: { uploadId: uploadIdSchema, caption: { type: 'string', maxLength: C.max, pattern: textPattern({ multiline: true }), description: 'stored trimmed' } } }),
          responses: { '201': ok('created', wrapped('photo', 'Photo')), ...errors(...write, 401, 404, 409, 410, 415, 503) },
        },
      },
      '/api/v1/photos/{id}': {
        get: { operationId: 'getPhoto', security: optionalBearer, parameters: [photoId], responses: { '200': ok('photo', wrapped('photo', 'Photo')), ...errors(400, 401, 404, 503) } },
        delete: { operationId: 'deletePhoto', security: bearer, parameters: [photoId], responses: { '204': ok('deleted'), ...errors(...write, 401, 403, 404, 503) } },
      },
      '/api/v1/photos/{id}/like': {
        put: { operationId: 'like', security: bearer, parameters: [photoId], responses: { '204': ok('liked'), ...errors(...write, 401, 404, 503) } },
        delete: { operationId: 'unlike', security: bearer, parameters: [photoId], responses: { '204': ok('not liked'), ...errors(...write, 401, 404, 503) } },
      },
      '/api/v1/feed': {
        get: { operationId: 'feed', security: bearer, parameters: pageParams, responses: { '200': ok('page of photos by the people you follow, newest first', page), ...errors(400, 401, 503) } },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the token from sign-up or log-in' } },
      responses: Object.fromEntries([400, 401, 403, 404, 409, 410, 413, 415, 429, 503].map((s) => [`E${s}`, errorResponse(s)])),
      schemas: {
        User: {
          type: 'object',
          required: ['id', 'username', 'displayName', 'bio', 'followers', 'following', 'photos', 'createdAt'],
          additionalProperties: false,
          properties: {
            id: { type: 'integer', minimum: 1 },
            username: { type: 'string', pattern: usernamePattern },
            displayName: str,
            bio: str,
            followers: { type: 'integer', minimum: 0 },
            following: { type: 'integer', minimum: 0 },
            photos: { type: 'integer', minimum: 0 },
            createdAt: { type: 'string', format: 'date-time' },
            followedByMe: { type: 'boolean', description: 'only for a caller with a token' },
          },
        },
        Photo: {
          type: 'object',
          required: ['id', 'author', 'caption', 'imageUrl', 'likes', 'createdAt'],
          additionalProperties: false,
          properties: {
            id: { type: 'integer', minimum: 1 },
            author: { type: 'object', required: ['id', 'username', 'displayName'], additionalProperties: false, properties: { id: { type: 'integer', minimum: 1 }, username: { type: 'string', pattern: usernamePattern }, displayName: str } },
            caption: str,
            imageUrl: str,
            width: { ...int, minimum: 1 },
            height: { ...int, minimum: 1 },
            likes: { type: 'integer', minimum: 0 },
            likedByMe: { type: 'boolean', description: 'only for a caller with a token' },
            createdAt: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
  };
}
