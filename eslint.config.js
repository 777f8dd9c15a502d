// ESLint flat config for the whole monorepo (`npm run lint` = prettier --check + eslint).
// typescript-eslint's non-type-checked `recommended`: type-aware linting costs minutes on a
// 2-core machine for little gain over `tsc -b`, which already runs in every test run.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import tsdoc from 'eslint-plugin-tsdoc';
import { defineConfig, globalIgnores } from 'eslint/config';

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '**/dist/',
    '**/coverage/',
    // Prisma clients are generated (`prisma generate`), not written by us.
    '**/generated/**',
    // A third-party project kept for the benchmark comparison, with its own style.
    'bench/peers/**',
    '**/*.d.ts',
    '**/.tenantry/',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: {
        // Node.js only: no browser code in this repository.
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        performance: 'readonly',
      },
    },
    plugins: { tsdoc },
    rules: {
      'tsdoc/syntax': 'error',
      // `let x; … () => x …; x = value` — a variable a closure reads but that can only be set after
      // the closure exists (a lookup wired before the object it looks up) is not a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `_`-prefixed names are deliberately unused: destructuring a field out (`{ pid: _, ...rest }`),
      // a parameter kept for the signature.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Knex migrations written as CommonJS (`exports.up = …`): `.cjs`, and `.js` in a folder whose
    // package.json says "type": "commonjs".
    files: ['**/*.cjs', 'examples/seed-004-knex-orgs/migrations/**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { exports: 'writable', module: 'writable', require: 'readonly', __dirname: 'readonly', __filename: 'readonly' },
    },
  },
  {
    // `any` stays banned from library, app, bench and example code (no `any` in public
    // signatures); tests use it on purpose for parsed JSON bodies and CLI output they probe
    // field by field, and for deliberately ill-typed calls.
    files: ['**/test/**/*.ts', '**/test-kit/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
