import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/pool.ts';
import type { PaymentServiceProvider } from '../psp/index.ts';
import type { RefundsConfig } from './config.ts';
import type { RefundableOrder } from './types.ts';

/** Dead letters of refunds whose attempts at the PSP ran out (`bursar dlq` shows and replays them). */
export const REFUND_DEAD_LETTER_QUEUE = 'refunds-execute';

/** What refunds need of pay-ins: payment orders, read through pay-ins' public functions (wired in compose). */
export interface RefundOrders {
  byIds(db: Queryable, paymentOrderIds: string[]): Promise<RefundableOrder[]>;
  byCheckout(db: Queryable, checkoutId: string): Promise<RefundableOrder[]>;
  byPspPayment(db: Queryable, pspPaymentId: string): Promise<RefundableOrder[]>;
}

/** What refunds need of sellers: the refund policy that applies to a seller. */
export interface RefundTerms {
  refundPolicyFor(
    db: Queryable,
    sellerAccount: string,
  ): Promise<{ platformFee: 'keep' | 'proportional'; pspFee: 'platform' | 'seller' }>;
}

export interface RefundsRuntime {
  ctx: AppContext;
  config: RefundsConfig;
  psp: PaymentServiceProvider;
  orders: RefundOrders;
  terms: RefundTerms;
}
