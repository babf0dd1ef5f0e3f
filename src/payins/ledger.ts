import type { PoolClient } from '../db/pool.ts';
import type { OrderConversion } from './ports.ts';

/** What a successful payment order books: the buyer's money at the PSP to the seller's pending balance, fee to revenue. */
export interface PayinSuccessPosting {
  paymentOrderId: string;
  checkoutId: string;
  sellerAccount: string;
  currency: string;
  grossMinor: bigint;
  /** In the seller's currency: the settlement currency when the order is converted. */
  feeMinor: bigint;
  pspPaymentId: string | null;
  /** Present when the seller is paid in another currency than the order's (docs/currencies.md). */
  conversion?: OrderConversion;
}

/**
 * What the PSP charged us for one charge, booked when the PSP's answer carries it. Keyed by the charge's balance
 * transaction, the id the settlement report lists it under, so reconciliation finds it booked (docs/payins.md).
 */
export interface PspFeePosting {
  balanceTransactionId: string;
  /** The currency of the balance transaction (the fee's). */
  currency: string;
  feeMinor: bigint;
  pspPaymentId: string | null;
  pspChargeId: string | null;
  /** The checkout or payment order the charge paid for. */
  checkoutId: string;
  paymentOrderId: string | null;
}

/** The ledger as pay-ins need it; posts in the caller's open transaction so the status change commits with it. */
export interface PayinLedger {
  postPayinSuccess(client: PoolClient, posting: PayinSuccessPosting): Promise<{ entryId: string }>;
  /**
   * `postPayinSuccess` of many orders in one statement (a settle batch's), results in input order; all or nothing.
   * When absent, each is posted on its own.
   */
  postPayinSuccesses?(
    client: PoolClient,
    postings: PayinSuccessPosting[],
  ): Promise<Array<{ entryId: string }>>;
  /** Books the PSP's fee once per balance transaction; a second call returns the first entry (`created: false`). */
  postPspFee(client: PoolClient, posting: PspFeePosting): Promise<{ entryId: string; created: boolean }>;
  /**
   * `postPspFee` of many charges in one statement, all or nothing: a fee booked before with another amount fails
   * the whole call (the caller then books each on its own). When absent, each is posted on its own.
   */
  postPspFees?(
    client: PoolClient,
    postings: PspFeePosting[],
  ): Promise<Array<{ entryId: string; created: boolean }>>;
  /** Books the PSP's conversion of a charge into the settlement currency, once per balance transaction. */
  postFxSettlement?(client: PoolClient, posting: FxSettlementPosting): Promise<{ entryId: string }>;
}

/** The PSP converted a charge (docs/currencies.md): the gross in presentment, what it paid, the realised result. */
export interface FxSettlementPosting {
  balanceTransactionId: string;
  presentmentCurrency: string;
  amountMinor: bigint;
  settlementCurrency: string;
  settledMinor: bigint;
  realisedMinor: bigint;
  exchangeRate: string;
  checkoutId: string;
}
