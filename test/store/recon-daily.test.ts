import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { AppContext } from '../../src/context.ts';
import { dailyRun } from '../../src/reconciliation/daily.ts';
import { contentInput } from '../../src/reconciliation/input.ts';
import { composeModules } from '../../src/compose.ts';
import type { ReconRuntime } from '../../src/reconciliation/runtime.ts';
import { createReconciliationScheduler, DAILY_QUEUE } from '../../src/reconciliation/scheduler.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { reconContext, writeCamt053, writeReport } from '../support/recon.ts';

/** The daily run: the PSP's report fetched, new bank files read from a directory, each applied once. */
describe('daily reconciliation', () => {
  let db: TestDatabase;
  let ctx: AppContext;
  let rt: ReconRuntime;
  let bankDir: string;
  const fetched: Array<{ start: string; end: string }> = [];

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 6 });
    ctx = reconContext(db.pool, db.url, new ManualClock('2026-03-02T04:00:00Z'));
    bankDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-recon-bank-'));
    fs.writeFileSync(
      path.join(bankDir, 'day1.xml'),
      writeCamt053('STMT-DAILY-1', [
        {
          amountMinor: 5000n,
          currency: 'USD',
          creditDebit: 'CRDT',
          bookingDate: '2026-03-01',
          acctSvcrRef: 'R1',
          remittance: 'STRIPE PAYOUT po_daily1',
        },
      ]),
    );
    fs.writeFileSync(
      path.join(bankDir, 'broken.xml'),
      '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>',
    );
    rt = composeModules(ctx, {
      reconciliation: { bankDirectory: bankDir },
      fetchReport: async (interval) => {
        fetched.push({ start: interval.start.toISOString(), end: interval.end.toISOString() });
        return contentInput(
          `psp-${interval.start.toISOString().slice(0, 10)}.csv`,
          writeReport([
            {
              txn: 'txn_daily_payout',
              category: 'payout',
              currency: 'USD',
              grossMinor: -5000n,
              feeMinor: 0n,
              sourceId: 'po_daily1',
              created: new Date('2026-03-01T12:00:00Z'),
              metadata: {},
            },
          ]),
        );
      },
    }).reconciliation.runtime;
  });
  afterAll(async () => {
    fs.rmSync(bankDir, { recursive: true, force: true });
    await db.drop();
  });

  it('fetches the report of the day it is given (its own day), reads new bank files, books the PSP payout received, and skips a broken file', async () => {
    const report = await dailyRun(rt, '2026-03-01');
    expect(fetched).toEqual([{ start: '2026-03-01T00:00:00.000Z', end: '2026-03-02T00:00:00.000Z' }]);
    expect(report).toMatchObject({
      kind: 'daily',
      interval: { start: '2026-03-01T00:00:00.000Z', end: '2026-03-02T00:00:00.000Z' },
      lines_read: 2,
      matched: 2,
      psp_payouts_received: 1,
      auto_fixed: 0,
    });
    expect(report.internal_checks).toEqual({ ledger_verified: true, failures: 0 });
    const entry = await db.pool.query('SELECT 1 FROM ledger.entries WHERE reference = $1', [
      'psp_payout:po_daily1',
    ]);
    expect(entry.rowCount).toBe(1);
    const imports = await db.pool.query<{ name: string }>('SELECT name FROM recon.imports ORDER BY name');
    expect(imports.rows.map((r) => r.name)).toEqual(['day1.xml', 'psp-2026-03-01.csv']);
  });

  it('runs the same day again without applying anything twice', async () => {
    const report = await dailyRun(rt, '2026-03-01');
    expect(report).toMatchObject({ lines_read: 0, matched: 0, psp_payouts_received: 0 });
    const entries = await db.pool.query('SELECT 1 FROM ledger.entries WHERE reference = $1', [
      'psp_payout:po_daily1',
    ]);
    expect(entries.rowCount).toBe(1);
  });

  it('schedules the daily run on pg-boss cron', async () => {
    const scheduler = createReconciliationScheduler(rt);
    await scheduler.start();
    try {
      const schedule = await db.pool.query<{ name: string; cron: string; timezone: string }>(
        'SELECT name, cron, timezone FROM pgboss.schedule WHERE name = $1',
        [DAILY_QUEUE],
      );
      expect(schedule.rows).toEqual([{ name: DAILY_QUEUE, cron: '0 3 * * *', timezone: 'UTC' }]);
    } finally {
      await scheduler.stop();
    }
  });
});
