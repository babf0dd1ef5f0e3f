import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/tx.ts';
import type { Pool } from '../../src/db/pool.ts';
import { AppError } from '../../src/errors.ts';
import {
  feeRevenue,
  platformBank,
  pspClearing,
  sellerAvailable,
  sellerInTransit,
  sellerPending,
} from '../../src/ledger/chart.ts';
import {
  holdReleased,
  payinSucceeded,
  payoutPaid,
  payoutReturned,
  payoutStarted,
} from '../../src/ledger/recipes.ts';
import {
  balanceAt,
  getBalances,
  getEntry,
  listAccountsByOwner,
  paidOutTotal,
  postEntries,
  postEntry,
  reverseEntry,
  verifyLedger,
} from '../../src/ledger/service.ts';
import type { EntryInput } from '../../src/ledger/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool;
});
afterAll(async () => {
  await db.drop();
});

function post(input: EntryInput) {
  return withTransaction(pool, (client) => postEntry(client, input));
}

async function errorOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

function transfer(
  reference: string,
  from: string,
  to: string,
  amountMinor: bigint,
  currency = 'USD',
): EntryInput {
  return {
    reference,
    kind: 'test.transfer',
    description: 'test',
    postings: [
      { account: { code: from, type: 'asset', currency }, direction: 'credit', amountMinor },
      { account: { code: to, type: 'asset', currency }, direction: 'debit', amountMinor },
    ],
  };
}

describe('posting entries', () => {
  it('books a pay-in: balances, chain numbers and balance-after are recorded on the account and postings', async () => {
    const posted = await post(
      payinSucceeded({
        paymentOrderId: 'po_1',
        sellerId: 's1',
        currency: 'USD',
        grossMinor: 10_000n,
        platformFeeMinor: 1_000n,
      }),
    );
    expect(posted.created).toBe(true);
    expect(posted.entryId).toMatch(/^je_\d+$/);
    const balances = await getBalances(pool, [
      pspClearing('USD').code,
      sellerPending('s1', 'USD').code,
      feeRevenue('USD').code,
    ]);
    expect(balances.get(pspClearing('USD').code)?.balanceMinor).toBe(10_000n);
    expect(balances.get(sellerPending('s1', 'USD').code)?.balanceMinor).toBe(9_000n);
    expect(balances.get(feeRevenue('USD').code)?.balanceMinor).toBe(1_000n);
    const entry = await getEntry(pool, posted.entryId);
    expect(entry?.kind).toBe('payin.succeeded');
    expect(
      entry?.postings.map((p) => [p.accountCode, p.direction, p.amountMinor, p.seq, p.balanceAfterMinor]),
    ).toEqual([
      [pspClearing('USD').code, 'debit', 10_000n, 1n, 10_000n],
      [sellerPending('s1', 'USD').code, 'credit', 9_000n, 1n, 9_000n],
      [feeRevenue('USD').code, 'credit', 1_000n, 1n, 1_000n],
    ]);
    const owned = await listAccountsByOwner(pool, 's1');
    expect(owned.map((a) => a.code)).toEqual([sellerPending('s1', 'USD').code]);
  });

  it('the same reference twice returns the first entry; different contents are a conflict', async () => {
    const input = transfer('idem:1', 'idem:a', 'idem:b', 500n);
    const first = await post(input);
    const again = await post({
      ...input,
      description: 'retried',
      effectiveAt: new Date('2020-01-01T00:00:00Z'),
    });
    expect(again).toEqual({ entryId: first.entryId, created: false });
    const conflict = await errorOf(post(transfer('idem:1', 'idem:a', 'idem:b', 501n)));
    expect(conflict.code).toBe('ledger_reference_conflict');
    expect((await getBalances(pool, ['idem:b'])).get('idem:b')?.balanceMinor).toBe(500n);
  });

  it('concurrent posters of one reference produce exactly one entry', async () => {
    const input = transfer('race:1', 'race:a', 'race:b', 70n);
    const results = await Promise.all(Array.from({ length: 8 }, () => post(input)));
    expect(new Set(results.map((r) => r.entryId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const balance = (await getBalances(pool, ['race:b'])).get('race:b');
    expect(balance?.balanceMinor).toBe(70n);
    expect(balance?.version).toBe(1n);
  });

  it('refuses invalid and unbalanced entries before they reach the database', async () => {
    const one = transfer('bad:1', 'bad:a', 'bad:b', 5n);
    expect((await errorOf(post({ ...one, postings: one.postings.slice(0, 1) }))).code).toBe(
      'ledger_entry_invalid',
    );
    const zero = transfer('bad:2', 'bad:a', 'bad:b', 0n);
    expect((await errorOf(post(zero))).code).toBe('ledger_entry_invalid');
    const unbalanced = transfer('bad:3', 'bad:a', 'bad:b', 5n);
    unbalanced.postings[1] = {
      ...unbalanced.postings[1],
      amountMinor: 6n,
    } as (typeof unbalanced.postings)[1];
    expect((await errorOf(post(unbalanced))).code).toBe('ledger_entry_unbalanced');
    // Balanced in total but not per currency.
    const mixed = transfer('bad:4', 'bad:a', 'bad:eur', 5n);
    mixed.postings[1] = {
      account: { code: 'bad:eur', type: 'asset', currency: 'EUR' },
      direction: 'debit',
      amountMinor: 5n,
    };
    expect((await errorOf(post(mixed))).code).toBe('ledger_entry_unbalanced');
  });

  it('refuses an account spec that disagrees with the stored account', async () => {
    await post(transfer('spec:1', 'spec:a', 'spec:b', 5n));
    const otherType = transfer('spec:2', 'spec:a', 'spec:b', 5n);
    otherType.postings[0] = {
      account: { code: 'spec:a', type: 'liability', currency: 'USD' },
      direction: 'debit',
      amountMinor: 5n,
    };
    otherType.postings[1] = {
      account: { code: 'spec:b', type: 'asset', currency: 'USD' },
      direction: 'credit',
      amountMinor: 5n,
    };
    expect((await errorOf(post(otherType))).code).toBe('ledger_entry_invalid');
    const otherCurrency: EntryInput = {
      reference: 'spec:3',
      kind: 'test',
      description: 'test',
      postings: [
        { account: { code: 'spec:a', type: 'asset', currency: 'EUR' }, direction: 'debit', amountMinor: 5n },
        {
          account: { code: 'spec:eur', type: 'asset', currency: 'EUR' },
          direction: 'credit',
          amountMinor: 5n,
        },
      ],
    };
    expect((await errorOf(post(otherCurrency))).code).toBe('currency_mismatch');
  });

  it('refuses to take a seller account below its floor of zero, and keeps everything else unchanged', async () => {
    await post(
      payinSucceeded({
        paymentOrderId: 'po_f',
        sellerId: 'sf',
        currency: 'USD',
        grossMinor: 1_000n,
        platformFeeMinor: 0n,
      }),
    );
    await post(holdReleased({ releaseId: 'r_f', sellerId: 'sf', currency: 'USD', amountMinor: 1_000n }));
    const tooMuch = payoutStarted({
      payoutId: 'pay_f',
      sellerId: 'sf',
      currency: 'USD',
      amountMinor: 1_001n,
    });
    expect((await errorOf(post(tooMuch))).code).toBe('account_limit_exceeded');
    const balances = await getBalances(pool, [sellerAvailable('sf', 'USD').code]);
    expect(balances.get(sellerAvailable('sf', 'USD').code)?.balanceMinor).toBe(1_000n);
    await post(payoutStarted({ payoutId: 'pay_f', sellerId: 'sf', currency: 'USD', amountMinor: 1_000n }));
    await post(payoutPaid({ payoutId: 'pay_f', sellerId: 'sf', currency: 'USD', amountMinor: 1_000n }));
    expect(await paidOutTotal(pool, 'sf', 'USD')).toBe(1_000n);
    await post(
      payoutReturned({
        payoutId: 'pay_f',
        sellerId: 'sf',
        currency: 'USD',
        amountMinor: 1_000n,
        wasPaid: true,
        reason: 'closed account',
      }),
    );
    expect(await paidOutTotal(pool, 'sf', 'USD')).toBe(0n);
    const after = await getBalances(pool, [
      sellerAvailable('sf', 'USD').code,
      sellerInTransit('sf', 'USD').code,
      platformBank('USD').code,
    ]);
    expect(after.get(sellerAvailable('sf', 'USD').code)?.balanceMinor).toBe(1_000n);
    expect(after.get(sellerInTransit('sf', 'USD').code)?.balanceMinor).toBe(0n);
  });

  it('a reversal posts the mirror entry once; reversing again returns it or is refused', async () => {
    const original = await post(transfer('rev:1', 'rev:a', 'rev:b', 300n));
    const reversal = await withTransaction(pool, (c) =>
      reverseEntry(c, original.entryId, 'rev:1:reversal', 'booked twice'),
    );
    expect(reversal.created).toBe(true);
    const entry = await getEntry(pool, reversal.entryId);
    expect(entry?.reversesEntryId).toBe(original.entryId);
    expect(entry?.kind).toBe('ledger.reversal');
    expect(entry?.postings.map((p) => [p.accountCode, p.direction, p.amountMinor])).toEqual([
      ['rev:a', 'debit', 300n],
      ['rev:b', 'credit', 300n],
    ]);
    const balances = await getBalances(pool, ['rev:a', 'rev:b']);
    expect(balances.get('rev:a')?.balanceMinor).toBe(0n);
    expect(balances.get('rev:b')?.balanceMinor).toBe(0n);
    const again = await withTransaction(pool, (c) =>
      reverseEntry(c, original.entryId, 'rev:1:reversal', 'booked twice'),
    );
    expect(again).toEqual({ entryId: reversal.entryId, created: false });
    const other = await errorOf(
      withTransaction(pool, (c) => reverseEntry(c, original.entryId, 'rev:1:other', 'again')),
    );
    expect(other.code).toBe('ledger_entry_invalid');
  });

  it('balanceAt answers the balance as it stood at a past moment from the postings', async () => {
    // posted_at has microseconds, Date milliseconds: ask about the millisecond after a posting, and let the
    // clock pass that millisecond before the next posting.
    const postedAt = async (input: EntryInput): Promise<number> => {
      const entry = await getEntry(pool, (await post(input)).entryId);
      // Each account's posting is stamped when it is written (clock_timestamp), so an entry's postings may be a
      // millisecond or more apart under load: the entry stood complete after the last of them.
      const stamps = (entry?.postings ?? []).map((posting) => posting.postedAt.getTime());
      const at = stamps.length === 0 ? Number.NaN : Math.max(...stamps);
      while (Date.now() <= at + 1) await new Promise((resolve) => setImmediate(resolve));
      return at + 1;
    };
    const t1 = await postedAt(transfer('at:1', 'at:src', 'at:dst', 100n));
    const t2 = await postedAt(transfer('at:2', 'at:src', 'at:dst', 50n));
    const t3 = await postedAt(transfer('at:3', 'at:src', 'at:dst', 25n));
    expect(await balanceAt(pool, 'at:dst', new Date(t1 - 2))).toBe(0n);
    expect(await balanceAt(pool, 'at:dst', new Date(t1))).toBe(100n);
    expect(await balanceAt(pool, 'at:dst', new Date(t2))).toBe(150n);
    expect(await balanceAt(pool, 'at:dst', new Date(t3))).toBe(175n);
    expect(await balanceAt(pool, 'at:src', new Date(t2))).toBe(-150n);
    expect(await balanceAt(pool, 'at:nowhere', new Date())).toBe(0n);
  });

  it('postEntries writes a batch in one call, with results in input order', async () => {
    const inputs = Array.from({ length: 50 }, (_, i) =>
      transfer(`batch:${i}`, 'batch:a', `batch:b${i % 5}`, BigInt(i + 1)),
    );
    const results = await withTransaction(pool, (c) => postEntries(c, [...inputs, inputs[3] as EntryInput]));
    expect(results).toHaveLength(51);
    expect(results.slice(0, 50).every((r) => r.created)).toBe(true);
    expect(results[50]).toEqual({ entryId: results[3]?.entryId, created: false });
    const a = (await getBalances(pool, ['batch:a'])).get('batch:a');
    expect(a?.balanceMinor).toBe(-1275n);
    expect(a?.version).toBe(50n);
    const report = await verifyLedger(pool);
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
