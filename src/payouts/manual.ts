import type { Pool } from '../db/pool.ts';
import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { idempotentOnce, requestFingerprint, type IdempotencyKeyRef } from '../idempotency/index.ts';
import {
  getBalances,
  lockBalances,
  payoutStarted,
  postEntry,
  sellerAvailable,
  sellerInTransit,
  sellerPending,
  sellerReceivable,
  sellerReserved,
} from '../ledger/index.ts';
import { assertCurrency, formatAmount, parseAmount } from '../money/index.ts';
import { findPayoutSettings, findSeller, lockSellers, otherBankAccounts } from '../sellers/index.ts';
import { newPayoutId } from './ids.ts';
import { getHistory, getPayout, insertPayouts } from './store.ts';
import { payoutToWire } from './wire.ts';

export interface ManualPayoutRequest {
  apiKeyId: string;
  idempotencyKey: string;
  body: { seller_account: string; amount: unknown; currency: string; description?: string | undefined };
  /** The provider that carries a payout to these bank details (`providerNameFor`). */
  provider: (bank: Bank) => string;
  path: string;
}

export interface ManualPayoutResponse {
  status: number;
  body: unknown;
  replayed: boolean;
}

/** The Idempotency-Keys of `POST /v1/payouts` in the shared table (src/idempotency/); kept without expiry. */
export const PAYOUTS_IDEMPOTENCY_SCOPE = 'payouts';

/** The claim is made and completed in one transaction, so no other request ever sees it in progress. */
const PAYOUT_LEASE_MS = 60_000;

type Seller = NonNullable<Awaited<ReturnType<typeof findSeller>>>;
type Bank = NonNullable<Awaited<ReturnType<typeof findPayoutSettings>>['bank']>;
type ManualPayoutBody = ManualPayoutRequest['body'];

/** The seller to pay, locked for this transaction; `seller_unknown` when there is none. */
async function lockedSeller(client: Queryable, body: ManualPayoutBody): Promise<Seller> {
  const locked = await lockSellers(client, [body.seller_account]);
  const seller = locked.size === 1 ? await findSeller(client, body.seller_account) : undefined;
  if (!seller) {
    throw new AppError('seller_unknown', `no seller ${body.seller_account}`, {
      field: 'seller_account',
    });
  }
  return seller;
}

/** The request's currency and amount (the currency is checked against the seller's accounts by `payableBank`). */
function checkedAmount(body: ManualPayoutBody): { currency: string; amountMinor: bigint } {
  const currency = (() => {
    try {
      return assertCurrency(body.currency);
    } catch (error) {
      throw error instanceof AppError ? error.atField('currency') : error;
    }
  })();
  let amountMinor: bigint;
  try {
    amountMinor = parseAmount(body.amount, currency);
  } catch (error) {
    throw error instanceof AppError ? error.atField('amount') : error;
  }
  return { currency, amountMinor };
}

/** Whether the seller has any wallet account in the currency (was ever credited or paid in it). */
async function holdsCurrency(client: Queryable, seller: Seller, currency: string): Promise<boolean> {
  const id = seller.sellerAccount;
  const codes = [sellerPending, sellerAvailable, sellerReserved, sellerInTransit].map(
    (account) => account(id, currency).code,
  );
  return (await getBalances(client, codes)).size > 0;
}

/** The account payouts in `currency` go to, with its flag: the payout settings' for the own currency, else that currency's. */
async function accountFor(
  client: Queryable,
  seller: Seller,
  currency: string,
): Promise<{ bank: Bank | null; needsBankDetails: boolean; reason: string | null }> {
  if (currency === seller.currency) {
    const settings = await findPayoutSettings(client, seller.sellerAccount);
    return {
      bank: settings.bank,
      needsBankDetails: settings.needsBankDetails,
      reason: settings.needsBankDetailsReason,
    };
  }
  const accounts = (await otherBankAccounts(client, [seller.sellerAccount])).get(seller.sellerAccount) ?? [];
  const account = accounts.find((a) => a.currency === currency);
  return {
    bank: account?.bank ?? null,
    needsBankDetails: account?.needsBankDetails ?? false,
    reason: account?.needsBankDetailsReason ?? null,
  };
}

/**
 * The bank account payouts in `currency` go to: the payout settings' bank details for the seller's own currency,
 * else the seller's account of that currency (docs/payouts.md "Several currencies"). A currency the seller holds
 * nothing in and has no account for is `payout_currency_mismatch`; no usable account — none, or one flagged after
 * a returned payout in that currency — is `bank_details_missing`.
 */
async function payableBank(client: Queryable, seller: Seller, currency: string): Promise<Bank> {
  const { bank, needsBankDetails, reason } = await accountFor(client, seller, currency);
  if (bank === null && currency !== seller.currency && !(await holdsCurrency(client, seller, currency))) {
    throw new AppError(
      'payout_currency_mismatch',
      `currency: seller ${seller.sellerAccount} holds no ${currency} and has no ${currency} bank account (paid in ${seller.currency})`,
      { field: 'currency' },
    );
  }
  const field = currency === seller.currency ? 'seller_account' : 'currency';
  if (bank === null) {
    throw new AppError(
      'bank_details_missing',
      currency === seller.currency
        ? `seller ${seller.sellerAccount} has no bank details; set payout.iban and payout.bic (or account and routing numbers)`
        : `seller ${seller.sellerAccount} has no ${currency} bank account; add one in payout.bank_accounts`,
      { field },
    );
  }
  if (needsBankDetails) {
    throw new AppError(
      'bank_details_missing',
      `seller ${seller.sellerAccount} must give new ${currency} bank details: ${reason ?? 'a payout was returned'}`,
      { field },
    );
  }
  return bank;
}

/** Refuses an amount above the seller's available balance in that currency. */
async function checkAvailable(
  client: Queryable,
  seller: Seller,
  currency: string,
  amountMinor: bigint,
): Promise<void> {
  const availableCode = sellerAvailable(seller.sellerAccount, currency).code;
  const available = (await getBalances(client, [availableCode])).get(availableCode)?.balanceMinor ?? 0n;
  if (amountMinor > available) {
    throw new AppError('payout_exceeds_available', `amount: above the seller's available balance`, {
      field: 'amount',
    });
  }
}

/**
 * Refuses a payout to a seller who owes the platform in that currency (`seller_has_debt`): their money pays the
 * debt first (docs/payouts.md "Seller debt"). The receivable is read under its ledger lock, so a claw-back that
 * creates a debt waits for this payout to commit (and then takes what is left) instead of racing the check.
 */
async function checkNoDebt(client: Queryable, seller: Seller, currency: string): Promise<void> {
  const code = sellerReceivable(seller.sellerAccount, currency).code;
  // Every account the payout posts to is locked with the receivable, in the ledger's (code) order, so a claw-back
  // locking the same accounts queues behind this payout rather than deadlocking with it.
  const locked = await lockBalances(client, [
    sellerAvailable(seller.sellerAccount, currency).code,
    sellerInTransit(seller.sellerAccount, currency).code,
    code,
  ]);
  const owed = locked.get(code)?.balanceMinor ?? 0n;
  if (owed > 0n) {
    throw new AppError(
      'seller_has_debt',
      `seller ${seller.sellerAccount} owes the platform ${formatAmount(owed, assertCurrency(currency))} ${currency}; it is recovered from their next available money before any payout`,
      { field: 'seller_account' },
    );
  }
}

/** Posts the payout's ledger entry, stores the payout row, and returns its reply (201 and the payout). */
async function bookManualPayout(
  client: Queryable,
  request: ManualPayoutRequest,
  seller: Seller,
  amount: { currency: string; amountMinor: bigint },
  bank: Bank,
): Promise<{ status: number; body: unknown }> {
  const { currency, amountMinor } = amount;
  const id = newPayoutId();
  const posted = await postEntry(
    client,
    payoutStarted({
      currency,
      payoutId: id,
      sellerId: seller.sellerAccount,
      amountMinor,
      metadata: { manual: true },
    }),
  );
  await insertPayouts(client, [
    {
      id,
      sellerAccount: seller.sellerAccount,
      currency,
      amountMinor,
      source: 'manual',
      runDate: null,
      provider: request.provider(bank),
      destination: bank,
      ledgerEntryId: posted.entryId,
      apiKeyId: request.apiKeyId,
      idempotencyKey: request.idempotencyKey,
      reason: request.body.description ?? 'manual payout',
      historySource: 'api',
    },
  ]);
  const payout = await getPayout(client, id);
  if (!payout) throw new Error(`payout ${id} vanished in its own transaction`);
  return { status: 201, body: payoutToWire(payout, await getHistory(client, id)) };
}

/** The work under a claimed key: check the request, book the payout, the reply. */
async function manualPayoutWork(
  client: Queryable,
  request: ManualPayoutRequest,
): Promise<{ status: number; body: unknown }> {
  const seller = await lockedSeller(client, request.body);
  const amount = checkedAmount(request.body);
  const bank = await payableBank(client, seller, amount.currency);
  await checkNoDebt(client, seller, amount.currency);
  await checkAvailable(client, seller, amount.currency, amount.amountMinor);
  return await bookManualPayout(client, request, seller, amount, bank);
}

/**
 * A manual payout (`POST /v1/payouts`): refused above the seller's available balance, in another currency than
 * the seller's, or without bank details; otherwise the payout row, its ledger entry (available → in transit) and
 * the stored reply commit together. The same Idempotency-Key with the same body replays the reply; with another
 * body it is `idempotency_key_reused`. Refusals are not stored, so a retry after topping up is decided afresh.
 */
export async function createManualPayout(
  pool: Pool,
  request: ManualPayoutRequest,
): Promise<ManualPayoutResponse> {
  const ref: IdempotencyKeyRef = {
    apiKeyId: request.apiKeyId,
    scope: PAYOUTS_IDEMPOTENCY_SCOPE,
    key: request.idempotencyKey,
  };
  return await idempotentOnce(
    pool,
    ref,
    requestFingerprint('POST', request.path, request.body),
    {
      ttlMs: null,
      leaseMs: PAYOUT_LEASE_MS,
      reusedMessage: 'this Idempotency-Key was used with a different request',
    },
    (client) => manualPayoutWork(client, request),
  );
}
