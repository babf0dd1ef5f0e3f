import type { PoolClient } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { recordEvent } from '../events/index.ts';
import {
  chargebackLosses,
  debtOlderThan,
  debtStateId,
  debtWrittenOff,
  lockBalances,
  postEntry,
  sellerDebt,
  sellerReceivable,
} from '../ledger/index.ts';
import { assertCurrency, formatAmount, type CurrencyCode } from '../money/index.ts';
import { getSellerOrThrow } from './service.ts';
import { lockSellers } from './store.ts';

/**
 * Writing off a seller's debt (docs/payouts.md "Seller debt"): what a seller owes the platform and has not paid
 * back from later sales for `olderThanDays` becomes the platform's loss (`debt.written_off`: Dr chargeback_losses /
 * Cr seller receivable), by an operator's explicit decision, audited in `sellers.debt_write_offs` (who, what, when,
 * before and after) in the transaction that posts the entry, and told to the marketplace as
 * `seller.debt_written_off`.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

export interface WriteOffInput {
  sellerAccount: string;
  currency: string;
  reason: string | null;
  olderThanDays: number;
  dryRun: boolean;
  /** Who decided: the API key id, or `cli:<operating-system user>`. */
  actor: string;
  now: Date;
}

export interface DebtWriteOff {
  sellerAccount: string;
  currency: CurrencyCode;
  amountMinor: bigint;
  owedBeforeMinor: bigint;
  owedAfterMinor: bigint;
  debtSince: Date | null;
  olderThanDays: number;
  reason: string | null;
  actor: string;
  dryRun: boolean;
  ledgerEntryId: string | null;
  at: Date;
}

function checkedCurrency(raw: string): CurrencyCode {
  try {
    return assertCurrency(raw);
  } catch (error) {
    throw error instanceof AppError ? error.atField('currency') : error;
  }
}

/** What the write-off would be: the seller's debt older than the cutoff, under the seller's and the account's locks. */
async function planWriteOff(
  client: PoolClient,
  input: WriteOffInput,
): Promise<DebtWriteOff & { version: bigint }> {
  const seller = await getSellerOrThrow(client, input.sellerAccount);
  const currency = checkedCurrency(input.currency);
  // The seller's row is the lock payouts take before deciding on a balance; the receivable's, the claw-backs'.
  await lockSellers(client, [seller.sellerAccount]);
  const code = sellerReceivable(seller.sellerAccount, currency).code;
  // Both accounts the entry posts to, in the ledger's (code) order, so no claw-back deadlocks with a write-off.
  const locked = await lockBalances(client, [chargebackLosses(currency).code, code]);
  const receivable = locked.get(code);
  const owed = receivable?.balanceMinor ?? 0n;
  if (receivable === undefined || owed <= 0n) {
    throw new AppError('seller_has_no_debt', `seller ${seller.sellerAccount} owes nothing in ${currency}`, {
      field: 'currency',
    });
  }
  const cutoff = new Date(input.now.getTime() - input.olderThanDays * DAY_MS);
  const amount = await debtOlderThan(client, seller.sellerAccount, currency, cutoff);
  const { since } = await sellerDebt(client, seller.sellerAccount, currency);
  if (amount <= 0n) {
    throw new AppError(
      'debt_too_recent',
      `seller ${seller.sellerAccount} owes ${formatAmount(owed, currency)} ${currency} since ${since?.toISOString() ?? 'now'}, none of it older than ${input.olderThanDays} days`,
      { field: 'older_than_days' },
    );
  }
  return {
    sellerAccount: seller.sellerAccount,
    currency,
    amountMinor: amount,
    owedBeforeMinor: owed,
    owedAfterMinor: owed - amount,
    debtSince: since,
    olderThanDays: input.olderThanDays,
    reason: input.reason,
    actor: input.actor,
    dryRun: input.dryRun,
    ledgerEntryId: null,
    at: input.now,
    version: receivable.version,
  };
}

/**
 * Writes off the part of a seller's debt older than `olderThanDays`, in the caller's transaction; with `dryRun`,
 * only says what it would write off. Refused when the seller owes nothing (`seller_has_no_debt`) or nothing is old
 * enough (`debt_too_recent`). A retry of the same decision names the same ledger entry (its reference is the
 * receivable's state), and a re-run after it finds the old part gone.
 */
export async function writeOffDebt(client: PoolClient, input: WriteOffInput): Promise<DebtWriteOff> {
  const { version, ...plan } = await planWriteOff(client, input);
  if (input.dryRun) return plan;
  const posted = await postEntry(
    client,
    debtWrittenOff({
      sellerId: plan.sellerAccount,
      currency: plan.currency,
      amountMinor: plan.amountMinor,
      writeOffId: debtStateId(plan.sellerAccount, plan.currency, version),
      effectiveAt: input.now,
      metadata: { actor: plan.actor, reason: plan.reason, olderThanDays: plan.olderThanDays },
    }),
  );
  const audit = await client.query<{ created_at: Date }>(
    `INSERT INTO sellers.debt_write_offs (seller_account, currency, amount_minor, balance_before_minor,
       balance_after_minor, actor, reason, older_than_days, debt_since, ledger_entry_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING created_at`,
    [
      plan.sellerAccount,
      plan.currency,
      plan.amountMinor,
      plan.owedBeforeMinor,
      plan.owedAfterMinor,
      plan.actor,
      plan.reason,
      plan.olderThanDays,
      plan.debtSince,
      posted.entryId,
    ],
  );
  const done: DebtWriteOff = {
    ...plan,
    ledgerEntryId: posted.entryId,
    at: audit.rows[0]?.created_at ?? input.now,
  };
  await recordEvent(client, 'seller.debt_written_off', debtWriteOffToWire(done));
  return done;
}

/** A write-off as the API and the `seller.debt_written_off` event show it. */
export function debtWriteOffToWire(writeOff: DebtWriteOff) {
  const fmt = (minor: bigint) => formatAmount(minor, writeOff.currency);
  return {
    object: 'debt_write_off' as const,
    seller_account: writeOff.sellerAccount,
    currency: writeOff.currency,
    amount: fmt(writeOff.amountMinor),
    balance_due_before: fmt(-writeOff.owedBeforeMinor),
    balance_due_after: fmt(-writeOff.owedAfterMinor),
    debt_since: writeOff.debtSince?.toISOString() ?? null,
    older_than_days: writeOff.olderThanDays,
    reason: writeOff.reason,
    actor: writeOff.actor,
    dry_run: writeOff.dryRun,
    ledger_entry_id: writeOff.ledgerEntryId,
    created_at: writeOff.at.toISOString(),
  };
}

/** The audit rows of a seller's write-offs, oldest first (for operators and tests). */
export async function debtWriteOffAudit(
  client: Pick<PoolClient, 'query'>,
  sellerAccount: string,
): Promise<
  Array<{
    actor: string;
    amountMinor: bigint;
    beforeMinor: bigint;
    afterMinor: bigint;
    entryId: string;
    reason: string | null;
    createdAt: Date;
  }>
> {
  const rows = await client.query<{
    actor: string;
    amount_minor: bigint;
    balance_before_minor: bigint;
    balance_after_minor: bigint;
    ledger_entry_id: string;
    reason: string | null;
    created_at: Date;
  }>(
    `SELECT actor, amount_minor, balance_before_minor, balance_after_minor, ledger_entry_id, reason, created_at
       FROM sellers.debt_write_offs WHERE seller_account = $1 ORDER BY id`,
    [sellerAccount],
  );
  return rows.rows.map((row) => ({
    actor: row.actor,
    amountMinor: row.amount_minor,
    beforeMinor: row.balance_before_minor,
    afterMinor: row.balance_after_minor,
    entryId: row.ledger_entry_id,
    reason: row.reason,
    createdAt: row.created_at,
  }));
}
