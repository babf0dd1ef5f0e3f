import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/process.ts';

/** Lints one line of code as if it were the file at `filePath`, with the repository's ESLint config. */
async function importErrors(code: string, filePath: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: REPO_ROOT });
  const [result] = await eslint.lintText(code, { filePath: path.join(REPO_ROOT, filePath) });
  return (result?.messages ?? [])
    .filter((message) => message.ruleId === 'no-restricted-imports')
    .map((message) => message.message);
}

describe('module borders (ESLint no-restricted-imports)', () => {
  it("fails when a module imports another module's inner file", async () => {
    const errors = await importErrors(
      "import { recordPayinHold } from '../payouts/holds.ts';\nexport const x = recordPayinHold;\n",
      'src/payins/example.ts',
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/only through its index\.ts/);
  });

  it('fails for the composition root, the CLI, nested folders and the benchmarks alike', async () => {
    const cases: Array<[string, string]> = [
      ["import { payinRoutes } from './payins/http.ts';", 'src/compose.ts'],
      ["import { runPayouts } from '../payouts/run.ts';", 'src/cli/example.ts'],
      ["import type { BankDetails } from '../../sellers/bank.ts';", 'src/payouts/iso20022/example.ts'],
      ["import { postEntry } from '../../src/ledger/post.ts';", 'bench/example/run.ts'],
      ["import { createKey } from '../apikeys/service.ts';", 'src/http/example.ts'],
      ["import type { RiskPort } from '../risk/port.ts';", 'src/payins/example.ts'],
    ];
    for (const [code, file] of cases) {
      expect(await importErrors(`${code}\n`, file), `${file}: ${code}`).toHaveLength(1);
    }
  });

  it("allows a module's index.ts, a module's own files, and the shared platform code", async () => {
    const cases: Array<[string, string]> = [
      ["import { createPayouts } from '../payouts/index.ts';", 'src/payins/example.ts'],
      ["import { getOrder } from './store.ts';", 'src/payins/example.ts'],
      ["import type { BankDetails } from '../bank.ts';", 'src/payouts/iso20022/example.ts'],
      ["import { withTransaction } from '../db/tx.ts';", 'src/payouts/example.ts'],
      ["import { basisPointsOf } from '../money/index.ts';", 'src/sellers/example.ts'],
      ["import { createPayins } from './payins/index.ts';", 'src/compose.ts'],
    ];
    for (const [code, file] of cases) {
      expect(await importErrors(`${code}\n`, file), `${file}: ${code}`).toEqual([]);
    }
  });
});
