import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RULE = '@typescript-eslint/no-restricted-imports';

/** The rule ids ESLint reports for `source` as if it were the file at `file` (relative to the repository). */
async function ruleHits(file: string, source: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(source, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === RULE).map((m) => m.message);
}

// The tree itself is held to the rule by `npm run lint` (eslint .), which `npm test` runs first.
describe('import rule: the product never imports the sandbox or the chaos harness', () => {
  it('fails a file under src/ that imports sandbox/ or chaos/, as a value, a type or a re-export', async () => {
    const hits = await ruleHits(
      'src/payouts/probe.ts',
      [
        "import { createSandboxServer } from '../../sandbox/index.ts';",
        "import type { SandboxConfig } from '../../sandbox/config.ts';",
        "import { runChaos } from '../../chaos/harness.ts';",
        "export { signPayload } from '../../sandbox/signature.ts';",
        'export const probe = [createSandboxServer, runChaos] as const;',
        'export type Probe = SandboxConfig;',
        '',
      ].join('\n'),
    );
    expect(hits).toHaveLength(4);
    expect(hits[0]).toMatch(/never imports the sandbox or the chaos harness/);
  }, 30_000);

  it('leaves alone the product’s own sandbox-provider adapter, and sandbox/, chaos/ and tests importing src/', async () => {
    expect(
      await ruleHits(
        'src/payouts/probe.ts',
        "import { createSandboxPayoutProvider } from './sandbox-provider/adapter.ts';\nexport const p = createSandboxPayoutProvider;\n",
      ),
    ).toEqual([]);
    expect(
      await ruleHits(
        'sandbox/probe.ts',
        "import { withTransaction } from '../src/db/tx.ts';\nexport const p = withTransaction;\n",
      ),
    ).toEqual([]);
    expect(
      await ruleHits(
        'test/unit/probe.test.ts',
        "import { createSandboxServer } from '../../sandbox/index.ts';\nexport const p = createSandboxServer;\n",
      ),
    ).toEqual([]);
  }, 30_000);
});
