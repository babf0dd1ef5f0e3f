import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ledgerCommand } from '../../src/cli/ledger.ts';
import type { Database } from '../../src/db/database.ts';
import type { Pool } from '../../src/db/pool.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { payinSucceeded } from '../../src/ledger/recipes.ts';
import { postEntry, verifyLedger } from '../../src/ledger/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/**
 * verifyLedger must be able to fail: each test corrupts a fresh ledger behind the triggers' back
 * (session_replication_role = replica turns user triggers off; the test cluster's user is a superuser).
 */

let db: TestDatabase | undefined;
let pool: Pool;

beforeEach(async () => {
  await db?.drop();
  db = await createTestDatabase({ poolSize: 4 });
  pool = db.pool;
  for (let i = 0; i < 5; i++) {
    await withTransaction(pool, (client) =>
      postEntry(
        client,
        payinSucceeded({
          paymentOrderId: `po_${i}`,
          sellerId: 's1',
          currency: 'USD',
          grossMinor: 1_000n,
          platformFeeMinor: 100n,
        }),
      ),
    );
  }
});
afterAll(async () => {
  await db?.drop();
});

async function tamper(sql: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SET session_replication_role = replica');
    await client.query(sql);
  } finally {
    await client.query('SET session_replication_role = DEFAULT');
    client.release();
  }
}

function asDatabase(): Database {
  return { pool, url: db?.url ?? '', embedded: undefined, close: async () => undefined };
}

async function runVerify(): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await ledgerCommand(['verify'], asDatabase(), (line) => lines.push(line));
  return { code, lines };
}

describe('ledger verification', () => {
  it('passes on a clean ledger, and `bursar ledger verify` exits 0 with counts', async () => {
    const report = await verifyLedger(pool);
    expect(report.ok).toBe(true);
    expect(report.entries).toBe(5n);
    expect(report.postings).toBe(15n);
    const { code, lines } = await runVerify();
    expect(code).toBe(0);
    expect(lines).toContain('entries:  5');
    expect(lines.some((line) => line.startsWith('ledger verified'))).toBe(true);
  });

  it('detects a cached balance that differs from its postings, and the CLI exits non-zero', async () => {
    await tamper(
      `UPDATE ledger.accounts SET credits_minor = credits_minor + 1 WHERE code = 'seller:s1:pending:USD'`,
    );
    const report = await verifyLedger(pool);
    expect(report.ok).toBe(false);
    expect(report.failureCounts.cached_balance).toBe(1);
    expect(report.failures[0]).toMatchObject({ check: 'cached_balance', subject: 'seller:s1:pending:USD' });
    const { code, lines } = await runVerify();
    expect(code).toBe(1);
    expect(lines.some((line) => line.startsWith('FAIL cached_balance seller:s1:pending:USD'))).toBe(true);
  });

  it("detects a broken posting chain (a posting's balance-after that does not follow from the previous one)", async () => {
    await tamper(
      `UPDATE ledger.postings SET balance_after = balance_after + 7
        WHERE seq = 3 AND account_id = (SELECT id FROM ledger.accounts WHERE code = 'platform:psp_clearing:USD')`,
    );
    const report = await verifyLedger(pool);
    expect(report.failureCounts.posting_chain).toBe(1);
    expect(report.failures.find((f) => f.check === 'posting_chain')?.detail).toContain('seq 3');
  });

  it('detects a gap in the posting numbers', async () => {
    await tamper(
      `DELETE FROM ledger.postings
        WHERE seq = 2 AND account_id = (SELECT id FROM ledger.accounts WHERE code = 'platform:fee_revenue:USD')`,
    );
    const report = await verifyLedger(pool);
    expect(report.ok).toBe(false);
    expect(report.failureCounts.posting_chain).toBe(1);
    expect(report.failureCounts.cached_balance).toBe(1);
    expect(report.failureCounts.entry_balance).toBe(1);
    expect(report.failureCounts.zero_sum).toBe(1);
  });

  it('detects an unbalanced entry and a ledger that no longer sums to zero', async () => {
    await tamper(
      `UPDATE ledger.postings SET amount_minor = amount_minor + 1 WHERE line = 2 AND entry_id = (SELECT min(id) FROM ledger.entries)`,
    );
    const report = await verifyLedger(pool);
    expect(report.failureCounts.entry_balance).toBe(1);
    expect(report.failureCounts.zero_sum).toBe(1);
    expect(report.failures.find((f) => f.check === 'zero_sum')?.subject).toBe('USD');
    expect((await runVerify()).code).toBe(1);
  });
});
