import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { sellerAvailable, sellerPending } from '../../src/ledger/chart.ts';
import { entryIdOf, entryRowIdOf } from '../../src/ledger/ids.ts';
import * as recipes from '../../src/ledger/recipes.ts';
import type { EntryInput } from '../../src/ledger/types.ts';
import { contentKeyOf, validateEntry } from '../../src/ledger/validate.ts';

const common = { currency: 'USD', sellerId: 's1' };
const all: [string, EntryInput][] = [
  [
    'pay-in',
    recipes.payinSucceeded({
      ...common,
      paymentOrderId: 'po_1',
      grossMinor: 10_000n,
      platformFeeMinor: 1_200n,
    }),
  ],
  ['psp fee', recipes.pspFeeCharged({ currency: 'USD', feeId: 'f1', feeMinor: 59n, reason: 'card fee' })],
  ['hold release', recipes.holdReleased({ ...common, releaseId: 'r1', amountMinor: 8_800n })],
  ['reserve hold', recipes.reserveHeld({ ...common, reserveId: 'rs1', amountMinor: 500n })],
  ['reserve release', recipes.reserveReleased({ ...common, reserveId: 'rs1', amountMinor: 500n })],
  ['payout started', recipes.payoutStarted({ ...common, payoutId: 'p1', amountMinor: 8_800n })],
  ['payout paid', recipes.payoutPaid({ ...common, payoutId: 'p1', amountMinor: 8_800n })],
  [
    'payout returned',
    recipes.payoutReturned({ ...common, payoutId: 'p1', amountMinor: 8_800n, wasPaid: false, reason: 'x' }),
  ],
  [
    'payout returned after paid',
    recipes.payoutReturned({ ...common, payoutId: 'p1', amountMinor: 8_800n, wasPaid: true, reason: 'x' }),
  ],
  ['psp payout', recipes.pspPayout({ currency: 'USD', pspPayoutId: 'pp1', amountMinor: 9_941n })],
  [
    'refund',
    recipes.refund({
      ...common,
      refundId: 'rf1',
      paymentOrderId: 'po_1',
      amountMinor: 10_000n,
      from: 'available',
      platformFeeRefundedMinor: 1_200n,
    }),
  ],
  [
    'chargeback',
    recipes.chargeback({
      ...common,
      chargebackId: 'cb1',
      paymentOrderId: 'po_1',
      amountMinor: 10_000n,
      sellerCoversMinor: 4_000n,
      from: 'available',
    }),
  ],
  [
    'suspense',
    recipes.suspenseReceived({
      currency: 'USD',
      suspenseId: 'u1',
      amountMinor: 10n,
      at: 'platform_bank',
      reason: 'unknown',
    }),
  ],
];

describe('posting recipes', () => {
  it.each(all)('%s builds a valid, balanced entry with a stable reference', (_name, entry) => {
    expect(() => validateEntry(entry)).not.toThrow();
    expect(entry.reference).toMatch(/^[a-z_]+:/);
  });

  it('pay-in: the seller is owed gross minus the platform fee, the fee is revenue', () => {
    const entry = all[0]?.[1];
    expect(entry?.postings.map((p) => [p.account.code, p.direction, p.amountMinor])).toEqual([
      ['platform:psp_clearing:USD', 'debit', 10_000n],
      [sellerPending('s1', 'USD').code, 'credit', 8_800n],
      ['platform:fee_revenue:USD', 'credit', 1_200n],
    ]);
  });

  it('leaves zero-amount lines out and refuses impossible splits', () => {
    const noFee = recipes.payinSucceeded({
      ...common,
      paymentOrderId: 'po_2',
      grossMinor: 100n,
      platformFeeMinor: 0n,
    });
    expect(noFee.postings).toHaveLength(2);
    expect(() =>
      recipes.payinSucceeded({ ...common, paymentOrderId: 'po_3', grossMinor: 100n, platformFeeMinor: 101n }),
    ).toThrow(AppError);
    expect(() =>
      recipes.chargeback({
        ...common,
        chargebackId: 'c',
        paymentOrderId: 'p',
        amountMinor: 1n,
        sellerCoversMinor: 2n,
        from: 'pending',
      }),
    ).toThrow(AppError);
    expect(() => recipes.holdReleased({ ...common, releaseId: 'r', amountMinor: 0n })).toThrow(AppError);
  });

  it('seller accounts are liabilities owned by the seller with a floor of zero', () => {
    expect(sellerAvailable('acme', 'EUR')).toEqual({
      code: 'seller:acme:available:EUR',
      type: 'liability',
      currency: 'EUR',
      ownerId: 'acme',
      floorMinor: 0n,
    });
    expect(() => sellerAvailable('a:b', 'EUR')).toThrow();
  });
});

describe('entry validation', () => {
  const base = all[0]?.[1] as EntryInput;

  it('tells replays from conflicts by kind and postings, whatever their order', () => {
    const reordered = { ...base, postings: [...base.postings].reverse(), description: 'other words' };
    expect(validateEntry(reordered).contentKey).toBe(validateEntry(base).contentKey);
    expect(contentKeyOf('a', [{ code: 'x', direction: 'debit', amountMinor: 1n }])).not.toBe(
      contentKeyOf('a', [{ code: 'x', direction: 'debit', amountMinor: 2n }]),
    );
  });

  it.each([
    ['one posting', { ...base, postings: base.postings.slice(0, 1) }, 'ledger_entry_invalid'],
    [
      'a negative amount',
      { ...base, postings: base.postings.map((p) => ({ ...p, amountMinor: -p.amountMinor })) },
      'ledger_entry_invalid',
    ],
    [
      'a lower-case currency',
      { ...base, postings: base.postings.map((p) => ({ ...p, account: { ...p.account, currency: 'usd' } })) },
      'ledger_entry_invalid',
    ],
    [
      'unbalanced amounts',
      {
        ...base,
        postings: base.postings.map((p, i) => (i === 0 ? { ...p, amountMinor: p.amountMinor + 1n } : p)),
      },
      'ledger_entry_unbalanced',
    ],
    ['an empty reference', { ...base, reference: '' }, 'ledger_entry_invalid'],
  ] as [string, EntryInput, string][])('refuses %s', (_name, entry, code) => {
    expect(() => validateEntry(entry)).toThrow(expect.objectContaining({ code }));
  });

  it('entry ids round-trip and reject anything else', () => {
    expect(entryRowIdOf(entryIdOf(42n))).toBe(42n);
    expect(entryRowIdOf('je_0')).toBeUndefined();
    expect(entryRowIdOf('po_42')).toBeUndefined();
    expect(entryRowIdOf('je_99999999999999999999')).toBeUndefined();
  });
});
