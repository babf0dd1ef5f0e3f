import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { runBursar } from '../support/process.ts';
import { writeCamt053, writeReport } from '../support/recon.ts';

const samples = path.resolve(import.meta.dirname, '../../../shared/reference/iso20022/samples/genkgo');

/** The `bursar reconcile` and `bursar exceptions` commands, as a real child process against a real database. */
describe('bursar reconcile / exceptions', () => {
  let db: TestDatabase;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-recon-cli-'));
    env = { DATABASE_URL: db.url, BURSAR_DATA_DIR: dir };
    fs.writeFileSync(
      path.join(dir, 'report.csv'),
      writeReport([
        {
          txn: 'txn_cli_1',
          category: 'charge',
          currency: 'USD',
          grossMinor: 2500n,
          feeMinor: 103n,
          sourceId: 'ch_cli_1',
          created: new Date('2026-02-01T10:00:00Z'),
          metadata: { payment_order_id: 'nobody' },
        },
      ]),
    );
    fs.writeFileSync(
      path.join(dir, 'statement.xml'),
      writeCamt053('STMT-CLI', [
        {
          amountMinor: 990n,
          currency: 'USD',
          creditDebit: 'DBIT',
          bookingDate: '2026-02-01',
          acctSvcrRef: 'CLI1',
          endToEndId: 'po_nobody',
        },
      ]),
    );
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await db.drop();
  });

  it('reconciles a report file and a statement file, prints the report, and refuses the same file again', async () => {
    const psp = await runBursar(['reconcile', 'psp', '--file', path.join(dir, 'report.csv')], env);
    expect(psp.code).toBe(0);
    expect(psp.output).toMatch(/lines read: +1/);
    expect(psp.output).toMatch(/queued investigation: *1/);
    expect(psp.output).toMatch(/psp USD: 1 lines, gross 25\.00, fee 1\.03, net 23\.97/);
    const bank = await runBursar(['reconcile', 'bank', '--file', path.join(dir, 'statement.xml')], env);
    expect(bank.code).toBe(0);
    expect(bank.output).toMatch(/bank USD: 1 lines, credits 0\.00, debits 9\.90/);
    const again = await runBursar(['reconcile', 'psp', '--file', path.join(dir, 'report.csv')], env);
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/refused \(reconciliation_file_duplicate\)/);
    expect(again.output).toMatch(/nothing of the file was applied/);
  });

  it('refuses a malformed statement naming the line and element', async () => {
    const bad = await runBursar(
      ['reconcile', 'bank', '--file', path.join(samples, 'camt053.v2.wrong.xml')],
      env,
    );
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(
      /refused \(reconciliation_file_malformed\): camt: line 8, <Document\/BkToCstmrStmt>: the required element <Stmt> is missing/,
    );
  });

  it('lists, resolves and reopens exceptions', async () => {
    const list = await runBursar(['exceptions', 'list', '--class', 'investigation'], env);
    expect(list.code).toBe(0);
    expect(list.output).toMatch(/2 exception\(s\)/);
    const id = /(rexc_[a-z2-7]+)/.exec(list.output)?.[1] ?? '';
    const resolved = await runBursar(
      ['exceptions', 'resolve', id, '--note', 'test data', '--by', 'alice'],
      env,
    );
    expect(resolved.output).toMatch(new RegExp(`${id} is resolved`));
    const shown = await runBursar(['exceptions', 'show', id], env);
    // Exactly what the API answers: snake_case field names, amounts in major units, the history inside.
    const api = JSON.parse(shown.output) as { history: Array<Record<string, unknown>> };
    expect(api.history.at(-1)).toMatchObject({ action: 'resolved', actor: 'cli:alice', note: 'test data' });
    expect(shown.output).toContain('"object": "reconciliation_exception"');
    expect(shown.output).toMatch(/"run_id": /);
    expect(shown.output).toMatch(/^ {2}"created_at": /m);
    expect(shown.output).not.toMatch(/^ {2}"(amountMinor|seq|createdAt|runId)": /m);
    const reopened = await runBursar(['exceptions', 'reopen', id], env);
    expect(reopened.output).toMatch(new RegExp(`${id} is open`));
  });
});
