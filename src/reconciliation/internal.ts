import { withTransaction } from '../db/tx.ts';
import { entriesByReference, verifyLedger } from '../ledger/index.ts';
import type { Finding } from './domain/types.ts';
import { fileAll } from './filing.ts';
import type { RunCounters } from './report.ts';
import type { ReconRuntime } from './runtime.ts';

/**
 * Reconciling Bursar with itself: the ledger's invariants (every entry balances, every cached balance equals its
 * postings, chains unbroken, zero sum), every payment order's status against its postings (SUCCESS exactly when
 * `payin:<order>:succeeded` is booked), and every payout's status against its postings (paid with a `paid` entry,
 * returned with a `returned` entry, neither before). Each failure is an investigation exception.
 */
export async function internalChecks(rt: ReconRuntime, runId: string, counters: RunCounters): Promise<void> {
  const findings: Finding[] = [];
  const report = await verifyLedger(rt.pool, { maxListed: 200 });
  counters.internal.ledgerOk = report.ok;
  for (const failure of report.failures) {
    findings.push({
      kind: 'internal_check_failed',
      cause: `ledger check ${failure.check} failed for ${failure.subject}: ${failure.detail}`,
      dedupeKey: `internal:${failure.check}:${failure.subject}`,
      evidence: { check: failure.check, subject: failure.subject, detail: failure.detail },
    });
  }
  for (const row of await ordersDisagreeingWithPostings(rt, 1000)) {
    findings.push({
      kind: 'internal_check_failed',
      cause:
        row.entry_id === null
          ? `payment order ${row.payment_order_id} is SUCCESS but its pay-in entry is not booked`
          : `payment order ${row.payment_order_id} is ${row.status} but its pay-in entry is booked`,
      dedupeKey: `internal:order_postings:${row.payment_order_id}:${row.status}`,
      evidence: {
        payment_order_id: row.payment_order_id,
        status: row.status,
        entry_id: row.entry_id?.toString() ?? null,
      },
    });
  }
  for (const row of await payoutsDisagreeingWithPostings(rt, 1000)) {
    findings.push({
      kind: 'internal_check_failed',
      cause: `payout ${row.id} is ${row.status} but its postings say ${row.returned ? 'returned' : row.paid ? 'paid' : 'in transit'}`,
      dedupeKey: `internal:payout_postings:${row.id}:${row.status}`,
      evidence: {
        payout_id: row.id,
        status: row.status,
        paid_entry: row.paid,
        returned_entry: row.returned,
      },
    });
  }
  counters.internal.failures = findings.length;
  if (findings.length > 0)
    await withTransaction(rt.pool, async (client) => fileAll(rt, client, runId, findings, counters));
}

const PAGE = 5000;

/**
 * Payment orders whose status disagrees with the ledger: SUCCESS exactly when `payin:<order>:succeeded` is booked.
 * The pay-in module lists its orders (paged), the ledger says which entries exist; at most `limit`.
 */
async function ordersDisagreeingWithPostings(
  rt: ReconRuntime,
  limit: number,
): Promise<Array<{ payment_order_id: string; status: string; entry_id: bigint | null }>> {
  const found: Array<{ payment_order_id: string; status: string; entry_id: bigint | null }> = [];
  let after = '';
  while (found.length < limit) {
    const page = await rt.fix.payins.orderStatusesPage(rt.pool, after, PAGE);
    const last = page[page.length - 1];
    if (last === undefined) break;
    after = last.paymentOrderId;
    const ref = (id: string) => `payin:${id}:succeeded`;
    const entries = await entriesByReference(
      rt.pool,
      page.map((order) => ref(order.paymentOrderId)),
    );
    for (const order of page) {
      const entryId = entries.get(ref(order.paymentOrderId)) ?? null;
      if ((order.status === 'SUCCESS') !== (entryId !== null) && found.length < limit)
        found.push({ payment_order_id: order.paymentOrderId, status: order.status, entry_id: entryId });
    }
    if (page.length < PAGE) break;
  }
  return found;
}

/**
 * Payouts whose status disagrees with the ledger: pending or in transit with neither a `paid` nor a `returned`
 * entry, paid with a `paid` entry and no `returned` one, returned with a `returned` entry; at most `limit`.
 */
async function payoutsDisagreeingWithPostings(
  rt: ReconRuntime,
  limit: number,
): Promise<Array<{ id: string; status: string; paid: boolean; returned: boolean }>> {
  const found: Array<{ id: string; status: string; paid: boolean; returned: boolean }> = [];
  let after = '';
  while (found.length < limit) {
    const page = await rt.fix.payouts.payoutStatusesPage(rt.pool, after, PAGE);
    const last = page[page.length - 1];
    if (last === undefined) break;
    after = last.id;
    const entries = await entriesByReference(
      rt.pool,
      page.flatMap((payout) => [`payout:${payout.id}:paid`, `payout:${payout.id}:returned`]),
    );
    for (const payout of page) {
      const paid = entries.has(`payout:${payout.id}:paid`);
      const returned = entries.has(`payout:${payout.id}:returned`);
      const agrees =
        ((payout.status === 'pending' || payout.status === 'in_transit') && !paid && !returned) ||
        (payout.status === 'paid' && paid && !returned) ||
        (payout.status === 'returned' && returned);
      if (!agrees && found.length < limit)
        found.push({ id: payout.id, status: payout.status, paid, returned });
    }
    if (page.length < PAGE) break;
  }
  return found;
}
