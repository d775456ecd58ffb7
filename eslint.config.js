// Type-aware lint: an un-awaited promise in a daemon silently loses data, so the promise rules are errors.
// The boundary rules keep each module's room clear (DESIGN.md §7).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group, message })) }],
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/fixtures/**', '.demo/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/describe() return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Pure packages: no I/O, no environment.
    files: ['packages/schema/src/**/*.ts', 'packages/proxmox/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      ...restrict(
        [['node:fs', 'node:fs/*', 'fs', 'node:child_process', 'node:net', 'node:http', 'node:https']],
        'schema and proxmox are pure: no I/O here',
      ),
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'pure package' }],
    },
  },
  {
    // Only storage/ talks SQL.
    files: ['packages/api/src/**/*.ts'],
    ignores: ['packages/api/src/storage/**', '**/*.test.ts', 'packages/api/bench/**'],
    rules: {
      ...restrict([['kysely', 'better-sqlite3', 'pg']], 'SQL lives in api/src/storage only'),
    },
  },
  {
    // The environment is read only in main.ts / config.ts.
    files: ['packages/*/src/**/*.ts'],
    ignores: [
      '**/main.ts',
      '**/config.ts',
      '**/*.test.ts',
      '**/cli.ts',
      'packages/schema/**',
      'packages/proxmox/**',
    ],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'read the environment only in main.ts / config.ts' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'process',
          'console',
          'URL',
          'Buffer',
          'fetch',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
);
