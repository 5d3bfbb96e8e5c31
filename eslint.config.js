// Lint rules, including the ones that keep the layers honest (see README "Layout").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = ['pg', 'ioredis', 'node:fs', 'node:fs/promises', 'fs', 'fs/promises', '@aws-sdk/*', 'node:net', 'node:http'];
const io = { group: ioModules, allowTypeImports: true, message: 'only repositories and the storage, db and cache drivers do I/O' };
const composition = { group: ['**/app/**'], message: 'only main.ts imports the composition root (app/)' };
const http = { group: ['**/http/**', 'koa', '@koa/*'], message: 'the domain and the drivers never import the HTTP layer' };
const domains = ['**/users/**', '**/photos/**', '**/origin/**', '**/webmode/**'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'service/web/dist/**', 'charts/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // chai assertions such as `expect(x).to.be.empty` are expressions.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    // render/ is pure: spec in, objects out (and diagram/, which draws them). Types only from the client library; no I/O, clock or environment.
    files: ['operator/render/**/*.ts', 'operator/diagram/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@kubernetes/client-node'], allowTypeImports: true, message: 'render/ may import types only' },
            { group: ['**/kube/**', '**/reconcile/**', 'node:*', 'fs', 'http', 'https', 'net'], message: 'render/ is pure: no I/O' },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'Date', 'setTimeout', 'setInterval', 'fetch'],
    },
  },
  // The service's layers (docs/service.md): app/ wires; routes → services → repositories and drivers; imports run downward.
  // Later blocks replace the rule for their files, so each lists everything its files may not import.
  serviceLayer('service/**/*.ts', ['service/**/*.repository.ts', 'service/storage/**', 'service/db/**', 'service/cache/**', 'service/app/**', 'service/main.ts', 'service/config.ts', 'service/**/*.infra.ts', 'service/web/**'], [io, composition]),
  serviceLayer('service/http/**/*.ts', [], [io, composition, { group: domains, message: 'http/ is plumbing: it knows no domain (take what it needs as a parameter)' }]),
  serviceLayer('service/{users,photos}/**/*.ts', ['service/**/*.routes.ts', 'service/**/*.repository.ts'], [io, composition, http]),
  serviceLayer('service/**/*.routes.ts', [], [io, composition, { group: ['**/*.repository.js', '**/db/**', '**/cache/**', '**/storage/*.storage.js'], message: 'routes call services; only services reach repositories and drivers' }]),
  serviceLayer('service/**/*.repository.ts', ['service/cache/**'], [composition, http]),
  serviceLayer('service/{storage,db}/**/*.ts', [], [composition, http, { group: domains, message: 'drivers know no domain' }]),
  // The profile cache stores the users domain's Profile, so it may name that type.
  serviceLayer('service/cache/**/*.ts', [], [composition, http, { group: domains, allowTypeImports: true, message: 'drivers know no domain (types only)' }]),
);

/** A no-restricted-imports rule for the service files `files` (minus `ignores`) with the given patterns. */
function serviceLayer(files, ignores, patterns) {
  return { files: [files], ignores, rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] } };
}
