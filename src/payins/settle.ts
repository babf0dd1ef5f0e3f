import type { PoolClient } from '../db/pool.ts';
import type { HostedSession, PspCharge } from '../psp/port.ts';
import type { OrderEvent } from './state-machine.ts';
import { getOrders } from './store.ts';
import { applyOrderEvent, type ApplyResult, type EventFacts, type TransitionDeps } from './transitions.ts';

/** What the PSP says about a payment, in our words. */
export type PspOutcome =
  | { kind: 'succeeded'; paymentId?: string | undefined; chargeId?: string | undefined }
  | { kind: 'pending'; reason: string; paymentId?: string | undefined }
  | { kind: 'failed'; code: string; message?: string | undefined; paymentId?: string | undefined }
  | { kind: 'expired' };

export function outcomeFromCharge(charge: PspCharge): PspOutcome {
  switch (charge.state) {
    case 'succeeded':
      return { kind: 'succeeded', paymentId: charge.paymentId, chargeId: charge.chargeId };
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
      return { kind: 'succeeded', paymentId: session.paymentId };
    case 'pending':
      return { kind: 'pending', reason: 'awaiting_buyer', paymentId: session.paymentId };
    case 'failed':
      return { kind: 'failed', code: 'payment_failed', paymentId: session.paymentId };
    case 'expired':
      return { kind: 'expired' };
  }
}

function eventOf(outcome: PspOutcome): { event: OrderEvent; facts: EventFacts } {
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

/** Applies the PSP's answer to one order, in the caller's transaction. */
export async function settleOrder(
  client: PoolClient,
  deps: TransitionDeps,
  paymentOrderId: string,
  outcome: PspOutcome,
  extra: EventFacts = {},
): Promise<ApplyResult> {
  const { event, facts } = eventOf(outcome);
  return await applyOrderEvent(client, deps, paymentOrderId, event, { ...facts, ...extra });
}

/**
 * Applies the PSP's answer about a hosted session to every order of the checkout, in one transaction: on success
 * every order moves to SUCCESS with its ledger entry, or none does.
 */
export async function settleCheckout(
  client: PoolClient,
  deps: TransitionDeps,
  checkoutId: string,
  outcome: PspOutcome,
  extra: EventFacts = {},
): Promise<ApplyResult[]> {
  // Lock the checkout first, then its orders in position order: concurrent settlers queue, never deadlock.
  await client.query('SELECT 1 FROM payins.payment_event WHERE checkout_id = $1 FOR UPDATE', [checkoutId]);
  const orders = await getOrders(client, checkoutId, { forUpdate: true });
  const results: ApplyResult[] = [];
  for (const order of orders)
    results.push(await settleOrder(client, deps, order.paymentOrderId, outcome, extra));
  return results;
}
