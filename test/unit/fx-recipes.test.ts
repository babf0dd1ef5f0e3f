import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fxSettled, payinConverted } from '../../src/ledger/recipes-fx.ts';
import type { EntryInput } from '../../src/ledger/types.ts';
import { validateEntry } from '../../src/ledger/validate.ts';
import { convertMinor, parseRate, rateLessMarkup, type Rate } from '../../src/fx/rate.ts';

const FX = {
  quoteId: 'fxq_abcdefgh',
  rate: '1.0758',
  midRate: '1.0866',
  source: 'ecb:test',
  rateDate: '2024-05-17',
};

/** Debits − credits per currency: zero everywhere for a balanced entry. */
function netByCurrency(
  entry: EntryInput,
  filter: (code: string) => boolean = () => true,
): Map<string, bigint> {
  const net = new Map<string, bigint>();
  for (const p of entry.postings) {
    if (!filter(p.account.code)) continue;
    const signed = p.direction === 'debit' ? p.amountMinor : -p.amountMinor;
    net.set(p.account.currency, (net.get(p.account.currency) ?? 0n) + signed);
  }
  return net;
}

const isFx = (code: string) => code.startsWith('platform:fx_');
const PAIRS = [
  ['EUR', 'USD'],
  ['EUR', 'GBP'],
  ['JPY', 'USD'],
  ['KWD', 'USD'],
  ['USD', 'JPY'],
] as const;
const arbRate = fc
  .tuple(fc.bigInt({ min: 1n, max: 10n ** 10n }), fc.integer({ min: 0, max: 10 }))
  .map(([coefficient, scale]): Rate => ({ coefficient, scale }));

describe('FX ledger recipes', () => {
  it('a converted pay-in balances per currency: EUR through the FX position, USD to seller, fee and FX revenue', () => {
    const entry = payinConverted({
      paymentOrderId: 'po_1',
      sellerId: 's1',
      presentmentCurrency: 'EUR',
      grossMinor: 10_000n,
      settlementCurrency: 'USD',
      settlementMinor: 10_758n,
      midValueMinor: 10_866n,
      platformFeeMinor: 1_076n,
      fx: FX,
    });
    expect(() => validateEntry(entry)).not.toThrow();
    expect(entry.metadata).toMatchObject({ fxQuoteId: FX.quoteId, fxRate: '1.0758', fxSource: 'ecb:test' });
    const lines = entry.postings.map((p) => `${p.direction} ${p.account.code} ${p.amountMinor}`);
    expect(lines).toEqual([
      'debit platform:psp_clearing:EUR 10000',
      'credit platform:fx_position:EUR 10000',
      'debit platform:fx_position:USD 10866',
      'credit seller:s1:pending:USD 9682',
      'credit platform:fee_revenue:USD 1076',
      'credit platform:fx_revenue:USD 108',
    ]);
  });

  it('property: every conversion entry balances per currency, and outside the FX accounts no currency changes except by the FX accounts', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 11n }),
        arbRate,
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.constantFrom(...PAIRS),
        (gross, mid, markupBps, feeBps, [from, to]) => {
          const settled = convertMinor(gross, rateLessMarkup(mid, markupBps), from, to);
          const midValue = convertMinor(gross, mid, from, to);
          fc.pre(settled > 0n && midValue <= 10n ** 15n);
          const fee = (settled * BigInt(feeBps)) / 10_000n;
          const entry = payinConverted({
            paymentOrderId: 'po_p',
            sellerId: 's1',
            presentmentCurrency: from,
            grossMinor: gross,
            settlementCurrency: to,
            settlementMinor: settled,
            midValueMinor: midValue,
            platformFeeMinor: fee,
            fx: FX,
          });
          validateEntry(entry);
          for (const net of netByCurrency(entry).values()) expect(net).toBe(0n);
          // What the non-FX accounts gained in a currency, the FX accounts gave: nothing created or lost.
          const outside = netByCurrency(entry, (code) => !isFx(code));
          const inside = netByCurrency(entry, isFx);
          for (const [currency, net] of outside) expect(net + (inside.get(currency) ?? 0n)).toBe(0n);
          // The seller, the fee and the markup share exactly the mid value: no minor unit lost in rounding.
          const credits = entry.postings
            .filter((p) => p.account.currency === to && p.direction === 'credit')
            .reduce((sum, p) => sum + p.amountMinor, 0n);
          expect(credits).toBe(midValue);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('property: the PSP settlement entry balances per currency and realises gain or loss only in the FX accounts', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 11n }),
        fc.bigInt({ min: 1n, max: 10n ** 11n }),
        fc.bigInt({ min: -(10n ** 9n), max: 10n ** 9n }),
        (amount, settled, realised) => {
          fc.pre(settled - realised > 0n);
          const entry = fxSettled({
            settlementId: 'txn_1',
            presentmentCurrency: 'EUR',
            amountMinor: amount,
            settlementCurrency: 'USD',
            settledMinor: settled,
            realisedMinor: realised,
            exchangeRate: '1.08',
          });
          validateEntry(entry);
          for (const net of netByCurrency(entry).values()) expect(net).toBe(0n);
          const psp = netByCurrency(entry, (code) => code.startsWith('platform:psp_clearing'));
          expect(psp.get('EUR')).toBe(-amount);
          expect(psp.get('USD')).toBe(settled);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a conversion whose mid value is below what the seller is credited, or within one currency', () => {
    const base = {
      paymentOrderId: 'po_x',
      sellerId: 's1',
      presentmentCurrency: 'EUR',
      grossMinor: 100n,
      settlementCurrency: 'USD',
      settlementMinor: 110n,
      midValueMinor: 109n,
      platformFeeMinor: 0n,
      fx: FX,
    };
    expect(() => payinConverted(base)).toThrow(/midValueMinor/);
    expect(() => payinConverted({ ...base, midValueMinor: 120n, settlementCurrency: 'EUR' })).toThrow(
      /two currencies/,
    );
    expect(parseRate('1.0866')).toBeDefined();
  });
});
