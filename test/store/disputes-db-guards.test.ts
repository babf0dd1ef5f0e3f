import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/** The database's own guard of disputes: statuses never go back, booked amounts never change, history never changes. */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

async function insert(id: string, status = 'needs_response'): Promise<void> {
  await db.pool.query(
    `INSERT INTO disputes.disputes (id, psp, psp_dispute_id, amount_minor, currency, status, closed_at)
     VALUES ($1, 'stripe', $1, 1000, 'USD', $2, CASE WHEN disputes.status_rank($2) = 3 THEN now() END)`,
    [id, status],
  );
}

describe('disputes: database guards', () => {
  it('refuses a status going backwards and a final status changing', async () => {
    await insert('dsp_0000000a', 'under_review');
    await expect(
      db.pool.query(`UPDATE disputes.disputes SET status = 'needs_response' WHERE id = 'dsp_0000000a'`),
    ).rejects.toThrow(/refused/);
    await db.pool.query(
      `UPDATE disputes.disputes SET status = 'lost', closed_at = now() WHERE id = 'dsp_0000000a'`,
    );
    await expect(
      db.pool.query(`UPDATE disputes.disputes SET status = 'won' WHERE id = 'dsp_0000000a'`),
    ).rejects.toThrow(/refused/);
  });

  it('refuses a withdrawal larger than the dispute, changing a booked withdrawal, and money back for a dispute not won', async () => {
    await insert('dsp_0000000b');
    await expect(
      db.pool.query(
        `UPDATE disputes.disputes SET withdrawn_minor = 2000, fee_minor = 0, withdrawal_txn = 't', fee_bearer = 'seller' WHERE id = 'dsp_0000000b'`,
      ),
    ).rejects.toThrow(/check/);
    await db.pool.query(
      `UPDATE disputes.disputes SET withdrawn_minor = 1000, fee_minor = 1500, withdrawal_txn = 't', fee_bearer = 'seller' WHERE id = 'dsp_0000000b'`,
    );
    await expect(
      db.pool.query(`UPDATE disputes.disputes SET withdrawn_minor = 900 WHERE id = 'dsp_0000000b'`),
    ).rejects.toThrow(/never change/);
    await expect(
      db.pool.query(
        `UPDATE disputes.disputes SET reinstated_minor = 1000, fee_returned_minor = 0, reinstatement_txn = 'r' WHERE id = 'dsp_0000000b'`,
      ),
    ).rejects.toThrow(/check/);
  });

  it('keeps the history and the allocations append-only, and allocations adding up', async () => {
    await insert('dsp_0000000c');
    await db.pool.query(
      `INSERT INTO disputes.status_history (dispute_id, from_status, to_status, source) VALUES ('dsp_0000000c', NULL, 'needs_response', 'webhook')`,
    );
    await expect(db.pool.query(`UPDATE disputes.status_history SET to_status = 'won'`)).rejects.toThrow();
    await expect(db.pool.query(`DELETE FROM disputes.status_history`)).rejects.toThrow();
    await expect(
      db.pool.query(
        `INSERT INTO disputes.allocations VALUES ('dsp_0000000c', 'po', 's', 1000, 0, 500, 0, 0, 0)`,
      ),
    ).rejects.toThrow(/check/);
    await db.pool.query(
      `INSERT INTO disputes.allocations VALUES ('dsp_0000000c', 'po', 's', 1000, 100, 500, 0, 0, 600)`,
    );
    await expect(db.pool.query(`DELETE FROM disputes.allocations`)).rejects.toThrow();
    await expect(db.pool.query(`DELETE FROM disputes.disputes WHERE id = 'dsp_0000000c'`)).rejects.toThrow();
  });
});
