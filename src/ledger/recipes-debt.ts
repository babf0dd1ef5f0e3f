import { AppError } from '../errors.ts';
import { chargebackLosses, sellerAvailable, sellerReceivable } from './chart.ts';
import type { EntryInput } from './types.ts';

/**
 * The recipes of a seller's debt (docs/ledger.md "Seller debt"): what a seller owes the platform sits on
 * `seller:<id>:receivable:<CUR>` (debited by a claw-back the seller's balances did not cover, `splitClawback`), and
 * leaves it either recovered from the seller's later money or written off as the platform's loss. Pure, like the
 * other recipes: the reference comes from the caller's id, so booking the same event twice books it once.
 */

export const DEBT_ENTRY_KINDS = {
  debtRecovered: 'debt.recovered',
  debtWrittenOff: 'debt.written_off',
} as const;

interface DebtCommon {
  sellerId: string;
  currency: string;
  amountMinor: bigint;
  effectiveAt?: Date;
  metadata?: Record<string, unknown>;
}

function positiveAmount(value: bigint): bigint {
  if (typeof value !== 'bigint' || value <= 0n) {
    throw new AppError('ledger_entry_invalid', 'amountMinor must be a positive amount in minor units', {
      field: 'amountMinor',
    });
  }
  return value;
}

function debtEntry(
  input: DebtCommon,
  reference: string,
  kind: string,
  description: string,
  debitAccount: EntryInput['postings'][number]['account'],
): EntryInput {
  const amount = positiveAmount(input.amountMinor);
  return {
    reference,
    kind,
    description,
    ...(input.effectiveAt === undefined ? {} : { effectiveAt: input.effectiveAt }),
    postings: [
      { account: debitAccount, direction: 'debit', amountMinor: amount },
      { account: sellerReceivable(input.sellerId, input.currency), direction: 'credit', amountMinor: amount },
    ],
    metadata: { sellerId: input.sellerId, ...input.metadata },
  };
}

/**
 * A seller's debt is recovered from money the platform owes them: their available balance shrinks by what the
 * receivable does.  Dr seller_available / Cr seller_receivable.
 * `recoveryId` names the recovery; `debtRecoveryId` derives it from the receivable's state.
 */
export function debtRecovered(input: DebtCommon & { recoveryId: string }): EntryInput {
  return debtEntry(
    input,
    `debt_recovery:${input.recoveryId}`,
    DEBT_ENTRY_KINDS.debtRecovered,
    `debt of seller ${input.sellerId} recovered from their available balance: ${input.amountMinor}`,
    sellerAvailable(input.sellerId, input.currency),
  );
}

/**
 * What a seller owes and will not pay is written off as the platform's loss (an operator's audited decision).
 *   Dr chargeback_losses / Cr seller_receivable
 */
export function debtWrittenOff(input: DebtCommon & { writeOffId: string }): EntryInput {
  return debtEntry(
    input,
    `debt_write_off:${input.writeOffId}`,
    DEBT_ENTRY_KINDS.debtWrittenOff,
    `debt of seller ${input.sellerId} written off as a loss: ${input.amountMinor}`,
    chargebackLosses(input.currency),
  );
}

/**
 * The id of a recovery or write-off of the receivable in one state: seller, currency and the receivable's chain
 * length (its `version`, read under the account's lock). A retry of the same decision in the same state names the
 * same entry; any later posting on the receivable gives the next decision a new name.
 */
export function debtStateId(sellerId: string, currency: string, receivableVersion: bigint): string {
  return `${sellerId}:${currency}:v${receivableVersion}`;
}
