import type { PspLine } from '../psp-report/reader.ts';
import type { Finding } from './types.ts';

/**
 * Reconciliation of converted charges (docs/currencies.md "Reconciliation"). Pure. A charge line is converted
 * when the report's customer-facing currency (what the buyer paid in) differs from its currency (what the PSP
 * settled in). Its settled gross is compared with the amount booked under `fx_settled:<balance transaction>`:
 * equal is `fx_matched`; a difference within the tolerance is booked as FX gain or loss (`fx_difference_booked`);
 * beyond it, an `fx_difference` exception; nothing booked, an `fx_settlement_unbooked` exception.
 */

export const FX_LINE_KINDS = [
  'fx_matched',
  'fx_difference_booked',
  'fx_difference',
  'fx_settlement_unbooked',
] as const;
export type FxLineKind = (typeof FX_LINE_KINDS)[number];

export const DEFAULT_FX_TOLERANCE_BPS = 10;

/** The presentment side of a converted line (the customer-facing amount and currency); undefined otherwise. */
export function convertedSide(line: PspLine): { currency: string; amountMinor: bigint } | undefined {
  const facing = line.customerFacing;
  if (facing === undefined || facing.currency === line.currency) return undefined;
  return facing;
}

/**
 * Whether a difference is within `toleranceBps` basis points of the booked amount, exactly in bigint:
 * |difference| × 10 000 ≤ toleranceBps × booked. The database checks the same inequality on recon.fx_lines.
 */
export function withinTolerance(differenceMinor: bigint, bookedMinor: bigint, toleranceBps: number): boolean {
  if (!Number.isSafeInteger(toleranceBps) || toleranceBps < 0 || toleranceBps > 10_000)
    throw new RangeError('toleranceBps must be a whole number in 0..10000');
  if (bookedMinor <= 0n) throw new RangeError('bookedMinor must be positive');
  const magnitude = differenceMinor < 0n ? -differenceMinor : differenceMinor;
  return magnitude * 10_000n <= BigInt(toleranceBps) * bookedMinor;
}

/** What reconciliation records about one converted charge line, and what follows from it. */
export interface FxLineOutcome {
  kind: FxLineKind;
  balanceTransactionId: string;
  presentmentCurrency: string;
  presentmentMinor: bigint;
  settlementCurrency: string;
  reportedMinor: bigint;
  bookedMinor: bigint | undefined;
  differenceMinor: bigint | undefined;
  toleranceBps: number;
  /** fx_difference_booked: the difference to book with the ledger's `fxSettlementDifference`. */
  bookMinor?: bigint;
  /** fx_difference, fx_settlement_unbooked: the exception to file. */
  finding?: Finding;
}

/** What the ledger booked for the line's balance transaction (fx_settled), when anything. */
export interface FxBooked {
  settledMinor: bigint;
  currency: string;
}

/**
 * Classifies a converted charge line, given what `fx_settled:<balance transaction>` booked. Undefined for a line
 * that is not a converted charge with positive amounts, or whose conversion was booked in another currency (the
 * caller's currency check speaks for that).
 */
export function classifyFxLine(
  line: PspLine & { importId: string },
  booked: FxBooked | undefined,
  toleranceBps: number,
  evidence: Record<string, unknown>,
): FxLineOutcome | undefined {
  const side = convertedSide(line);
  if (side === undefined || side.amountMinor <= 0n || line.grossMinor <= 0n) return undefined;
  if (booked !== undefined && booked.currency !== line.currency) return undefined;
  const txn = line.balanceTransactionId;
  const base = {
    balanceTransactionId: txn,
    presentmentCurrency: side.currency,
    presentmentMinor: side.amountMinor,
    settlementCurrency: line.currency,
    reportedMinor: line.grossMinor,
    toleranceBps,
  };
  if (booked === undefined) {
    return {
      ...base,
      kind: 'fx_settlement_unbooked',
      bookedMinor: undefined,
      differenceMinor: undefined,
      finding: {
        kind: 'fx_settlement_unbooked',
        cause: `the PSP settled ${side.amountMinor} ${side.currency} as ${line.grossMinor} ${line.currency} minor units on ${txn}; no conversion (fx_settled:${txn}) is booked`,
        dedupeKey: `fx_settlement_unbooked:${txn}`,
        evidence,
        currency: line.currency,
        amountMinor: line.grossMinor,
      },
    };
  }
  const difference = line.grossMinor - booked.settledMinor;
  const compared = { ...base, bookedMinor: booked.settledMinor, differenceMinor: difference };
  if (difference === 0n) return { ...compared, kind: 'fx_matched' };
  if (withinTolerance(difference, booked.settledMinor, toleranceBps))
    return { ...compared, kind: 'fx_difference_booked', bookMinor: difference };
  return {
    ...compared,
    kind: 'fx_difference',
    finding: {
      kind: 'fx_difference',
      cause: `the PSP settled ${line.grossMinor} ${line.currency} minor units on ${txn}; ${booked.settledMinor} is booked, a difference of ${difference} beyond the tolerance of ${toleranceBps} bp`,
      dedupeKey: `fx_difference:${txn}`,
      evidence: { ...evidence, booked_minor: booked.settledMinor.toString(), tolerance_bps: toleranceBps },
      currency: line.currency,
      amountMinor: difference,
    },
  };
}
