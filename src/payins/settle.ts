import type { PoolClient } from '../db/pool.ts';
import { isAppError } from '../errors.ts';
import type { HostedSession, PspCharge } from '../psp/index.ts';
import { markFeePending, type FeePendingMark } from './fee-store.ts';
import { bookFxSettlement } from './fx-settle.ts';
import type { PspFeePosting } from './ledger.ts';
import type { FeeSubject } from './psp-fee.ts';
import type { OrderEvent } from './state-machine.ts';
import { getOrders } from './store.ts';
import { lockCheckout } from './work-store.ts';
import {
  applyOrderEvent,
  applyOrderEvents,
  type ApplyResult,
  type EventFacts,
  type TransitionDeps,
} from './transitions.ts';

/** The PSP's fee on a charge: the amount, its currency and the balance transaction it was charged on. */
export interface PspFeeFacts {
  balanceTransactionId: string;
  feeMinor: bigint;
  currency: string;
  /** When the PSP converted the charge: what it settled it as (in `currency`) and at which rate. */
  settledMinor?: bigint | undefined;
  exchangeRate?: string | undefined;
}

/** What the PSP says about a payment, in our words. */
export type PspOutcome =
  | {
      kind: 'succeeded';
      paymentId?: string | undefined;
      chargeId?: string | undefined;
      /** The PSP's fee, when its answer carried it: booked with the success (docs/payins.md). */
      fee?: PspFeeFacts | undefined;
      /**
       * Without `fee`: the PSP failed transiently when asked for it, so the settling transaction marks it
       * pending for the worker's `psp_fees` step (psp-fee-followup.ts).
       */
      feePending?: FeeSubject | undefined;
    }
  | { kind: 'pending'; reason: string; paymentId?: string | undefined }
  | { kind: 'failed'; code: string; message?: string | undefined; paymentId?: string | undefined }
  | { kind: 'expired' };

/** The fee a succeeded charge carries, when the PSP's answer has both the amount and the balance transaction. */
export function feeOfCharge(charge: PspCharge): PspFeeFacts | undefined {
  if (charge.state !== 'succeeded') return undefined;
  if (charge.feeMinor === undefined || charge.balanceTransactionId === undefined) return undefined;
  return {
    balanceTransactionId: charge.balanceTransactionId,
    feeMinor: charge.feeMinor,
    currency: charge.feeCurrency ?? charge.currency,
    ...(charge.exchangeRate === undefined
      ? {}
      : { settledMinor: charge.settledMinor, exchangeRate: charge.exchangeRate }),
  };
}

export function outcomeFromCharge(charge: PspCharge): PspOutcome {
  switch (charge.state) {
    case 'succeeded':
      return {
        kind: 'succeeded',
        paymentId: charge.paymentId,
        chargeId: charge.chargeId,
        fee: feeOfCharge(charge),
      };
    case 'pending':
      return { kind: 'pending', reason: 'psp_pending', paymentId: charge.paymentId };
    case 'failed':
      return {
        kind: 'failed',
        code: charge.failureCode ?? 'payment_failed',
        message: charge.failureMessage,
        paymentId: charge.paymentId,
      };
    case 'expired':
      return { kind: 'expired' };
  }
}

export function outcomeFromSession(session: HostedSession): PspOutcome {
  switch (session.state) {
    case 'succeeded':
      return {
        kind: 'succeeded',
        paymentId: session.paymentId,
        chargeId: session.charge?.chargeId,
        fee: session.charge === undefined ? undefined : feeOfCharge(session.charge),
      };
    case 'pending':
      return { kind: 'pending', reason: 'awaiting_buyer', paymentId: session.paymentId };
    case 'failed':
      return { kind: 'failed', code: 'payment_failed', paymentId: session.paymentId };
    case 'expired':
      return { kind: 'expired' };
  }
}

/** The order event a PSP outcome is, with the facts it carries. */
export function eventOf(outcome: PspOutcome): { event: OrderEvent; facts: EventFacts } {
  switch (outcome.kind) {
    case 'succeeded':
      return {
        event: { type: 'psp_succeeded' },
        facts: { pspPaymentId: outcome.paymentId, pspChargeId: outcome.chargeId },
      };
    case 'pending':
      return {
        event: { type: 'psp_pending', reason: outcome.reason },
        facts: { pspPaymentId: outcome.paymentId },
      };
    case 'failed':
      return {
        event: { type: 'psp_failed', code: outcome.code },
        facts: { pspPaymentId: outcome.paymentId, declineCode: outcome.code, lastError: outcome.message },
      };
    case 'expired':
      return { event: { type: 'psp_expired' }, facts: {} };
  }
}

/**
 * Books the PSP's fee on the charge that paid for `results`' orders, in the caller's transaction, when the PSP's
 * answer carried it and at least one of those orders stands SUCCESS: with the ledger's `pspFeeCharged` recipe
 * under `psp_fee:<balance transaction>`, the reference reconciliation looks for, so it is booked once per charge
 * (not per order: a hosted checkout's one charge pays for all its orders) whoever comes first. A fee that
 * reconciliation booked meanwhile with another amount is left as booked (the ledger refuses a second version of a
 * reference); reconciliation's own comparison with the report is what judges the fee. A success whose fee the PSP
 * failed to say (`feePending`) is marked pending instead, for the worker's `psp_fees` step (psp-fee-followup.ts).
 */
async function bookPspFee(
  client: PoolClient,
  deps: TransitionDeps,
  outcome: PspOutcome,
  results: ApplyResult[],
  paymentOrderId: string | null,
): Promise<void> {
  if (outcome.kind !== 'succeeded') return;
  const succeeded = results.find((result) => result.order?.status === 'SUCCESS')?.order;
  if (succeeded === undefined) return;
  if (outcome.fee === undefined) {
    const mark = outcome.feePending === undefined ? undefined : pendingMark(outcome.feePending, succeeded);
    if (mark !== undefined) await markFeePending(client, mark);
    return;
  }
  if (outcome.fee.feeMinor <= 0n) return;
  const { fee } = outcome;
  await postPspFeeOnce(client, deps, {
    balanceTransactionId: fee.balanceTransactionId,
    currency: fee.currency,
    feeMinor: fee.feeMinor,
    pspPaymentId: outcome.paymentId ?? succeeded.pspPaymentId,
    pspChargeId: outcome.chargeId ?? succeeded.pspChargeId,
    checkoutId: succeeded.checkoutId,
    paymentOrderId,
  });
}

/** The pending-fee mark of a success whose fee the PSP could not say; undefined when it cannot be asked later. */
function pendingMark(
  subject: FeeSubject,
  succeeded: { checkoutId: string; pspPaymentId: string | null },
): FeePendingMark | undefined {
  if (subject.subject === 'session') {
    return {
      subject: `session:${subject.sessionId}`,
      checkoutId: succeeded.checkoutId,
      paymentOrderId: null,
      pspSessionId: subject.sessionId,
      pspPaymentId: subject.paymentId ?? succeeded.pspPaymentId,
    };
  }
  const pspPaymentId = subject.paymentId ?? succeeded.pspPaymentId;
  if (pspPaymentId === null) return undefined;
  return {
    subject: `order:${subject.paymentOrderId}`,
    checkoutId: succeeded.checkoutId,
    paymentOrderId: subject.paymentOrderId,
    pspSessionId: null,
    pspPaymentId,
  };
}

/**
 * Posts the PSP's fee under `psp_fee:<balance transaction>`, in the caller's transaction: a second posting of the
 * same fee returns the first entry (`created: false`, nothing written). A fee that reconciliation booked meanwhile
 * with another amount is left as booked, with a warning.
 */
export async function postPspFeeOnce(
  client: PoolClient,
  deps: Pick<TransitionDeps, 'ledger' | 'log'>,
  posting: PspFeePosting,
): Promise<{ created: boolean }> {
  try {
    const posted = await deps.ledger.postPspFee(client, posting);
    return { created: posted.created };
  } catch (error) {
    // The conflict is found after the ledger's statement succeeded, so the transaction is still good to commit.
    if (!(isAppError(error) && error.code === 'ledger_reference_conflict')) throw error;
    deps.log.warn(
      { balanceTransactionId: posting.balanceTransactionId, feeMinor: posting.feeMinor.toString() },
      'the PSP fee of this charge is booked already with another amount; left to reconciliation',
    );
    return { created: false };
  }
}

/** Applies the PSP's answer to one order, in the caller's transaction, with the PSP's fee when it came with it. */
export async function settleOrder(
  client: PoolClient,
  deps: TransitionDeps,
  paymentOrderId: string,
  outcome: PspOutcome,
  extra: EventFacts = {},
): Promise<ApplyResult> {
  const { event, facts } = eventOf(outcome);
  const result = await applyOrderEvent(client, deps, paymentOrderId, event, { ...facts, ...extra });
  await bookPspFee(client, deps, outcome, [result], paymentOrderId);
  await bookFxSettlement(client, deps, outcome, [result]);
  return result;
}

/**
 * `settleOrder` for many distinct orders at once, in the caller's transaction, in a fixed number of statements
 * (`applyOrderEvents`, then every PSP fee in one ledger statement). All or nothing: the caller rolls a failed batch
 * back and settles each order on its own, where a fee booked meanwhile with another amount is only warned about.
 */
export async function settleOrders(
  client: PoolClient,
  deps: TransitionDeps,
  items: ReadonlyArray<{ paymentOrderId: string; outcome: PspOutcome }>,
): Promise<ApplyResult[]> {
  const results = await applyOrderEvents(
    client,
    deps,
    items.map((item) => ({ paymentOrderId: item.paymentOrderId, ...eventOf(item.outcome) })),
  );
  const fees: PspFeePosting[] = [];
  for (const [index, item] of items.entries()) {
    const result = results[index];
    if (result === undefined) throw new Error(`no result for payment order ${item.paymentOrderId}`);
    const fee = feePosting(item.outcome, result, item.paymentOrderId);
    if (fee !== undefined) fees.push(fee);
    else await bookPspFee(client, deps, item.outcome, [result], item.paymentOrderId);
    await bookFxSettlement(client, deps, item.outcome, [result]);
  }
  if (fees.length > 0 && deps.ledger.postPspFees) await deps.ledger.postPspFees(client, fees);
  else for (const fee of fees) await postPspFeeOnce(client, deps, fee);
  return results;
}

/** The PSP fee a settled order's answer carries, to book with the batch's others; undefined when none to book. */
function feePosting(
  outcome: PspOutcome,
  result: ApplyResult,
  paymentOrderId: string,
): PspFeePosting | undefined {
  if (outcome.kind !== 'succeeded' || outcome.fee === undefined || outcome.fee.feeMinor <= 0n)
    return undefined;
  const succeeded = result.order?.status === 'SUCCESS' ? result.order : undefined;
  if (succeeded === undefined) return undefined;
  return {
    balanceTransactionId: outcome.fee.balanceTransactionId,
    currency: outcome.fee.currency,
    feeMinor: outcome.fee.feeMinor,
    pspPaymentId: outcome.paymentId ?? succeeded.pspPaymentId,
    pspChargeId: outcome.chargeId ?? succeeded.pspChargeId,
    checkoutId: succeeded.checkoutId,
    paymentOrderId,
  };
}

/**
 * Applies the PSP's answer about a hosted session to every order of the checkout, in one transaction: on success
 * every order moves to SUCCESS with its ledger entry, or none does; the charge's PSP fee is booked once with them.
 */
export async function settleCheckout(
  client: PoolClient,
  deps: TransitionDeps,
  checkoutId: string,
  outcome: PspOutcome,
  extra: EventFacts = {},
): Promise<ApplyResult[]> {
  // Lock the checkout first, then its orders in position order: concurrent settlers queue, never deadlock.
  await lockCheckout(client, checkoutId);
  const orders = await getOrders(client, checkoutId, { forUpdate: true });
  const { event, facts } = eventOf(outcome);
  const results: ApplyResult[] = [];
  for (const order of orders)
    results.push(await applyOrderEvent(client, deps, order.paymentOrderId, event, { ...facts, ...extra }));
  await bookPspFee(client, deps, outcome, results, null);
  await bookFxSettlement(client, deps, outcome, results);
  return results;
}
