import type { Queryable } from '../db/pool.ts';
import { entryIdOf } from './ids.ts';
import { getEntry } from './read.ts';
import type { JournalEntry } from './types.ts';

/**
 * Every entry booked about one payment order (its pay-in, fees, refunds, disputes: the recipes put
 * `paymentOrderId` in the entry's metadata), oldest first, with postings. Backed by an expression index.
 */
export async function entriesForPaymentOrder(db: Queryable, paymentOrderId: string): Promise<JournalEntry[]> {
  const ids = await db.query<{ id: bigint }>(
    `SELECT id FROM ledger.entries WHERE metadata ? 'paymentOrderId' AND (metadata ->> 'paymentOrderId') = $1 ORDER BY id LIMIT 200`,
    [paymentOrderId],
  );
  const entries: JournalEntry[] = [];
  for (const row of ids.rows) {
    const entry = await getEntry(db, entryIdOf(row.id));
    if (entry) entries.push(entry);
  }
  return entries;
}
