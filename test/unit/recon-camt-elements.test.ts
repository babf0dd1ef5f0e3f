import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { finishBalance, newBalanceDraft, readBalanceField } from '../../src/reconciliation/camt/balance.ts';
import { containerNameOf, documentKindOf, statementNameOf } from '../../src/reconciliation/camt/document.ts';
import type { ClosedElement } from '../../src/reconciliation/camt/element.ts';
import { finishEntry, newEntryDraft, readEntryField } from '../../src/reconciliation/camt/entry.ts';
import {
  checkStatementBeforeEntry,
  checkStatementEnd,
  newStatement,
  readStatementField,
  settleBookedBalances,
} from '../../src/reconciliation/camt/statement.ts';
import {
  finishTransaction,
  newTransactionDraft,
  openTransactionChild,
  readTransactionField,
} from '../../src/reconciliation/camt/transaction.ts';
import { amountOf, creditDebitOf, dateOf, statusOf } from '../../src/reconciliation/camt/values.ts';

function closed(path: string, value: string, line = 7, currencyAttr?: string): ClosedElement {
  return { path, value, line, currencyAttr };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('reconciliation_file_malformed');
    return (error as AppError).message;
  }
  throw new Error('expected a refusal');
}

function statement() {
  return newStatement({ messageType: 'camt.053', version: '08', messageId: 'M1', index: 1, line: 3 });
}

describe('camt element values', () => {
  it('reads an amount in minor units of its Ccy and refuses a missing amount, currency or a rounding', () => {
    expect(amountOf('8.850', 'EUR', 4, 'Ntry')).toEqual({ amountMinor: 885n, currency: 'EUR' });
    expect(refusal(() => amountOf(undefined, 'EUR', 4, 'Ntry'))).toBe(
      'camt: line 4, <Ntry/Amt>: the amount is missing',
    );
    expect(refusal(() => amountOf('1.00', undefined, 4, 'Ntry'))).toBe(
      'camt: line 4, <Ntry/Amt>: the amount has no Ccy attribute',
    );
    expect(refusal(() => amountOf('8.855', 'EUR', 4, 'Ntry'))).toMatch(
      /^camt: line 4, <Ntry\/Amt>: "8.855" EUR: /,
    );
  });

  it('accepts only CRDT/DBIT, any present entry status and ISO dates, naming the element otherwise', () => {
    expect(creditDebitOf('DBIT', 2, 'TxDtls')).toBe('DBIT');
    expect(refusal(() => creditDebitOf('X', 2, 'TxDtls'))).toBe(
      'camt: line 2, <TxDtls/CdtDbtInd>: "X" is neither CRDT nor DBIT',
    );
    expect(refusal(() => creditDebitOf(undefined, 2, 'Ntry'))).toContain('missing (CRDT or DBIT required)');
    expect(statusOf('FUTR', 1)).toBe('FUTR');
    expect(refusal(() => statusOf(undefined, 9))).toBe('camt: line 9, <Sts>: the entry has no status');
    // From 001.08 the status is an external code: any other code is read as it is (not booked).
    expect(statusOf('DONE', 9)).toBe('DONE');
    expect(dateOf('2024-01-31', 1, 'X')).toBe('2024-01-31');
    expect(dateOf('2024-01-31T10:00:00.5+01:00', 1, 'X')).toBe('2024-01-31T10:00:00.5+01:00');
    expect(refusal(() => dateOf('31.01.2024', 1, 'Bal/Dt/Dt'))).toContain('<Bal/Dt/Dt>');
  });
});

describe('camt document element', () => {
  it('knows camt.052, camt.053 and camt.054 versions 02 to 13 and refuses any other root or version', () => {
    const ns = (type: string, v: string) => `urn:iso:std:iso:20022:tech:xsd:camt.${type}.001.${v}`;
    expect(documentKindOf('Document', ns('053', '02'), 1)).toEqual({
      messageType: 'camt.053',
      version: '02',
    });
    expect(documentKindOf('Document', ns('054', '13'), 1)).toEqual({
      messageType: 'camt.054',
      version: '13',
    });
    expect(refusal(() => documentKindOf('Document', ns('053', '14'), 1))).toContain(
      'not a supported version',
    );
    expect(refusal(() => documentKindOf('Doc', ns('053', '08'), 1))).toContain(
      'not a camt.052/053/054 document',
    );
    expect(documentKindOf('Document', ns('052', '08'), 1)).toEqual({
      messageType: 'camt.052',
      version: '08',
    });
    expect([containerNameOf('camt.052'), statementNameOf('camt.052')]).toEqual(['BkToCstmrAcctRpt', 'Rpt']);
    expect([containerNameOf('camt.053'), statementNameOf('camt.053')]).toEqual(['BkToCstmrStmt', 'Stmt']);
    expect([containerNameOf('camt.054'), statementNameOf('camt.054')]).toEqual([
      'BkToCstmrDbtCdtNtfctn',
      'Ntfctn',
    ]);
  });
});

describe('camt statement element', () => {
  it('keeps its id, sequences, creation time and account, and needs an Id and an account', () => {
    const s = statement();
    expect(refusal(() => checkStatementBeforeEntry(s, 5, 'Stmt'))).toContain(
      '<Stmt/Id>: the statement has no Id',
    );
    for (const [path, value] of [
      ['Id', 'S1'],
      ['ElctrncSeqNb', '12'],
      ['LglSeqNb', '3'],
      ['CreDtTm', '2024-01-31T10:00:00'],
      ['Acct/Ccy', 'EUR'],
      ['Acct/Svcr/FinInstnId/BIC', 'IGNORED'],
    ] as const)
      readStatementField(s, closed(path, value));
    expect(refusal(() => checkStatementEnd(s, 5, 'Ntfctn'))).toContain(
      '<Ntfctn/Acct>: the statement names no account',
    );
    readStatementField(s, closed('Acct/Id/Othr/Id', 'ACC-9'));
    checkStatementEnd(s, 5, 'Stmt');
    expect(s).toMatchObject({
      id: 'S1',
      electronicSequence: '12',
      legalSequence: '3',
      createdAt: '2024-01-31T10:00:00',
      accountOther: 'ACC-9',
      accountIban: undefined,
      accountCurrency: 'EUR',
      messageId: 'M1',
    });
  });

  it('takes OPBD (else PRCD) as the opening and CLBD as the closing balance', () => {
    const s = statement();
    const bal = (type: string) => ({
      type,
      amountMinor: 1n,
      currency: 'EUR',
      creditDebit: 'CRDT' as const,
      signedMinor: 1n,
      date: undefined,
    });
    s.balances.push(bal('PRCD'), bal('CLBD'));
    settleBookedBalances(s);
    expect([s.openingBalance?.type, s.closingBalance?.type]).toEqual(['PRCD', 'CLBD']);
    s.balances.push(bal('OPBD'));
    settleBookedBalances(s);
    expect(s.openingBalance?.type).toBe('OPBD');
  });
});

describe('camt balance element', () => {
  it('signs a debit balance negative and keeps its type and date', () => {
    const b = newBalanceDraft(10);
    readBalanceField(b, closed('Tp/CdOrPrtry/Cd', 'CLBD'));
    readBalanceField(b, closed('Amt', '12.30', 12, 'EUR'));
    readBalanceField(b, closed('CdtDbtInd', 'DBIT'));
    readBalanceField(b, closed('Dt/Dt', '2024-01-31'));
    expect(finishBalance(b, 'Stmt/Bal')).toEqual({
      type: 'CLBD',
      amountMinor: 1230n,
      currency: 'EUR',
      creditDebit: 'DBIT',
      signedMinor: -1230n,
      date: '2024-01-31',
    });
  });

  it('refuses a balance without a type, naming the element and the line of Bal', () => {
    const b = newBalanceDraft(10);
    readBalanceField(b, closed('Amt', '1.00', 11, 'EUR'));
    expect(refusal(() => finishBalance(b, 'Ntfctn/Bal'))).toBe(
      'camt: line 10, <Ntfctn/Bal/Tp>: the balance has no type',
    );
    expect(refusal(() => readBalanceField(b, closed('Dt/DtTm', 'yesterday', 13)))).toContain(
      'line 13, <Bal/Dt/DtTm>',
    );
  });
});

describe('camt entry element', () => {
  it('builds an entry with its status, dates, references, batch references and the bank transaction code joined', () => {
    const e = newEntryDraft(20);
    for (const c of [
      closed('Amt', '5', 21, 'JPY'),
      closed('CdtDbtInd', 'CRDT'),
      closed('RvslInd', 'true'),
      closed('Sts', ''),
      closed('Sts/Cd', 'BOOK', 23),
      closed('BookgDt/Dt', '2024-02-01'),
      closed('ValDt/DtTm', '2024-02-02T00:00:00Z'),
      closed('NtryRef', 'R1'),
      closed('AcctSvcrRef', 'A1'),
      closed('BkTxCd/Domn/Cd', 'PMNT'),
      closed('BkTxCd/Domn/Fmly/Cd', 'ICDT'),
      closed('BkTxCd/Domn/Fmly/SubFmlyCd', 'RRTN'),
      closed('BkTxCd/Prtry/Cd', 'P9'),
      closed('AddtlNtryInf', 'hello'),
      closed('NtryDtls/Btch/MsgId', 'pf_file1'),
      closed('NtryDtls/Btch/PmtInfId', 'pf_file1-EUR'),
    ])
      readEntryField(e, c);
    const s = statement();
    expect(finishEntry(e, s, 4)).toEqual({
      statement: s,
      index: 4,
      line: 20,
      amountMinor: 5n,
      currency: 'JPY',
      creditDebit: 'CRDT',
      reversal: true,
      status: 'BOOK',
      bookingDate: '2024-02-01',
      valueDate: '2024-02-02T00:00:00Z',
      entryRef: 'R1',
      acctSvcrRef: 'A1',
      bankTransactionCode: 'PMNT/ICDT/RRTN',
      proprietaryCode: 'P9',
      additionalInfo: 'hello',
      batchReferences: ['pf_file1', 'pf_file1-EUR'],
      transactions: [],
    });
  });

  it('refuses an entry without a status (at the line of its Sts) or with a reversal that is not a boolean', () => {
    const e = newEntryDraft(20);
    readEntryField(e, closed('Amt', '1.00', 21, 'EUR'));
    readEntryField(e, closed('CdtDbtInd', 'DBIT'));
    readEntryField(e, closed('Sts', '', 22));
    expect(refusal(() => finishEntry(e, statement(), 1))).toBe(
      'camt: line 20, <Sts>: the entry has no status',
    );
    readEntryField(e, closed('Sts', 'PDNG', 22));
    readEntryField(e, closed('RvslInd', 'yes'));
    expect(refusal(() => finishEntry(e, statement(), 1))).toBe(
      'camt: line 20, <Ntry/RvslInd>: "yes" is not an xs:boolean (true, false, 1, 0)',
    );
  });
});

describe('camt transaction element', () => {
  it('keeps references, remittance (unstructured first) and a return, preferring Amt over AmtDtls/TxAmt/Amt', () => {
    const t = newTransactionDraft(30);
    openTransactionChild(t, 'RtrInf');
    for (const c of [
      closed('Amt', '2.50', 31, 'EUR'),
      closed('AmtDtls/TxAmt/Amt', '9.99', 32, 'USD'),
      closed('CdtDbtInd', 'DBIT'),
      closed('Refs/MsgId', 'MSG'),
      closed('Refs/AcctSvcrRef', 'ASR'),
      closed('Refs/InstrId', 'INS'),
      closed('Refs/EndToEndId', 'E2E'),
      closed('Refs/TxId', 'TX'),
      closed('RmtInf/Strd/CdtrRefInf/Ref', 'RF18'),
      closed('RmtInf/Ustrd', 'invoice 1'),
      closed('RtrInf/Rsn/Cd', 'AC04'),
      closed('RtrInf/Rsn/Prtry', 'P'),
      closed('RtrInf/AddtlInf', 'closed account'),
    ])
      readTransactionField(t, c);
    expect(finishTransaction(t)).toEqual({
      amountMinor: 250n,
      currency: 'EUR',
      creditDebit: 'DBIT',
      messageId: 'MSG',
      acctSvcrRef: 'ASR',
      instructionId: 'INS',
      endToEndId: 'E2E',
      transactionId: 'TX',
      remittance: ['invoice 1', 'RF18'],
      returnInfo: { code: 'AC04', proprietary: 'P', additionalInfo: ['closed account'] },
    });
  });

  it('leaves amount, direction and return undefined when absent, and takes the older AmtDtls amount alone', () => {
    const bare = newTransactionDraft(30);
    expect(finishTransaction(bare)).toMatchObject({
      amountMinor: undefined,
      currency: undefined,
      creditDebit: undefined,
      returnInfo: undefined,
      remittance: [],
    });
    const old = newTransactionDraft(30);
    readTransactionField(old, closed('AmtDtls/TxAmt/Amt', '9.99', 32, 'USD'));
    expect(finishTransaction(old)).toMatchObject({ amountMinor: 999n, currency: 'USD' });
    readTransactionField(old, closed('CdtDbtInd', 'BOTH'));
    expect(refusal(() => finishTransaction(old))).toBe(
      'camt: line 30, <TxDtls/CdtDbtInd>: "BOTH" is neither CRDT nor DBIT',
    );
  });
});
