// @ts-check
import { readdirSync } from 'node:fs';
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Module seams. A feature is a top-level folder of src/; no feature imports another feature's
 * entities (its tables belong to it: ask its services) or the code of its worker/ folder (what
 * runs in another process: use the feature's public files). Relative imports only, so the
 * source's leading ../ steps reach src/ and the next folder names the feature.
 */
const FEATURES = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

const INTERNALS = '(entities|worker)(/|$)';

/** @param {string} regex @param {string} owner */
function internalsOfOthers(regex, owner) {
  return {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex,
            message:
              `${owner} may not import another feature's entities or worker internals: use the services, ` +
              'read models and public files that feature exports (DEVELOPERS.md, Module seams).',
          },
        ],
      },
    ],
  };
}

const featureSeams = [
  {
    files: ['src/*.ts'],
    rules: internalsOfOthers(`^\\./[\\w-]+/${INTERNALS}`, 'The application root'),
  },
  ...FEATURES.map((feature) => ({
    files: [`src/${feature}/**/*.ts`],
    rules: internalsOfOthers(`^(\\.\\./)+(?!${feature}/)[\\w-]+/${INTERNALS}`, `src/${feature}`),
  })),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', 'test/.generated/**', '.tmp/**', 'web/.next/**', 'web/out/**', 'web/next-env.d.ts'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // Type-aware rules: a promise nobody awaits loses its rejection (an unhandled rejection ends
    // the process) and its ordering. A deliberate fire-and-forget is written `void x; // why`.
    files: ['**/*.ts', '**/*.mjs'],
    languageOptions: {
      parserOptions: {
        // The .mjs files (this one, scripts/*.mjs) are in no tsconfig: typed by TypeScript's defaults.
        projectService: { allowDefaultProject: ['*.mjs', 'scripts/*.mjs', 'web/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test collects top-level describe/it/test itself and reports their failures.
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test'] }],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      'require-await': 'off',
      '@typescript-eslint/require-await': 'error',
    },
  },
  {
    // The dashboard runs in the browser (Next.js static export served at /ui).
    files: ['web/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['scripts/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  ...featureSeams,
);
