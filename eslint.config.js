// Flat ESLint config: typescript-eslint's type-aware recommended rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A call of a pino log method: logger.error(...), this.s.logger.warn(...), log.info(...). */
const LOG_CALL = "CallExpression[callee.type='MemberExpression'][callee.property.name=/^(trace|debug|info|warn|error|fatal)$/]";

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.cache/**', 'hack/tools/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      // Log an error as the Error itself under `err` (src/cli/logger.ts): pino then writes its type,
      // message and stack. A message, a stack string or a hand-built object loses them.
      'no-restricted-syntax': [
        'error',
        {
          selector: `${LOG_CALL} > ObjectExpression > Property[key.name='err'][value.type!='Identifier'][value.type!='TSAsExpression']`,
          message: 'Log the caught Error itself: { err } or { err: e }, not its message, stack or a new object (pino serializes type, message and stack).',
        },
        {
          selector: `${LOG_CALL} > ObjectExpression > Property[key.name='error']`,
          message: "Log errors under `err`, the key pino's error serializer reads.",
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
);
