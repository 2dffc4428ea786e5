// Lint rules; the workflow determinism bans are the ones that matter most (see ../shared/STYLE.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['fs', 'path', 'os', 'crypto', 'child_process', 'http', 'https', 'net', 'stream', 'worker_threads', 'timers', 'events', 'util', 'zlib', 'dns', 'url'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.mlcycle/**', 'coverage/**', 'bench/.work/**', 'bench/.venv/**', '**/*.mjs', '**/*.js', '**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Workflow code must be deterministic: no I/O, no clocks or randomness outside the SDK, no servers' libraries.
    files: ['workflows/**/*.ts'],
    ignores: ['**/*.spec.ts'], // tests of workflow code run in Node, not in the workflow sandbox
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.flatMap((m) => [m, `node:${m}`]).map((name) => ({ name, message: 'Node built-ins are not allowed in workflow code.' })),
            ...['@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'typeorm', 'minio', 'onnxruntime-node'].map((name) => ({
              name,
              message: 'Only @temporalio/workflow, libs/contracts and type-only imports of activities belong in workflow code.',
            })),
          ],
          patterns: [
            { group: ['@nestjs/*'], message: 'Nest is not allowed in workflow code.' },
            { group: ['**/activities/**'], allowTypeImports: true, message: 'Import activities with `import type` only.' },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use the SDK-provided deterministic random (uuid4 / Math.random is patched only inside the sandbox; be explicit).' },
        { object: 'Date', property: 'now', message: 'Use workflow time via `new Date()` inside the sandbox only when it is part of workflow logic.' },
      ],
      'no-restricted-globals': ['error', 'setInterval', 'fetch', 'process', 'require'],
    },
  },
);
