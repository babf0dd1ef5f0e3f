import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { readHeader, readLine } from '../../src/reconciliation/psp-report/reader.ts';

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

const COLUMNS = [
  'balance_transaction_id',
  'created_utc',
  'created',
  'currency',
  'gross',
  'fee',
  'net',
  'reporting_category',
  'charge_id',
  'payment_metadata[payment_order_id]',
  'payment_metadata[note]',
];

describe('PSP report header', () => {
  it('refuses a header without a required column, or with a column twice, naming the line', () => {
    expect(refusal(() => readHeader(['balance_transaction_id', 'currency', 'gross', 'fee', 'net'], 1))).toBe(
      'psp report: line 1, column reporting_category: the header lacks the required column "reporting_category"',
    );
    expect(refusal(() => readHeader([...COLUMNS, ' fee '], 1))).toBe(
      'psp report: line 1, column (header): a column name appears twice',
    );
  });

  it('prefers the _utc timestamp columns and finds the payment_metadata[key] columns', () => {
    const header = readHeader(COLUMNS, 1);
    expect(header.createdColumn).toBe('created_utc');
    expect(header.availableColumn).toBe('available_on');
    expect(header.payoutAtColumn).toBe('automatic_payout_effective_at');
    expect(header.metadataColumns).toEqual([
      { key: 'payment_order_id', at: 9 },
      { key: 'note', at: 10 },
    ]);
  });
});

describe('PSP report line', () => {
  const header = readHeader(COLUMNS, 1);
  const row = (changes: Partial<Record<string, string>> = {}): string[] =>
    COLUMNS.map(
      (column) =>
        changes[column] ??
        {
          balance_transaction_id: 'txn_1',
          created_utc: '2024-03-01 10:00:00',
          created: 'ignored',
          currency: 'eur',
          gross: '10.00',
          fee: '0.30',
          net: '9.70',
          reporting_category: 'charge',
          charge_id: '',
          'payment_metadata[payment_order_id]': 'po_1',
          'payment_metadata[note]': '',
        }[column] ??
        '',
    );

  it('reads signed minor units, upper-cases the currency, leaves empty optional fields and metadata out', () => {
    expect(readLine(header, row(), 2)).toEqual({
      line: 2,
      balanceTransactionId: 'txn_1',
      category: 'charge',
      currency: 'EUR',
      grossMinor: 1000n,
      feeMinor: 30n,
      netMinor: 970n,
      createdAt: new Date('2024-03-01T10:00:00Z'),
      availableOn: undefined,
      sourceId: undefined,
      description: undefined,
      chargeId: undefined,
      paymentIntentId: undefined,
      payoutId: undefined,
      payoutEffectiveAt: undefined,
      disputeReason: undefined,
      metadata: { payment_order_id: 'po_1' },
    });
  });

  it('refuses net ≠ gross − fee, an unknown currency, an empty id and a bad timestamp, naming line and column', () => {
    expect(refusal(() => readLine(header, row({ net: '9.71' }), 3))).toBe(
      'psp report: line 3, column net: net 9.71 is not gross 10.00 − fee 0.30',
    );
    expect(refusal(() => readLine(header, row({ currency: 'EURO' }), 3))).toBe(
      'psp report: line 3, column currency: "EURO" is not an ISO 4217 currency',
    );
    expect(refusal(() => readLine(header, row({ balance_transaction_id: '' }), 3))).toBe(
      'psp report: line 3, column balance_transaction_id: empty',
    );
    expect(refusal(() => readLine(header, row({ created_utc: '1 March' }), 3))).toContain(
      'line 3, column created_utc: "1 March" is not a timestamp',
    );
    expect(refusal(() => readLine(header, row({ gross: '10.001' }), 4))).toMatch(
      /^psp report: line 4, column gross: "10.001" EUR: /,
    );
  });
});
