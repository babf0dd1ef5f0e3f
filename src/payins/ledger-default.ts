import {
  fxSettled,
  payinConverted,
  payinSucceeded,
  postEntries,
  postEntry,
  pspFeeCharged,
  type EntryInput,
} from '../ledger/index.ts';
import type { PayinLedger, PayinSuccessPosting, PspFeePosting } from './ledger.ts';
import type { OrderConversion } from './ports.ts';

/** A converted order's entry: the ledger's FX recipe, balanced per currency through the FX position accounts. */
function convertedEntry(posting: PayinSuccessPosting, conversion: OrderConversion): EntryInput {
  return payinConverted({
    paymentOrderId: posting.paymentOrderId,
    sellerId: posting.sellerAccount,
    presentmentCurrency: posting.currency,
    grossMinor: posting.grossMinor,
    settlementCurrency: conversion.settlementCurrency,
    settlementMinor: conversion.settlementMinor,
    midValueMinor: conversion.midValueMinor,
    platformFeeMinor: posting.feeMinor,
    fx: conversion,
    metadata: metadataOf(posting),
  });
}

function metadataOf(posting: PayinSuccessPosting): Record<string, string> {
  return {
    checkoutId: posting.checkoutId,
    ...(posting.pspPaymentId === null ? {} : { pspPaymentId: posting.pspPaymentId }),
  };
}

/** The entry of one order's success: the FX recipe when converted, else `payinSucceeded`. */
function successEntry(posting: PayinSuccessPosting): EntryInput {
  if (posting.conversion) return convertedEntry(posting, posting.conversion);
  return payinSucceeded({
    currency: posting.currency,
    paymentOrderId: posting.paymentOrderId,
    sellerId: posting.sellerAccount,
    grossMinor: posting.grossMinor,
    platformFeeMinor: posting.feeMinor,
    metadata: metadataOf(posting),
  });
}

/** The PSP fee's entry: `pspFeeCharged` under `psp_fee:<balance transaction>`. */
function pspFeeEntry(posting: PspFeePosting): EntryInput {
  return pspFeeCharged({
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
  });
}

/**
 * The pay-in success entry, by the ledger's recipe (docs/ledger.md): debit PSP clearing the gross, credit the
 * seller's pending balance the gross less the platform fee, credit fee revenue the fee. The recipe's reference
 * (`payin:<payment order>:succeeded`) makes a second posting for the same order return the first.
 */
export const defaultPayinLedger: PayinLedger = {
  async postPayinSuccess(client, posting) {
    const posted = await postEntry(client, successEntry(posting));
    return { entryId: posted.entryId };
  },

  async postPayinSuccesses(client, postings) {
    const posted = await postEntries(client, postings.map(successEntry));
    return posted.map((entry) => ({ entryId: entry.entryId }));
  },

  /**
   * The PSP's fee by the ledger's `pspFeeCharged` recipe (Dr platform psp_fees / Cr PSP clearing) under
   * `psp_fee:<balance transaction>` — the very reference reconciliation books a missing fee under, so whichever
   * comes first books it and the other finds it.
   */
  async postPspFee(client, posting) {
    const posted = await postEntry(client, pspFeeEntry(posting));
    return { entryId: posted.entryId, created: posted.created };
  },

  async postPspFees(client, postings) {
    const posted = await postEntries(client, postings.map(pspFeeEntry));
    return posted.map((entry) => ({ entryId: entry.entryId, created: entry.created }));
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
