import type { PoolClient } from '../db/pool.ts';
import { isAppError } from '../errors.ts';
import { realisedOnShare } from '../ledger/index.ts';
import { orderFxOf } from './fx-store.ts';
import type { PspFeeFacts, PspOutcome } from './settle.ts';
import type { ApplyResult, TransitionDeps } from './transitions.ts';
import type { PaymentOrder } from './types.ts';

/**
 * When the PSP's answer says it converted the charge into the platform's settlement currency (its balance
 * transaction's amount and `exchange_rate`), books the conversion once per balance transaction (docs/currencies.md
 * "Settlement"): the presentment currency leaves PSP clearing, the settlement currency arrives, and on the share
 * whose sellers are paid in the settlement currency the difference to the mid value they were booked at is
 * realised FX gain or loss. In the caller's transaction, after the orders' success entries.
 */
export async function bookFxSettlement(
  client: PoolClient,
  deps: Pick<TransitionDeps, 'ledger' | 'log'>,
  outcome: PspOutcome,
  results: ApplyResult[],
): Promise<void> {
  if (outcome.kind !== 'succeeded' || outcome.fee === undefined) return;
  const orders = results.flatMap((result) => (result.order === undefined ? [] : [result.order]));
  await bookChargeFxSettlement(client, deps, outcome.fee, orders);
}

/**
 * The conversion of one charge from its balance transaction (`fee`) and the orders it paid (those that
 * succeeded count), by the settling transaction or later by the PSP-fee follow-up, which reads the balance
 * transaction a first answer lacked (psp-fee-followup.ts). Once: `fx_settled:<balance transaction>`.
 */
export async function bookChargeFxSettlement(
  client: PoolClient,
  deps: Pick<TransitionDeps, 'ledger' | 'log'>,
  fee: PspFeeFacts,
  paid: PaymentOrder[],
): Promise<void> {
  if (!deps.ledger.postFxSettlement) return;
  if (fee.exchangeRate === undefined || fee.settledMinor === undefined || fee.settledMinor <= 0n) return;
  const orders = paid.filter((order) => order.status === 'SUCCESS');
  const first = orders[0];
  if (first === undefined || first.currency === fee.currency) return;
  const totalMinor = orders.reduce((sum, order) => sum + order.amountMinor, 0n);
  const conversions = await orderFxOf(
    client,
    orders.map((order) => order.paymentOrderId),
  );
  let shareMinor = 0n;
  let bookedMinor = 0n;
  for (const order of orders) {
    const conversion = conversions.get(order.paymentOrderId);
    if (conversion?.settlementCurrency !== fee.currency) continue;
    shareMinor += order.amountMinor;
    bookedMinor += conversion.midValueMinor;
  }
  try {
    await deps.ledger.postFxSettlement(client, {
      balanceTransactionId: fee.balanceTransactionId,
      presentmentCurrency: first.currency,
      amountMinor: totalMinor,
      settlementCurrency: fee.currency,
      settledMinor: fee.settledMinor,
      realisedMinor: realisedOnShare({
        direction: 'in',
        settledMinor: fee.settledMinor,
        totalMinor,
        shareMinor,
        bookedMinor,
      }),
      exchangeRate: fee.exchangeRate,
      checkoutId: first.checkoutId,
    });
  } catch (error) {
    if (!(isAppError(error) && error.code === 'ledger_reference_conflict')) throw error;
    deps.log.warn(
      { balanceTransactionId: fee.balanceTransactionId },
      'the FX settlement of this charge is booked already with other amounts; left to reconciliation',
    );
  }
}
