// The OpenAPI 3.1 document served at /openapi.json; a test checks that it lists exactly the routes the API serves.
import { limits, usernamePattern } from '../limits.js';

const { password: P, displayName: D, bio: B, caption: C } = limits;

const err = { $ref: '#/components/responses/Error' };
const errorBody = { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message', 'requestId'], properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' }, requestId: { type: 'string' } } } } };
const auth = [{ bearer: [] }];
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const page = { type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref('Photo') }, nextCursor: { type: ['string', 'null'] } } };
const pageParams = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
  { name: 'cursor', in: 'query', schema: { type: 'string' } },
];
const username = { name: 'username', in: 'path', required: true, schema: { type: 'string', pattern: usernamePattern } };
const photoId = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
const userAndToken = json({ type: 'object', required: ['user', 'token'], properties: { user: ref('User'), token: { type: 'string' } } });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), err]));
const rateHeaders = { 'RateLimit-Policy': { description: 'the limits that apply (draft-ietf-httpapi-ratelimit-headers-08)', schema: { type: 'string' } }, RateLimit: { description: 'what is left of each limit and the seconds until it resets', schema: { type: 'string' } } };
const limited = { '429': { description: 'a rate limit is exhausted (code rate_limited), or on upload slots too many open ones (code too_many_open_uploads)', headers: { ...rateHeaders, 'Retry-After': { description: 'seconds until the exhausted limit resets', schema: { type: 'integer' } } }, ...json(errorBody) } };

/** The OpenAPI document of the /api/v1 routes. */
export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'Graminsta API', version: '1.0.0', description: 'See docs/api.md. Errors: {"error": {"code", "message", "field"?, "requestId"}}.' },
  paths: {
    '/api/v1/users': {
      post: {
        operationId: 'signUp',
        requestBody: json({ type: 'object', required: ['username', 'password'], additionalProperties: false, properties: { username: { type: 'string', pattern: usernamePattern }, password: { type: 'string', minLength: P.min, maxLength: P.max }, displayName: { type: 'string', minLength: D.min, maxLength: D.max } } }),
        responses: { '201': { description: 'created', ...userAndToken }, ...errors(400, 409, 503), ...limited },
      },
    },
    '/api/v1/sessions': {
      post: {
        operationId: 'logIn',
        requestBody: json({ type: 'object', required: ['username', 'password'], additionalProperties: false, properties: { username: { type: 'string' }, password: { type: 'string' } } }),
        responses: { '201': { description: 'logged in', ...userAndToken }, ...errors(400, 401, 503), ...limited },
      },
    },
    '/api/v1/sessions/current': { delete: { operationId: 'logOut', security: auth, responses: { '204': { description: 'token revoked' }, ...errors(401, 503) } } },
    '/api/v1/me': {
      get: { operationId: 'getMe', security: auth, responses: { '200': { description: 'the caller', ...json({ type: 'object', properties: { user: ref('User') } }) }, ...errors(401) } },
      patch: {
        operationId: 'updateMe',
        security: auth,
        requestBody: json({ type: 'object', additionalProperties: false, properties: { displayName: { type: 'string', minLength: D.min, maxLength: D.max }, bio: { type: 'string', maxLength: B.max } } }),
        responses: { '200': { description: 'updated', ...json({ type: 'object', properties: { user: ref('User') } }) }, ...errors(400, 401, 503) },
      },
    },
    '/api/v1/users/{username}': {
      get: {
        operationId: 'getUser',
        parameters: [username, { name: 'If-None-Match', in: 'header', required: false, description: 'an ETag from an earlier answer: 304 while the profile is unchanged', schema: { type: 'string' } }],
        responses: {
          '200': { description: 'profile (with a strong ETag of the body)', headers: { ETag: { description: 'SHA-1 of the body', schema: { type: 'string' } } }, ...json({ type: 'object', properties: { user: ref('User') } }) },
          '304': { description: 'not modified: If-None-Match names the current ETag' },
          ...errors(400, 404),
        },
      },
    },
    '/api/v1/users/{username}/follow': {
      put: { operationId: 'follow', security: auth, parameters: [username], responses: { '204': { description: 'following' }, ...errors(401, 404, 422, 503) } },
      delete: { operationId: 'unfollow', security: auth, parameters: [username], responses: { '204': { description: 'not following' }, ...errors(401, 404, 503) } },
    },
    '/api/v1/users/{username}/photos': {
      get: { operationId: 'listUserPhotos', parameters: [username, ...pageParams], responses: { '200': { description: 'page of photos', ...json(page) }, ...errors(400, 404) } },
    },
    '/api/v1/uploads': {
      post: {
        operationId: 'createUpload',
        security: auth,
        requestBody: json({ type: 'object', required: ['contentType', 'size'], additionalProperties: false, properties: { contentType: { enum: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'] }, size: { type: 'integer', minimum: 1 } } }),
        responses: {
          '201': { description: 'where to PUT the bytes', ...json({ type: 'object', required: ['uploadId', 'method', 'url', 'headers'], properties: { uploadId: { type: 'string' }, method: { const: 'PUT' }, url: { type: 'string' }, headers: { type: 'object', additionalProperties: { type: 'string' } } } }) },
          ...errors(400, 401, 413, 415, 503),
          ...limited,
        },
      },
    },
    '/api/v1/uploads/{uploadId}/content': {
      put: {
        operationId: 'putUploadContent',
        security: auth,
        parameters: [{ name: 'uploadId', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { content: { 'image/*': { schema: { type: 'string', contentEncoding: 'binary' } } } },
        responses: { '204': { description: 'stored' }, ...errors(400, 401, 404, 409, 410, 413, 415, 503) },
      },
    },
    '/api/v1/photos': {
      post: {
        operationId: 'createPhoto',
        security: auth,
        requestBody: json({ type: 'object', required: ['uploadId'], additionalProperties: false, properties: { uploadId: { type: 'string' }, caption: { type: 'string', maxLength: C.max } } }),
        responses: { '201': { description: 'created', ...json({ type: 'object', properties: { photo: ref('Photo') } }) }, ...errors(400, 401, 404, 409, 410, 413, 415, 503) },
      },
    },
    '/api/v1/photos/{id}': {
      get: { operationId: 'getPhoto', parameters: [photoId], responses: { '200': { description: 'photo', ...json({ type: 'object', properties: { photo: ref('Photo') } }) }, ...errors(400, 404) } },
      delete: { operationId: 'deletePhoto', security: auth, parameters: [photoId], responses: { '204': { description: 'deleted' }, ...errors(400, 401, 403, 404, 503) } },
    },
    '/api/v1/photos/{id}/like': {
      put: { operationId: 'like', security: auth, parameters: [photoId], responses: { '204': { description: 'liked' }, ...errors(400, 401, 404, 503) } },
      delete: { operationId: 'unlike', security: auth, parameters: [photoId], responses: { '204': { description: 'not liked' }, ...errors(400, 401, 404, 503) } },
    },
    '/api/v1/feed': {
      get: { operationId: 'feed', security: auth, parameters: pageParams, responses: { '200': { description: 'page of photos', ...json(page) }, ...errors(400, 401) } },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    responses: {
      Error: {
        description: 'an error',
        ...json(errorBody),
      },
    },
    schemas: {
      User: {
        type: 'object',
        required: ['id', 'username', 'displayName', 'bio', 'followers', 'following', 'photos', 'createdAt'],
        properties: { id: { type: 'integer' }, username: { type: 'string' }, displayName: { type: 'string' }, bio: { type: 'string' }, followers: { type: 'integer' }, following: { type: 'integer' }, photos: { type: 'integer' }, createdAt: { type: 'string', format: 'date-time' }, followedByMe: { type: 'boolean' } },
      },
      Photo: {
        type: 'object',
        required: ['id', 'author', 'caption', 'imageUrl', 'likes', 'createdAt'],
        properties: {
          id: { type: 'integer' },
          author: { type: 'object', properties: { id: { type: 'integer' }, username: { type: 'string' }, displayName: { type: 'string' } } },
          caption: { type: 'string' },
          imageUrl: { type: 'string' },
          thumbnailUrl: { type: 'string' },
          width: { type: 'integer' },
          height: { type: 'integer' },
          likes: { type: 'integer' },
          likedByMe: { type: 'boolean' },
          createdAt: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
} as const;
