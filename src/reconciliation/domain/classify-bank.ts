import type { Finding, PayoutFacts } from './types.ts';

/**
 * Matching and sorting of one bank-statement line (a camt.053/054 transaction). Pure. A credit into the platform's
 * account is the PSP paying out to us and meets a PSP payout from the settlement report; a debit is one of our
 * payouts to a seller, found by EndToEndId; a credit carrying return information (or reversing a debit) is one of
 * our payouts coming back.
 */

export interface BankLine {
  importId: string;
  seq: number;
  line: number;
  messageType: string;
  statementId: string;
  amountMinor: bigint;
  currency: string;
  creditDebit: 'CRDT' | 'DBIT';
  reversal: boolean;
  status: string;
  bookingDate: string | undefined;
  acctSvcrRef: string | undefined;
  endToEndId: string | undefined;
  bankCode: string | undefined;
  returnCode: string | undefined;
  returnInfo: string | undefined;
  remittance: string | undefined;
}

export interface BankLineContext {
  seenBefore: { importId: string; seq: number } | undefined;
  /** Our payout named by the line's EndToEndId. */
  payout: PayoutFacts | undefined;
  /** The PSP payout the credit met (by reference, else by amount and date), and whether it is booked already. */
  pspPayout:
    { id: string; amountMinor: bigint; currency: string; matchedBy: 'reference' | 'amount' } | undefined;
}

export interface BankLineResult {
  findings: Finding[];
  matched: boolean;
  /** Not final at the bank (PDNG, INFO, FUTR): neither matched nor an exception yet. */
  pending: boolean;
  /** A PSP payout received: book it (Dr bank / Cr PSP clearing) if it is not yet. */
  receivePspPayout?: { id: string; amountMinor: bigint; currency: string };
}

/**
 * Return reasons a payout routinely comes back with (ISO 20022 external return reason codes): the seller's account
 * is wrong, closed, blocked or its holder deceased, or a regulatory reason. The payout is returned and the seller
 * asked for new bank details. Any other reason (or none) is unusual and goes to finance.
 */
export const USUAL_RETURN_REASONS: ReadonlySet<string> = new Set([
  'AC01',
  'AC03',
  'AC04',
  'AC06',
  'AC13',
  'AG01',
  'AG02',
  'BE04',
  'MD07',
  'RC01',
  'RR01',
  'RR02',
  'RR03',
  'RR04',
]);

/**
 * A payout of ours coming back: a credit with return information, the bank transaction code of a returned transfer
 * (`…/RRTN`), or a reversal (ISO 20022: a credit with RvslInd true reverses an earlier debit).
 */
export function isReturnLine(line: BankLine): boolean {
  if (line.creditDebit === 'DBIT') return false;
  return (
    line.reversal ||
    line.returnCode !== undefined ||
    line.returnInfo !== undefined ||
    line.bankCode?.endsWith('/RRTN') === true
  );
}

export function bankEvidence(line: BankLine): Record<string, unknown> {
  return {
    source: line.messageType,
    import_id: line.importId,
    seq: line.seq,
    line: line.line,
    statement_id: line.statementId,
    amount_minor: line.amountMinor.toString(),
    currency: line.currency,
    credit_debit: line.creditDebit,
    reversal: line.reversal,
    status: line.status,
    ...(line.bookingDate === undefined ? {} : { booking_date: line.bookingDate }),
    ...(line.acctSvcrRef === undefined ? {} : { acct_svcr_ref: line.acctSvcrRef }),
    ...(line.endToEndId === undefined ? {} : { end_to_end_id: line.endToEndId }),
    ...(line.bankCode === undefined ? {} : { bank_code: line.bankCode }),
    ...(line.returnCode === undefined ? {} : { return_code: line.returnCode }),
    ...(line.returnInfo === undefined ? {} : { return_info: line.returnInfo }),
    ...(line.remittance === undefined ? {} : { remittance: line.remittance }),
  };
}

function key(line: BankLine, kind: string): string {
  return `${kind}:bank:${line.importId}:${line.seq}`;
}

function single(finding: Finding, matched = false): BankLineResult {
  return { findings: [finding], matched, pending: false };
}

function moneyDiffers(
  line: BankLine,
  expected: { amountMinor: bigint; currency: string },
  what: string,
): Finding | undefined {
  if (expected.currency !== line.currency) {
    return {
      kind: 'currency_mismatch',
      cause: `the bank moved ${line.currency}; ${what} is in ${expected.currency}`,
      dedupeKey: key(line, 'currency_mismatch'),
      evidence: { line: bankEvidence(line) },
      currency: line.currency,
      amountMinor: line.amountMinor,
    };
  }
  if (expected.amountMinor !== line.amountMinor) {
    return {
      kind: 'amount_mismatch',
      cause: `the bank moved ${line.amountMinor}; ${what} is ${expected.amountMinor} (${line.currency} minor units)`,
      dedupeKey: key(line, 'amount_mismatch'),
      evidence: { line: bankEvidence(line), expected_minor: expected.amountMinor.toString() },
      currency: line.currency,
      amountMinor: line.amountMinor - expected.amountMinor,
    };
  }
  return undefined;
}

function unmatched(line: BankLine, why: string): BankLineResult {
  return single({
    kind: 'unmatched_bank_line',
    cause: `bank line ${line.statementId}#${line.seq} (${line.creditDebit} ${line.amountMinor} ${line.currency}) matches nothing of ours: ${why}`,
    dedupeKey: key(line, 'unmatched_bank_line'),
    evidence: { line: bankEvidence(line) },
    currency: line.currency,
    amountMinor: line.amountMinor,
  });
}

function matched(): BankLineResult {
  return { findings: [], matched: true, pending: false };
}

/** A line seen before (same bank reference, or same line of an earlier import). */
function duplicate(line: BankLine, seenBefore: { importId: string; seq: number }): BankLineResult {
  return single({
    kind: 'duplicate_line',
    cause: `bank line ${line.acctSvcrRef ?? `${line.statementId}#${line.seq}`} was seen before (import ${seenBefore.importId}, #${seenBefore.seq})`,
    dedupeKey: key(line, 'duplicate_line'),
    evidence: {
      line: bankEvidence(line),
      first_seen: { import_id: seenBefore.importId, seq: seenBefore.seq },
    },
    currency: line.currency,
    amountMinor: line.amountMinor,
  });
}

/** A payout of ours coming back: applied when its reason is a usual one, else a person decides. */
function classifyReturn(line: BankLine, payout: PayoutFacts | undefined): BankLineResult {
  if (payout === undefined) return unmatched(line, 'a return that names no payout of ours (EndToEndId)');
  const differs = moneyDiffers(line, payout, `payout ${payout.id}`);
  if (differs !== undefined) return single(differs);
  if (payout.status === 'returned') return matched();
  const reason = [line.returnCode, line.returnInfo].filter((part) => part !== undefined).join(' ');
  const evidence = { line: bankEvidence(line), payout: { id: payout.id, status: payout.status } };
  if (line.returnCode !== undefined && USUAL_RETURN_REASONS.has(line.returnCode)) {
    return single(
      {
        kind: 'payout_return_unapplied',
        cause: `the bank returned payout ${payout.id} (${reason}) but it is ${payout.status} here`,
        dedupeKey: `payout_return_unapplied:${payout.id}`,
        evidence,
        currency: line.currency,
        amountMinor: line.amountMinor,
        fix: { type: 'settle_payout', payoutId: payout.id, outcome: 'returned', reason },
      },
      true,
    );
  }
  return single({
    kind: 'payout_returned_unusual',
    cause: `the bank returned payout ${payout.id} with an unusual reason (${reason === '' ? 'none given' : reason}): a person decides`,
    dedupeKey: `payout_returned_unusual:${payout.id}`,
    evidence,
    currency: line.currency,
    amountMinor: line.amountMinor,
  });
}

/** A debit: one of our payouts paid by the bank, settled here when it is still in transit. */
function classifyPayoutDebit(line: BankLine, payout: PayoutFacts | undefined): BankLineResult {
  if (payout === undefined) return unmatched(line, 'a debit whose EndToEndId names no payout of ours');
  const differs = moneyDiffers(line, payout, `payout ${payout.id}`);
  if (differs !== undefined) return single(differs);
  if (payout.status === 'paid') return matched();
  const evidence = { line: bankEvidence(line), payout: { id: payout.id, status: payout.status } };
  if (payout.status === 'returned') {
    return single({
      kind: 'status_mismatch',
      cause: `the bank paid payout ${payout.id}, which is returned here`,
      dedupeKey: key(line, 'status_mismatch'),
      evidence,
      currency: line.currency,
      amountMinor: line.amountMinor,
    });
  }
  return single(
    {
      kind: 'payout_paid_in_transit',
      cause: `the bank paid payout ${payout.id} but it is still ${payout.status} here`,
      dedupeKey: `payout_paid_in_transit:${payout.id}`,
      evidence,
      currency: line.currency,
      amountMinor: line.amountMinor,
      fix: { type: 'settle_payout', payoutId: payout.id, outcome: 'paid', reason: undefined },
    },
    true,
  );
}

/** A credit: the PSP paying out to us, received (and booked if it is not yet) when it meets a PSP payout. */
function classifyPspCredit(line: BankLine, psp: BankLineContext['pspPayout']): BankLineResult {
  if (psp === undefined)
    return unmatched(line, 'a credit that meets no PSP payout of the settlement reports');
  const differs = moneyDiffers(line, psp, `PSP payout ${psp.id}`);
  if (differs !== undefined) return single(differs);
  return {
    findings: [],
    matched: true,
    pending: false,
    receivePspPayout: { id: psp.id, amountMinor: psp.amountMinor, currency: psp.currency },
  };
}

export function classifyBankLine(line: BankLine, ctx: BankLineContext): BankLineResult {
  if (line.status !== 'BOOK') return { findings: [], matched: false, pending: true };
  if (ctx.seenBefore !== undefined) return duplicate(line, ctx.seenBefore);
  if (isReturnLine(line)) return classifyReturn(line, ctx.payout);
  if (line.creditDebit === 'DBIT') return classifyPayoutDebit(line, ctx.payout);
  return classifyPspCredit(line, ctx.pspPayout);
}
