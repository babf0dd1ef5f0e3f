import type { Queryable } from '../db/pool.ts';
import { PspError, type PspCharge } from '../psp/index.ts';
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
 * Tries of one fee look-up while the success settles; a transient failure waits `FEE_RETRY_BASE_MS`, then twice as
 * long. Kept short on purpose: the event worker's slot is held meanwhile, and a fee the PSP cannot give now is
 * marked pending in the settling transaction and booked by the fee follow-up step (psp-fee-followup.ts), which
 * rides through a longer PSP or database outage with its own backoff.
 */
export const FEE_FETCH_ATTEMPTS = 4;
export const FEE_RETRY_BASE_MS = 100;
export const FEE_RETRY_MAX_MS = 800;

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

/** The PSP's charge behind a success: by payment id when known, else through the hosted session. */
export async function lookUpCharge(
  runtime: PayinsRuntime,
  subject: FeeSubject,
): Promise<PspCharge | undefined> {
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
 * What the fee look-up of a success learned: the fee, or nothing to book (no order left to settle, a charge
 * without a balance transaction, a hard refusal), or `unavailable`: the PSP failed transiently on every try, so
 * the settling transaction marks the fee pending and the worker's `psp_fees` step asks again later
 * (psp-fee-followup.ts).
 */
export type FeeLookup =
  { kind: 'fee'; fee: PspFeeFacts } | { kind: 'none' } | { kind: 'unavailable'; error: unknown };

/**
 * The PSP's fee on the charge a success webhook announces. A webhook carries the payment, not its balance
 * transaction, so the fee is asked of the PSP — before the settling transaction opens, never inside it (no
 * transaction is held across a network call). Asked only while an order is still to settle (a late or duplicate
 * event costs nothing), retried briefly on transient failures; when the PSP stays unavailable, the order settles
 * without it and the fee is marked pending for the worker's follow-up (docs/payins.md).
 */
export async function lookUpFeeForSuccess(runtime: PayinsRuntime, subject: FeeSubject): Promise<FeeLookup> {
  if (!(await stillToSettle(runtime.ctx.pool, subject))) return { kind: 'none' };
  for (let attempt = 1; ; attempt++) {
    try {
      const charge = await lookUpCharge(runtime, subject);
      if (charge === undefined) return { kind: 'none' };
      if (subject.paymentId !== undefined && charge.paymentId !== subject.paymentId) return { kind: 'none' };
      const fee = feeOfCharge(charge);
      return fee === undefined ? { kind: 'none' } : { kind: 'fee', fee };
    } catch (error) {
      const transient = error instanceof PspError && error.failureClass !== 'hard_decline';
      if (!transient) {
        runtime.ctx.log.info(
          { err: error, ...subject },
          'the PSP fee of a successful payment could not be fetched; reconciliation will book it',
        );
        return { kind: 'none' };
      }
      if (attempt >= FEE_FETCH_ATTEMPTS) {
        runtime.ctx.log.info(
          { err: error, ...subject },
          'the PSP fee of a successful payment is unavailable for now; the worker will ask again',
        );
        return { kind: 'unavailable', error };
      }
      const waitMs = Math.min(FEE_RETRY_MAX_MS, FEE_RETRY_BASE_MS * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/** `lookUpFeeForSuccess`, reduced to the fee (undefined when there is none to book now). */
export async function fetchFeeForSuccess(
  runtime: PayinsRuntime,
  subject: FeeSubject,
): Promise<PspFeeFacts | undefined> {
  const found = await lookUpFeeForSuccess(runtime, subject);
  return found.kind === 'fee' ? found.fee : undefined;
}
