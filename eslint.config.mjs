// ESLint (flat config): the recommended rules of ESLint and typescript-eslint, without type information (fast
// enough for every commit). `npm run lint`; CI runs it in .ci/extra.d/05-lint.sh.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'out/**', 'test/fixtures/**', 'weights/**', 'data/**', 'assets/**', 'docs/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        performance: 'readonly',
        queueMicrotask: 'readonly',
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    rules: {
      // Unused names are mistakes, except deliberate `_x` placeholders.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Optional backends (tfjs-node, wasm) and CLI commands are loaded on demand with require().
      '@typescript-eslint/no-require-imports': 'off',
      // Text cleaning (ftfy / CLIP's basic_clean) matches control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests: chai's property assertions (`expect(x).to.be.true`), hand-built edge-case strings and malformed inputs.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      'no-regex-spaces': 'off',
      'no-misleading-character-class': 'off',
    },
  },
  {
    // CommonJS launchers and scripts.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
