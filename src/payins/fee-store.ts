import type { Queryable } from '../db/pool.ts';

/**
 * SQL of the PSP fee follow-up (`payins.psp_fee_pending`, migration 0130; docs/payins.md "The PSP's fee"): a
 * success settled without its PSP fee, because the PSP could not say it then, is marked here in the settling
 * transaction and followed up by the pay-in worker's `psp_fees` step.
 */

/** Whose fee is pending: a hosted checkout's session (one charge for every order) or one saved-method order. */
export interface FeePendingMark {
  /** `session:<cs_…>` or `order:<payment order id>`: one row per PSP charge. */
  subject: string;
  checkoutId: string;
  paymentOrderId: string | null;
  pspSessionId: string | null;
  pspPaymentId: string | null;
}

export interface PendingFee extends FeePendingMark {
  /** Attempts made, counting the one just claimed. */
  feeAttempts: number;
}

interface PendingFeeRow {
  subject: string;
  checkout_id: string;
  payment_order_id: string | null;
  psp_session_id: string | null;
  psp_payment_id: string | null;
  fee_attempts: number;
}

/** Marks a fee pending, in the settling transaction; a charge marked already (or given up on) is left as it is. */
export async function markFeePending(db: Queryable, mark: FeePendingMark): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO payins.psp_fee_pending (subject, checkout_id, payment_order_id, psp_session_id, psp_payment_id)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (subject) DO NOTHING`,
    [mark.subject, mark.checkoutId, mark.paymentOrderId, mark.pspSessionId, mark.pspPaymentId],
  );
  return (result.rowCount ?? 0) > 0;
}

/**
 * Claims up to `limit` due pending fees in one short statement: the attempt is counted and the next one pushed
 * back by the backoff (`baseMs × 2^(attempts − 1)`, at most `maxMs`) before the PSP is asked, so a second worker
 * skips the row (`FOR UPDATE SKIP LOCKED`, then not due), and a worker that dies holding it leaves it due again
 * after the backoff.
 */
export async function claimDueFees(
  db: Queryable,
  options: { limit: number; baseMs: number; maxMs: number },
): Promise<PendingFee[]> {
  const result = await db.query<PendingFeeRow>(
    `UPDATE payins.psp_fee_pending p
        SET fee_attempts = p.fee_attempts + 1,
            next_fee_attempt_at = now() + make_interval(
              secs => least($2::float8 * power(2, least(p.fee_attempts, 40)), $3::float8) / 1000.0)
      WHERE p.subject IN (SELECT subject FROM payins.psp_fee_pending
                           WHERE gave_up_at IS NULL AND next_fee_attempt_at <= now()
                           ORDER BY next_fee_attempt_at
                           LIMIT $1
                           FOR UPDATE SKIP LOCKED)
      RETURNING p.subject, p.checkout_id, p.payment_order_id, p.psp_session_id, p.psp_payment_id, p.fee_attempts`,
    [options.limit, options.baseMs, options.maxMs],
  );
  return result.rows.map((row) => ({
    subject: row.subject,
    checkoutId: row.checkout_id,
    paymentOrderId: row.payment_order_id,
    pspSessionId: row.psp_session_id,
    pspPaymentId: row.psp_payment_id,
    feeAttempts: row.fee_attempts,
  }));
}

/** Clears the mark once the fee is booked (or there is none to book), in the booking transaction. */
export async function clearFeePending(db: Queryable, subject: string): Promise<void> {
  await db.query('DELETE FROM payins.psp_fee_pending WHERE subject = $1', [subject]);
}

/** Records a failed attempt; with `giveUp`, the row is flagged and no step takes it again (reconciliation will). */
export async function noteFeeAttemptFailed(
  db: Queryable,
  subject: string,
  lastError: string,
  giveUp: boolean,
): Promise<void> {
  await db.query(
    `UPDATE payins.psp_fee_pending
        SET last_error = $2, gave_up_at = CASE WHEN $3::boolean THEN now() ELSE gave_up_at END
      WHERE subject = $1`,
    [subject, lastError.slice(0, 500), giveUp],
  );
}
