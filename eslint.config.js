// Lint rules, including the ones that keep the layers honest (see README "Layout").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = ['pg', 'ioredis', 'node:fs', 'node:fs/promises', 'fs', 'fs/promises', '@aws-sdk/*', 'node:net', 'node:http'];

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
    // render/ is pure: spec in, objects out. Types only from the client library; no I/O, clock or environment.
    files: ['operator/render/**/*.ts'],
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
  {
    // In the service only repositories (and the storage drivers) do I/O.
    files: ['service/**/*.ts'],
    ignores: ['service/**/*.repository.ts', 'service/**/storage/**', 'service/db/**', 'service/main.ts', 'service/config.ts', 'service/**/*.infra.ts', 'service/web/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ioModules, allowTypeImports: true, message: 'only repositories do I/O' }] },
      ],
    },
  },
);
