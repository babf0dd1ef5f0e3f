import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../src/db/migrate.ts';
import type { Pool } from '../../src/db/pool.ts';
import { createDatabaseBefore, type TestDatabase } from '../support/db.ts';

/**
 * migrations/0330_payout_account_terms.sql moves each seller's "needs new bank details" flag, set before per
 * seller, to the account of the currency its return was in. Applied here to a database migrated up to 0329 and
 * seeded with flagged sellers of every kind, as an upgrade would meet them.
 */

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createDatabaseBefore('0330');
  pool = db.pool;
});

afterAll(async () => {
  await db.drop();
});

async function seller(id: string, reason: string | null, accounts: string[]): Promise<void> {
  await pool.query(`INSERT INTO sellers.sellers (seller_account, name, currency) VALUES ($1, $1, 'EUR')`, [
    id,
  ]);
  await pool.query(
    `INSERT INTO sellers.payout_settings (seller_account, iban, bic, needs_bank_details, needs_bank_details_reason)
     VALUES ($1, 'DE89370400440532013000', 'COBADEFFXXX', $2, $3)`,
    [id, reason !== null, reason],
  );
  for (const currency of accounts) {
    await pool.query(
      `INSERT INTO sellers.payout_bank_accounts (seller_account, currency, iban, bic)
       VALUES ($1, $2, 'GB82WEST12345698765432', 'WESTGB2L')`,
      [id, currency],
    );
  }
}

async function returnedPayout(
  id: string,
  sellerAccount: string,
  currency: string,
  at: string,
): Promise<void> {
  await pool.query(
    `INSERT INTO payouts.payouts (id, seller_account, currency, amount_minor, status, source, provider, destination,
       ledger_entry_id)
     VALUES ($1, $2, $3, 100, 'returned', 'manual', 'iso20022', '{}'::jsonb, 'je_x')`,
    [id, sellerAccount, currency],
  );
  await pool.query(
    `INSERT INTO payouts.status_history (payout_id, from_status, to_status, reason, source, at)
     VALUES ($1, 'in_transit', 'returned', 'AC04', 'camt.054', $2)`,
    [id, at],
  );
}

async function flags(id: string): Promise<Record<string, string | null>> {
  const own = await pool.query<{ needs_bank_details: boolean; needs_bank_details_reason: string | null }>(
    'SELECT needs_bank_details, needs_bank_details_reason FROM sellers.payout_settings WHERE seller_account = $1',
    [id],
  );
  const others = await pool.query<{ currency: string; needs_bank_details_reason: string | null }>(
    `SELECT currency, needs_bank_details_reason FROM sellers.payout_bank_accounts
      WHERE seller_account = $1 AND needs_bank_details ORDER BY currency`,
    [id],
  );
  const result: Record<string, string | null> = {};
  if (own.rows[0]?.needs_bank_details === true) result.EUR = own.rows[0].needs_bank_details_reason;
  for (const row of others.rows) result[row.currency] = row.needs_bank_details_reason;
  return result;
}

describe('migration 0330 moves each flag to the account of its return’s currency', () => {
  it('moves, keeps or doubles each seller’s flag by the payout its reason names, and flags no seller more or less', async () => {
    await seller('m_other', 'payout po_gbp1 returned: AC04 closed', ['GBP', 'USD']);
    await returnedPayout('po_gbp1', 'm_other', 'GBP', '2030-01-02T00:00:00Z');
    await seller('m_own', 'payout po_eur1 returned: AC04 closed', ['GBP']);
    await returnedPayout('po_eur1', 'm_own', 'EUR', '2030-01-02T00:00:00Z');
    // An own-currency return the later GBP return's reason overwrote: both stay unanswered.
    await seller('m_both', 'payout po_gbp2 returned: R03', ['GBP']);
    await returnedPayout('po_eur2', 'm_both', 'EUR', '2030-01-01T00:00:00Z');
    await returnedPayout('po_gbp2', 'm_both', 'GBP', '2030-01-02T00:00:00Z');
    // An own-currency return answered by new details since (audited), then a GBP one.
    await seller('m_fixed', 'payout po_gbp3 returned: R03', ['GBP']);
    await returnedPayout('po_eur3', 'm_fixed', 'EUR', '2030-01-01T00:00:00Z');
    await pool.query(
      `INSERT INTO sellers.bank_details_audit (seller_account, before, after, changed_at)
       VALUES ('m_fixed', 'null', 'null', '2030-01-01T12:00:00Z')`,
    );
    await returnedPayout('po_gbp3', 'm_fixed', 'GBP', '2030-01-02T00:00:00Z');
    // A currency with no account any more, and a reason naming no payout: the own currency keeps the flag.
    await seller('m_noacct', 'payout po_chf1 returned: AC04', ['GBP']);
    await returnedPayout('po_chf1', 'm_noacct', 'CHF', '2030-01-02T00:00:00Z');
    await seller('m_legacy', 'returned by the bank', ['GBP']);
    await seller('m_clear', null, ['GBP']);

    const applied = await migrate(pool, loadMigrations());
    expect(applied.map((m) => m.slice(0, 4))).toContain('0330');

    expect(await flags('m_other')).toEqual({ GBP: 'payout po_gbp1 returned: AC04 closed' });
    expect(await flags('m_own')).toEqual({ EUR: 'payout po_eur1 returned: AC04 closed' });
    expect(await flags('m_both')).toEqual({
      EUR: 'payout po_gbp2 returned: R03',
      GBP: 'payout po_gbp2 returned: R03',
    });
    expect(await flags('m_fixed')).toEqual({ GBP: 'payout po_gbp3 returned: R03' });
    expect(await flags('m_noacct')).toEqual({ EUR: 'payout po_chf1 returned: AC04' });
    expect(await flags('m_legacy')).toEqual({ EUR: 'returned by the bank' });
    expect(await flags('m_clear')).toEqual({});
    const minimums = await pool.query<{ minimum_amount_minor: bigint }>(
      'SELECT DISTINCT minimum_amount_minor FROM sellers.payout_bank_accounts',
    );
    expect(minimums.rows).toEqual([{ minimum_amount_minor: 0n }]);
  });

  it('refuses a reason on an account that is not flagged', async () => {
    await expect(
      pool.query(
        `UPDATE sellers.payout_bank_accounts SET needs_bank_details_reason = 'x'
          WHERE seller_account = 'm_clear' AND currency = 'GBP'`,
      ),
    ).rejects.toThrow(/payout_bank_accounts_reason_only_when_flagged/);
  });
});
