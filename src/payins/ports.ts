import type { PoolClient, Queryable } from '../db/pool.ts';
import type { FeePolicy } from '../money/platform-fee.ts';
import type { PspEventMeaning } from '../psp/index.ts';

/**
 * What pay-ins need to know about sellers, defined here and implemented by the sellers module (wired in
 * src/compose.ts), so that pay-ins depend on neither the sellers' tables nor the payouts module.
 */
export interface SellerTerms {
  /**
   * The registered sellers among `sellerAccounts`, by id, with their status (a checkout refuses a deactivated one:
   * `seller_inactive`) and currency, share-locked until the caller's transaction ends. One read for the checkout.
   */
  checkoutSellers(
    db: Queryable,
    sellerAccounts: string[],
  ): Promise<Map<string, { status: 'active' | 'inactive'; currency: string }>>;
  /** The platform fee policy of the seller (their own when agreed, else the platform's) and their hold period. */
  termsFor(db: Queryable, sellerAccount: string): Promise<{ fee: FeePolicy; holdDays: number }>;
  /** `termsFor` of many sellers in one read, by seller (a settle batch's); when absent, `termsFor` each. */
  termsForMany?(
    db: Queryable,
    sellerAccounts: string[],
  ): Promise<Map<string, { fee: FeePolicy; holdDays: number }>>;
}

/** A successful pay-in as other modules hear of it, inside the pay-in's own transaction. */
export interface PayinSucceeded {
  paymentOrderId: string;
  sellerAccount: string;
  currency: string;
  /** What the seller was credited: the gross less the platform fee. */
  netMinor: bigint;
  holdDays: number;
}

/** Effects of pay-ins owned by other modules (the payouts module's hold record), run in the caller's transaction. */
export interface PayinEffects {
  onPayinSucceeded(client: PoolClient, payin: PayinSucceeded): Promise<void>;
  /** `onPayinSucceeded` of many pay-ins in one statement (a settle batch's); when absent, each on its own. */
  onPayinsSucceeded?(client: PoolClient, payins: PayinSucceeded[]): Promise<void>;
}

/** Refunded amounts (succeeded refunds) per payment order: implemented by the refunds module (src/compose.ts). */
export type RefundTotals = (db: Queryable, paymentOrderIds: string[]) => Promise<Map<string, bigint>>;

/** A stored PSP event as a handler sees it. */
export interface StoredPspEvent {
  /** The PSP's event id (evt_…). */
  id: string;
  type: string;
  object: Record<string, unknown>;
}

/**
 * Who acts on PSP events that are not about pay-ins (refunds, disputes, payouts): other modules register a handler
 * here (src/compose.ts). The pay-in worker stores and dispatches every event; a handler runs inside the event's
 * processing transaction (no network calls there) and returns the outcome text stored on the event. An event with
 * no handler is recorded as ignored.
 */
export interface PspEventHandlers {
  refund?(
    client: PoolClient,
    meaning: Extract<PspEventMeaning, { subject: 'refund' }>,
    event: StoredPspEvent,
  ): Promise<string>;
  dispute?(
    client: PoolClient,
    meaning: Extract<PspEventMeaning, { subject: 'dispute' }>,
    event: StoredPspEvent,
  ): Promise<string>;
  payout?(
    client: PoolClient,
    meaning: Extract<PspEventMeaning, { subject: 'payout' }>,
    event: StoredPspEvent,
  ): Promise<string>;
}

/** How a payment order is converted when its seller is paid in another currency (docs/currencies.md). */
export interface OrderConversion {
  settlementCurrency: string;
  /** The gross at the quote's rate (the seller's share and the platform fee are computed on it). */
  settlementMinor: bigint;
  /** The gross at the mid rate: the difference to `settlementMinor` is the platform's FX markup. */
  midValueMinor: bigint;
  rate: string;
  midRate: string;
  quoteId: string;
  source: string;
  rateDate: string;
}

/**
 * The conversion port, implemented with the FX module and the sellers' payout currency (src/compose.ts). It
 * answers null when the seller is paid in the order's currency, and refuses a pair no rate converts
 * (`currency_not_supported_for_seller`) and a named quote that is expired or for another pair.
 */
export interface CurrencyConversion {
  convertOrder(
    db: Queryable,
    order: {
      sellerAccount: string;
      /** The seller's own currency, as the checkout read it (`SellerTerms.checkoutSellers`). */
      sellerCurrency: string;
      currency: string;
      amountMinor: bigint;
      fxQuoteId: string | undefined;
    },
  ): Promise<OrderConversion | null>;
}
