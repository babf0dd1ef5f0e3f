import { describe, expect, it } from 'vitest';
import {
  classifyBankLine,
  type BankLine,
  type BankLineContext,
} from '../../src/reconciliation/domain/classify-bank.ts';
import type { PayoutFacts } from '../../src/reconciliation/domain/types.ts';

const base: BankLine = {
  importId: 'imp_1',
  seq: 3,
  line: 40,
  messageType: 'camt.053',
  statementId: 'STMT-1',
  amountMinor: 1000n,
  currency: 'EUR',
  creditDebit: 'DBIT',
  reversal: false,
  status: 'BOOK',
  bookingDate: '2024-03-01',
  acctSvcrRef: undefined,
  endToEndId: 'po_1',
  bankCode: undefined,
  returnCode: undefined,
  returnInfo: undefined,
  remittance: undefined,
};
const none: BankLineContext = { seenBefore: undefined, payout: undefined, pspPayout: undefined };
const payout = (status: PayoutFacts['status'], amountMinor = 1000n): PayoutFacts => ({
  id: 'po_1',
  amountMinor,
  currency: 'EUR',
  status,
});
const kinds = (line: Partial<BankLine>, ctx: Partial<BankLineContext>): string[] =>
  classifyBankLine({ ...base, ...line }, { ...none, ...ctx }).findings.map((f) => f.kind);

describe('bank line classification', () => {
  it('a line not booked yet is pending, and a line seen before is a duplicate whatever it is', () => {
    expect(classifyBankLine({ ...base, status: 'PDNG' }, none)).toEqual({
      findings: [],
      matched: false,
      pending: true,
    });
    expect(kinds({}, { seenBefore: { importId: 'imp_0', seq: 1 }, payout: payout('paid') })).toEqual([
      'duplicate_line',
    ]);
  });

  it('a debit settles our payout: matched when paid, settled when in transit, a mismatch when returned', () => {
    expect(classifyBankLine(base, { ...none, payout: payout('paid') })).toEqual({
      findings: [],
      matched: true,
      pending: false,
    });
    const inTransit = classifyBankLine(base, { ...none, payout: payout('in_transit') });
    expect(inTransit.matched).toBe(true);
    expect(inTransit.findings[0]?.fix).toEqual({
      type: 'settle_payout',
      payoutId: 'po_1',
      outcome: 'paid',
      reason: undefined,
    });
    expect(kinds({}, { payout: payout('returned') })).toEqual(['status_mismatch']);
    expect(kinds({}, { payout: payout('paid', 999n) })).toEqual(['amount_mismatch']);
    expect(kinds({}, {})).toEqual(['unmatched_bank_line']);
  });

  it('a return with a usual reason is applied, with another reason a person decides', () => {
    const returned = { creditDebit: 'CRDT' as const, returnCode: 'AC04' };
    const usual = classifyBankLine({ ...base, ...returned }, { ...none, payout: payout('paid') });
    expect(usual.findings.map((f) => [f.kind, f.fix?.type])).toEqual([
      ['payout_return_unapplied', 'settle_payout'],
    ]);
    expect(kinds({ ...returned, returnCode: 'XX99' }, { payout: payout('paid') })).toEqual([
      'payout_returned_unusual',
    ]);
    expect(kinds({ creditDebit: 'CRDT', reversal: true }, { payout: payout('returned') })).toEqual([]);
    expect(kinds(returned, {})).toEqual(['unmatched_bank_line']);
  });

  it('a credit meets a PSP payout and asks for it to be received, or is unmatched', () => {
    const psp = { id: 'py_1', amountMinor: 1000n, currency: 'EUR', matchedBy: 'reference' as const };
    expect(classifyBankLine({ ...base, creditDebit: 'CRDT' }, { ...none, pspPayout: psp })).toEqual({
      findings: [],
      matched: true,
      pending: false,
      receivePspPayout: { id: 'py_1', amountMinor: 1000n, currency: 'EUR' },
    });
    expect(kinds({ creditDebit: 'CRDT', currency: 'USD' }, { pspPayout: psp })).toEqual([
      'currency_mismatch',
    ]);
    expect(kinds({ creditDebit: 'CRDT' }, {})).toEqual(['unmatched_bank_line']);
  });
});
