import type { PspLine } from '../psp-report/reader.ts';
import type { Finding } from './types.ts';

/**
 * Reconciliation of converted lines (docs/currencies.md "Reconciliation"). Pure. A charge, refund, refund failure,
 * dispute or dispute reversal line is converted when the report's customer-facing currency (what the buyer paid or
 * got back) differs from its currency (what moved in the PSP balance). Its gross is compared with what
 * `fx_settled:<balance transaction>` moved on PSP clearing in that currency, both signed (money in > 0, out < 0):
 * equal is `fx_matched`; a difference within the tolerance is booked as FX gain or loss
 * (`fx_difference_booked`); beyond it, an `fx_difference` exception; nothing booked, `fx_settlement_unbooked`.
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

/**
 * What reconciliation records about one converted line, and what follows from it. Amounts recorded are magnitudes
 * (recon.fx_lines): `differenceMinor` = reported − booked, so on money going out a negative difference means the
 * PSP took less than booked (a gain); `bookMinor` is the signed difference the ledger books (> 0 a gain).
 */
export interface FxLineOutcome {
  kind: FxLineKind;
  balanceTransactionId: string;
  /** The line's reporting category (charge, refund, refund_failure, dispute, dispute_reversal). */
  category: string;
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

/**
 * What the ledger booked for the line's balance transaction (fx_settled), when anything: what it moved on PSP
 * clearing in `currency`, signed (debit > 0: a charge's settlement; credit < 0: a refund or withdrawal).
 */
export interface FxBooked {
  settledMinor: bigint;
  currency: string;
}

function magnitude(value: bigint): bigint {
  return value < 0n ? -value : value;
}

/** The money the line moved, in words for an exception's cause. */
function moved(line: PspLine, side: { currency: string; amountMinor: bigint }): string {
  const txn = line.balanceTransactionId;
  if (line.grossMinor > 0n)
    return `the PSP settled ${side.amountMinor} ${side.currency} as ${line.grossMinor} ${line.currency} minor units on ${txn}`;
  return `the PSP paid ${magnitude(side.amountMinor)} ${side.currency} back out of ${magnitude(line.grossMinor)} ${line.currency} minor units on ${txn} (${line.category})`;
}

/**
 * Classifies a converted line, given what `fx_settled:<balance transaction>` booked. Undefined for a line that is
 * not converted, whose two sides do not move the same way (a zero or opposite-signed amount), or whose conversion
 * was booked in another currency (the caller's currency check speaks for that).
 */
export function classifyFxLine(
  line: PspLine & { importId: string },
  booked: FxBooked | undefined,
  toleranceBps: number,
  evidence: Record<string, unknown>,
): FxLineOutcome | undefined {
  const side = convertedSide(line);
  if (side === undefined || side.amountMinor === 0n || line.grossMinor === 0n) return undefined;
  if (side.amountMinor > 0n !== line.grossMinor > 0n) return undefined;
  if (booked !== undefined && booked.currency !== line.currency) return undefined;
  const txn = line.balanceTransactionId;
  const base = {
    balanceTransactionId: txn,
    category: line.category,
    presentmentCurrency: side.currency,
    presentmentMinor: magnitude(side.amountMinor),
    settlementCurrency: line.currency,
    reportedMinor: magnitude(line.grossMinor),
    toleranceBps,
  };
  if (booked === undefined || booked.settledMinor === 0n) {
    return {
      ...base,
      kind: 'fx_settlement_unbooked',
      bookedMinor: undefined,
      differenceMinor: undefined,
      finding: {
        kind: 'fx_settlement_unbooked',
        cause: `${moved(line, side)}; no conversion (fx_settled:${txn}) is booked`,
        dedupeKey: `fx_settlement_unbooked:${txn}`,
        evidence,
        currency: line.currency,
        amountMinor: line.grossMinor,
      },
    };
  }
  const bookedMinor = magnitude(booked.settledMinor);
  // Signed: > 0 the PSP paid in more (or took out less) than booked, a gain.
  const signed = line.grossMinor - booked.settledMinor;
  const compared = { ...base, bookedMinor, differenceMinor: base.reportedMinor - bookedMinor };
  if (signed === 0n) return { ...compared, kind: 'fx_matched' };
  if (withinTolerance(signed, bookedMinor, toleranceBps))
    return { ...compared, kind: 'fx_difference_booked', bookMinor: signed };
  return {
    ...compared,
    kind: 'fx_difference',
    finding: {
      kind: 'fx_difference',
      cause: `${moved(line, side)}; ${bookedMinor} is booked, a difference of ${signed} beyond the tolerance of ${toleranceBps} bp`,
      dedupeKey: `fx_difference:${txn}`,
      evidence: { ...evidence, booked_minor: booked.settledMinor.toString(), tolerance_bps: toleranceBps },
      currency: line.currency,
      amountMinor: signed,
    },
  };
}
