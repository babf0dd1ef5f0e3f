import { describe, expect, it } from 'vitest';
import { accountFailures, currencyFailures, entryFailures } from '../../src/ledger/verify.ts';

const account = {
  code: 'seller:s1:available:EUR',
  debits_minor: 100n,
  credits_minor: 300n,
  version: 2n,
  balance: 200n,
  dr: 100n,
  cr: 300n,
  n: 2n,
  breaks: 0n,
  first_break: null,
  last_balance: 200n,
};

describe('ledger verification, row by row', () => {
  it('an entry with fewer than two postings and unbalanced fails both checks', () => {
    expect(
      entryFailures({ id: 1n, reference: 'r1', n: 1n, unbalanced: 'EUR 5' }).map((f) => f.check),
    ).toEqual(['entry_postings', 'entry_balance']);
    expect(entryFailures({ id: 1n, reference: 'r1', n: 2n, unbalanced: null })).toEqual([]);
  });

  it('an account agreeing with its postings passes; cached sums, then last balance, then chain breaks fail', () => {
    expect(accountFailures(account)).toEqual([]);
    expect(accountFailures({ ...account, version: 3n })).toEqual([
      expect.objectContaining({ check: 'cached_balance', subject: account.code }),
    ]);
    expect(accountFailures({ ...account, last_balance: 199n })[0]?.detail).toBe(
      "cached balance 200; last posting's balance-after 199",
    );
    // A wrong cached sum is reported once, not also as a wrong last balance.
    expect(accountFailures({ ...account, dr: 0n, last_balance: 1n })).toHaveLength(1);
    expect(accountFailures({ ...account, breaks: 2n, first_break: 5n })).toEqual([
      {
        check: 'posting_chain',
        subject: account.code,
        detail: '2 break(s) in the posting chain, the first at seq 5',
      },
    ]);
  });

  it('a currency whose debits and credits differ fails zero_sum with the difference', () => {
    expect(currencyFailures({ currency: 'EUR', dr: 10n, cr: 10n, n: 2n })).toEqual([]);
    expect(currencyFailures({ currency: 'EUR', dr: 10n, cr: 7n, n: 2n })).toEqual([
      { check: 'zero_sum', subject: 'EUR', detail: 'debits 10 ≠ credits 7 (difference 3)' },
    ]);
  });
});
