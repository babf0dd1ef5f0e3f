import { fxSettled, payinConverted, payinSucceeded, postEntry, pspFeeCharged } from '../ledger/index.ts';
import type { PoolClient } from '../db/pool.ts';
import type { PayinLedger, PayinSuccessPosting } from './ledger.ts';
import type { OrderConversion } from './ports.ts';

/** A converted order: the ledger's FX recipe, balanced per currency through the FX position accounts. */
async function postConverted(
  client: PoolClient,
  posting: PayinSuccessPosting,
  conversion: OrderConversion,
): Promise<{ entryId: string }> {
  const posted = await postEntry(
    client,
    payinConverted({
      paymentOrderId: posting.paymentOrderId,
      sellerId: posting.sellerAccount,
      presentmentCurrency: posting.currency,
      grossMinor: posting.grossMinor,
      settlementCurrency: conversion.settlementCurrency,
      settlementMinor: conversion.settlementMinor,
      midValueMinor: conversion.midValueMinor,
      platformFeeMinor: posting.feeMinor,
      fx: conversion,
      metadata: {
        checkoutId: posting.checkoutId,
        ...(posting.pspPaymentId === null ? {} : { pspPaymentId: posting.pspPaymentId }),
      },
    }),
  );
  return { entryId: posted.entryId };
}

/**
 * The pay-in success entry, by the ledger's recipe (docs/ledger.md): debit PSP clearing the gross, credit the
 * seller's pending balance the gross less the platform fee, credit fee revenue the fee. The recipe's reference
 * (`payin:<payment order>:succeeded`) makes a second posting for the same order return the first.
 */
export const defaultPayinLedger: PayinLedger = {
  async postPayinSuccess(client, posting) {
    if (posting.conversion) return await postConverted(client, posting, posting.conversion);
    const posted = await postEntry(
      client,
      payinSucceeded({
        currency: posting.currency,
        paymentOrderId: posting.paymentOrderId,
        sellerId: posting.sellerAccount,
        grossMinor: posting.grossMinor,
        platformFeeMinor: posting.feeMinor,
        metadata: {
          checkoutId: posting.checkoutId,
          ...(posting.pspPaymentId === null ? {} : { pspPaymentId: posting.pspPaymentId }),
        },
      }),
    );
    return { entryId: posted.entryId };
  },

  /**
   * The PSP's fee by the ledger's `pspFeeCharged` recipe (Dr platform psp_fees / Cr PSP clearing) under
   * `psp_fee:<balance transaction>` — the very reference reconciliation books a missing fee under, so whichever
   * comes first books it and the other finds it.
   */
  async postPspFee(client, posting) {
    const posted = await postEntry(
      client,
      pspFeeCharged({
        currency: posting.currency,
        feeId: posting.balanceTransactionId,
        feeMinor: posting.feeMinor,
        reason: `charged on ${posting.pspChargeId ?? posting.pspPaymentId ?? 'a charge'} of checkout ${posting.checkoutId}`,
        metadata: {
          checkoutId: posting.checkoutId,
          ...(posting.paymentOrderId === null ? {} : { paymentOrderId: posting.paymentOrderId }),
          ...(posting.pspPaymentId === null ? {} : { pspPaymentId: posting.pspPaymentId }),
          ...(posting.pspChargeId === null ? {} : { pspChargeId: posting.pspChargeId }),
        },
      }),
    );
    return { entryId: posted.entryId, created: posted.created };
  },

  /** The PSP's conversion of a charge by the ledger's `fxSettled` recipe under `fx_settled:<balance transaction>`. */
  async postFxSettlement(client, posting) {
    const posted = await postEntry(
      client,
      fxSettled({
        settlementId: posting.balanceTransactionId,
        presentmentCurrency: posting.presentmentCurrency,
        amountMinor: posting.amountMinor,
        settlementCurrency: posting.settlementCurrency,
        settledMinor: posting.settledMinor,
        realisedMinor: posting.realisedMinor,
        exchangeRate: posting.exchangeRate,
        metadata: { checkoutId: posting.checkoutId },
      }),
    );
    return { entryId: posted.entryId };
  },
};
