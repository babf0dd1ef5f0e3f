import { payinSucceeded, postEntry, pspFeeCharged } from '../ledger/index.ts';
import type { PayinLedger } from './ledger.ts';

/**
 * The pay-in success entry, by the ledger's recipe (docs/ledger.md): debit PSP clearing the gross, credit the
 * seller's pending balance the gross less the platform fee, credit fee revenue the fee. The recipe's reference
 * (`payin:<payment order>:succeeded`) makes a second posting for the same order return the first.
 */
export const defaultPayinLedger: PayinLedger = {
  async postPayinSuccess(client, posting) {
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
};
