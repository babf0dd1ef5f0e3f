import { postEntry } from '../ledger/service.ts';
import { payinSucceeded } from '../ledger/recipes.ts';
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
};
