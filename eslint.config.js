import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The domain modules of src/: each reached from outside only through its index.ts. */
export const DOMAIN_MODULES = [
  'ledger',
  'operators',
  'dashboard',
  'sellers',
  'payins',
  'payouts',
  'reconciliation',
  'risk',
  'psp',
  'apikeys',
  'disputes',
  'refunds',
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
  // The product never imports the sandbox PSP or the chaos harness (issue 10): sandbox/ and chaos/ are programs
  // beside src/ that may import the product's platform code, never the other way round; the launcher
  // (bin/bursar.mjs) hands the sandbox to `start`. This block uses typescript-eslint's copy of the rule, a rule
  // name of its own, so that the module-border block (core's `no-restricted-imports` on module inner files)
  // cannot override it: flat config replaces a rule's options per rule name, it does not merge them.
  // test/unit/import-rules.test.ts proves it fires.
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)(sandbox|chaos)(/|$)',
              message:
                'src/ never imports the sandbox or the chaos harness; the launcher (bin/bursar.mjs) wires the sandbox in.',
            },
          ],
        },
      ],
    },
  },
  {
    // Functions a reader can hold in their head (issue 10): none longer than about 70 lines, everywhere in src/.
    // `npx tsx scripts/function-lengths.ts --over 70 src` lists the longest functions (in raw lines).
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 70, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Exceptions, not yet split: CLI functions off the money path, each run once per command, which other branches
    // are editing at the same time (split them after those merge, then delete this block): doctor.ts
    // databaseChecks (103 lines as ESLint counts), reconcile.ts exceptionsCommand (84) and reconcileCommand (81),
    // main.ts main (74). The ceiling keeps them from growing meanwhile.
    files: ['src/cli/doctor.ts', 'src/cli/reconcile.ts', 'src/cli/main.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 105, skipBlankLines: true, skipComments: true }],
    },
  },
  // The dashboard's browser app (web/): browser globals; money is never computed there (the API formats it).
  {
    files: ['web/**/*.{ts,tsx}'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        crypto: 'readonly',
        URLSearchParams: 'readonly',
        HTMLElement: 'readonly',
      },
    },
  },
);
