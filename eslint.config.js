import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The domain modules of src/: each reached from outside only through its index.ts. */
export const DOMAIN_MODULES = [
  'ledger',
  'sellers',
  'payins',
  'payouts',
  'reconciliation',
  'risk',
  'psp',
  'apikeys',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.bursar/', 'bench/results/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-globals': [
        'error',
        { name: 'parseFloat', message: 'Floats never touch money: use src/money.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Number', property: 'parseFloat', message: 'Floats never touch money: use src/money.' },
      ],
    },
  },

  // A module is reached only through its index.ts (docs/architecture.md): code outside a domain module may import
  // `<module>/index.ts`, never its inner files. Inside a module, relative imports of its own files are free.
  {
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(?:\\./|(?:\\.\\./)+)(?:src/)?(?:${DOMAIN_MODULES.join('|')})/(?!index\\.ts$).+`,
              message:
                "Import another module only through its index.ts (docs/architecture.md): add what you need to that module's public surface.",
            },
          ],
        },
      ],
    },
  },
);
