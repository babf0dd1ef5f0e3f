import { withTransaction } from '../db/tx.ts';
import { verifyLedger } from '../ledger/verify.ts';
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
  const orders = await rt.pool.query<{ payment_order_id: string; status: string; entry_id: bigint | null }>(
    `SELECT o.payment_order_id, o.payment_order_status AS status, e.id AS entry_id
       FROM payins.payment_order o
       LEFT JOIN ledger.entries e ON e.reference = 'payin:' || o.payment_order_id || ':succeeded'
      WHERE (o.payment_order_status = 'SUCCESS') <> (e.id IS NOT NULL)
      LIMIT 1000`,
  );
  for (const row of orders.rows) {
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
  const hasPayouts = await rt.pool.query<{ present: boolean }>(
    "SELECT to_regclass('payouts.payouts') IS NOT NULL AS present",
  );
  if (hasPayouts.rows[0]?.present === true) {
    const payouts = await rt.pool.query<{ id: string; status: string; paid: boolean; returned: boolean }>(
      `SELECT p.id, p.status, paid.id IS NOT NULL AS paid, ret.id IS NOT NULL AS returned
         FROM payouts.payouts p
         LEFT JOIN ledger.entries paid ON paid.reference = 'payout:' || p.id || ':paid'
         LEFT JOIN ledger.entries ret ON ret.reference = 'payout:' || p.id || ':returned'
        WHERE NOT ((p.status IN ('pending', 'in_transit') AND paid.id IS NULL AND ret.id IS NULL)
                OR (p.status = 'paid' AND paid.id IS NOT NULL AND ret.id IS NULL)
                OR (p.status = 'returned' AND ret.id IS NOT NULL))
        LIMIT 1000`,
    );
    for (const row of payouts.rows) {
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
  }
  counters.internal.failures = findings.length;
  if (findings.length > 0)
    await withTransaction(rt.pool, async (client) => fileAll(rt, client, runId, findings, counters));
}
