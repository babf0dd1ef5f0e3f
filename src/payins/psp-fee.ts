import type { Queryable } from '../db/pool.ts';
import { PspError, type PspCharge } from '../psp/port.ts';
import { timedPspCall } from './metrics.ts';
import type { PayinsRuntime } from './runtime.ts';
import { feeOfCharge, type PspFeeFacts } from './settle.ts';
import { isFinal } from './state-machine.ts';
import { getCheckoutBySession, getOrder, getOrders } from './store.ts';

/** What a success event is about: a hosted session (the whole checkout) or one saved-method order. */
export type FeeSubject =
  | { subject: 'session'; sessionId: string; paymentId: string | undefined }
  | { subject: 'order'; paymentOrderId: string; paymentId: string | undefined };

/**
 * Tries of one fee look-up; a transient failure waits `FEE_RETRY_BASE_MS`, then twice as long, up to
 * `FEE_RETRY_MAX_MS` (about 12 s in all: long enough to ride through a PSP or database restart of several seconds,
 * which the chaos run's `--kill-db` does, rather than leave the fee to reconciliation).
 */
export const FEE_FETCH_ATTEMPTS = 8;
export const FEE_RETRY_BASE_MS = 200;
export const FEE_RETRY_MAX_MS = 3200;

/** Whether a success event would still move an order: only then is its fee worth a call to the PSP. */
async function stillToSettle(db: Queryable, subject: FeeSubject): Promise<boolean> {
  if (subject.subject === 'order') {
    const order = await getOrder(db, subject.paymentOrderId);
    return order !== undefined && !isFinal(order.status);
  }
  const checkout = await getCheckoutBySession(db, subject.sessionId);
  if (checkout === undefined) return false;
  return (await getOrders(db, checkout.checkoutId)).some((order) => !isFinal(order.status));
}

async function lookUp(runtime: PayinsRuntime, subject: FeeSubject): Promise<PspCharge | undefined> {
  if (subject.paymentId !== undefined) {
    const paymentId = subject.paymentId;
    return await timedPspCall(runtime.metrics, 'retrieve_charge', () =>
      runtime.psp.retrieveCharge(paymentId),
    );
  }
  if (subject.subject === 'session') {
    const sessionId = subject.sessionId;
    const session = await timedPspCall(runtime.metrics, 'retrieve_session', () =>
      runtime.psp.retrieveHostedSession(sessionId),
    );
    return session.charge;
  }
  return undefined;
}

/**
 * The PSP's fee on the charge a success webhook announces. A webhook carries the payment, not its balance
 * transaction, so the fee is asked of the PSP — before the settling transaction opens, never inside it (no
 * transaction is held across a network call). Asked only while an order is still to settle (a late or duplicate
 * event costs nothing), retried briefly on transient failures; when the PSP cannot say, the order settles without
 * it and reconciliation books the fee from the settlement report (an auto-fixed `psp_fee_unbooked`).
 */
export async function fetchFeeForSuccess(
  runtime: PayinsRuntime,
  subject: FeeSubject,
): Promise<PspFeeFacts | undefined> {
  if (!(await stillToSettle(runtime.ctx.pool, subject))) return undefined;
  for (let attempt = 1; attempt <= FEE_FETCH_ATTEMPTS; attempt++) {
    try {
      const charge = await lookUp(runtime, subject);
      if (charge === undefined) return undefined;
      if (subject.paymentId !== undefined && charge.paymentId !== subject.paymentId) return undefined;
      return feeOfCharge(charge);
    } catch (error) {
      const transient = error instanceof PspError && error.failureClass !== 'hard_decline';
      if (!transient || attempt === FEE_FETCH_ATTEMPTS) {
        runtime.ctx.log.info(
          { err: error, ...subject },
          'the PSP fee of a successful payment could not be fetched; reconciliation will book it',
        );
        return undefined;
      }
      const waitMs = Math.min(FEE_RETRY_MAX_MS, FEE_RETRY_BASE_MS * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
  return undefined;
}
