import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { withTransaction } from '../../src/db/tx.ts';
import {
  balanceAt,
  chargeback,
  holdReleased,
  payinSucceeded,
  payoutPaid,
  payoutReturned,
  payoutStarted,
  platformAccountCodes,
  postEntry,
  pspClearing,
  pspFeeCharged,
  pspPayout,
  refund,
  reserveHeld,
  reserveReleased,
  sellerAvailable,
  sellerPending,
  sellerReceivable,
  suspense,
  type EntryInput,
} from '../../src/ledger/index.ts';
import {
  platformCsv,
  platformReport,
  rolledForward,
  sellerStatement,
  statementCsv,
  type Statement,
} from '../../src/reports/index.ts';
import { BUCKETS, bucketCodes, netOf } from '../../src/reports/statement.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/**
 * Statements and the platform report tie out to the ledger (docs/reports.md), on generated histories posted with
 * the ledger's own recipes: opening + movements = closing = balance-at, bucket by bucket and account by account;
 * the report's totals equal what the history booked in the window; the CSV reads back (csv-parse) to the same.
 */

let db: TestDatabase;
let pool: Pool;
beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 4 });
  pool = db.pool;
});
afterAll(async () => {
  await db.drop();
});

const C = 'USD';
type Op =
  | { op: 'sale'; gross: bigint; feePct: number }
  | { op: 'release' | 'reserve' | 'unreserve' | 'refund' | 'recover'; frac: number }
  | { op: 'payout'; end: 'open' | 'paid' | 'returned' | 'returned_after_paid' }
  | { op: 'chargeback'; frac: number; cover: number }
  | { op: 'debt' | 'psp_fee' | 'psp_payout' | 'mystery'; amount: bigint };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('sale' as const),
    gross: fc.bigInt(1n, 500_000n),
    feePct: fc.integer({ min: 0, max: 30 }),
  }),
  fc.record({
    op: fc.constantFrom(
      'release' as const,
      'reserve' as const,
      'unreserve' as const,
      'refund' as const,
      'recover' as const,
    ),
    frac: fc.double({ min: 0.05, max: 1, noNaN: true }),
  }),
  fc.record({
    op: fc.constant('payout' as const),
    end: fc.constantFrom(
      'open' as const,
      'paid' as const,
      'returned' as const,
      'returned_after_paid' as const,
    ),
  }),
  fc.record({
    op: fc.constant('chargeback' as const),
    frac: fc.double({ min: 0.05, max: 1, noNaN: true }),
    cover: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  fc.record({
    op: fc.constantFrom('debt' as const, 'psp_fee' as const, 'psp_payout' as const, 'mystery' as const),
    amount: fc.bigInt(1n, 10_000n),
  }),
);

/** `frac` of `balance`, at least 1 (a share of a positive balance). */
const part = (balance: bigint, frac: number) => {
  const amount = (balance * BigInt(Math.round(frac * 1000))) / 1000n;
  return amount < 1n ? 1n : amount;
};

interface Model {
  pending: bigint;
  available: bigint;
  reserved: bigint;
  inTransit: bigint;
  due: bigint;
  clearing: bigint;
}

/** Expected platform totals booked by the history in the window. */
interface Expected {
  gross: bigint;
  fees: bigint;
  pspFees: bigint;
  payouts: bigint;
}

/** The entries one op books for seller `s` (none when the model's balances do not allow it). */
function entriesOf(op: Op, s: string, n: string, m: Model, e: Expected): EntryInput[] {
  const base = { currency: C, sellerId: s };
  switch (op.op) {
    case 'sale': {
      const fee = (op.gross * BigInt(op.feePct)) / 100n;
      m.pending += op.gross - fee;
      m.clearing += op.gross;
      e.gross += op.gross;
      e.fees += fee;
      return [
        payinSucceeded({ ...base, paymentOrderId: `po${n}`, grossMinor: op.gross, platformFeeMinor: fee }),
      ];
    }
    case 'release': {
      if (m.pending === 0n) return [];
      const amount = part(m.pending, op.frac);
      m.pending -= amount;
      m.available += amount;
      return [holdReleased({ ...base, releaseId: `po${n}`, amountMinor: amount })];
    }
    case 'reserve':
    case 'unreserve': {
      const source = op.op === 'reserve' ? m.available : m.reserved;
      if (source === 0n) return [];
      const amount = part(source, op.frac);
      m.available += op.op === 'reserve' ? -amount : amount;
      m.reserved += op.op === 'reserve' ? amount : -amount;
      const recipe = op.op === 'reserve' ? reserveHeld : reserveReleased;
      return [recipe({ ...base, reserveId: `r${n}`, amountMinor: amount })];
    }
    case 'refund': {
      if (m.available === 0n) return [];
      const amount = part(m.available, op.frac);
      m.available -= amount;
      m.clearing -= amount;
      return [
        refund({
          ...base,
          refundId: `re${n}`,
          paymentOrderId: `po${n}`,
          amountMinor: amount,
          from: 'available',
        }),
      ];
    }
    case 'chargeback': {
      if (m.pending === 0n) return [];
      const amount = part(m.pending, op.frac);
      const covered = (amount * BigInt(Math.round(op.cover * 100))) / 100n;
      m.pending -= covered;
      m.clearing -= amount;
      return [
        chargeback({
          ...base,
          chargebackId: `cb${n}`,
          paymentOrderId: `po${n}`,
          amountMinor: amount,
          sellerCoversMinor: covered,
          from: 'pending',
        }),
      ];
    }
    case 'payout':
      return payoutEntries(op.end, s, n, m, e);
    case 'debt':
      m.due += op.amount;
      m.clearing -= op.amount;
      return [
        {
          reference: `debt:${n}`,
          kind: 'chargeback',
          description: 'a claw-back beyond the seller balances',
          postings: [
            { account: sellerReceivable(s, C), direction: 'debit', amountMinor: op.amount },
            { account: pspClearing(C), direction: 'credit', amountMinor: op.amount },
          ],
          metadata: { disputeId: `dp${n}`, sellerId: s },
        },
      ];
    case 'recover': {
      const amount = m.due < m.pending ? m.due : m.pending;
      if (amount === 0n) return [];
      m.due -= amount;
      m.pending -= amount;
      return [
        {
          reference: `recover:${n}`,
          kind: 'debt.recovered',
          description: 'debt recovered from a sale',
          postings: [
            { account: sellerPending(s, C), direction: 'debit', amountMinor: amount },
            { account: sellerReceivable(s, C), direction: 'credit', amountMinor: amount },
          ],
          metadata: { sellerId: s },
        },
      ];
    }
    case 'psp_fee':
      m.clearing -= op.amount;
      e.pspFees += op.amount;
      return [pspFeeCharged({ currency: C, feeId: `f${n}`, feeMinor: op.amount, reason: 'processing' })];
    case 'psp_payout':
      m.clearing -= op.amount;
      return [pspPayout({ currency: C, pspPayoutId: `pp${n}`, amountMinor: op.amount })];
    case 'mystery':
      m.available += op.amount;
      return [
        {
          reference: `mystery:${n}`,
          kind: 'mystery.kind',
          description: 'a kind no statement knows yet',
          postings: [
            { account: suspense(C), direction: 'debit', amountMinor: op.amount },
            { account: sellerAvailable(s, C), direction: 'credit', amountMinor: op.amount },
          ],
          metadata: { sellerId: s },
        },
      ];
  }
}

function payoutEntries(end: string, s: string, n: string, m: Model, e: Expected): EntryInput[] {
  if (m.available === 0n) return [];
  const amount = m.available;
  const p = { currency: C, sellerId: s, payoutId: `po_${n}`, amountMinor: amount };
  m.available = 0n;
  const entries = [payoutStarted(p)];
  if (end === 'open') m.inTransit += amount;
  if (end === 'paid' || end === 'returned_after_paid') {
    entries.push(payoutPaid(p));
    e.payouts += amount;
  }
  if (end === 'returned' || end === 'returned_after_paid') {
    const wasPaid = end === 'returned_after_paid';
    entries.push(payoutReturned({ ...p, wasPaid, reason: 'closed account' }));
    if (wasPaid) e.payouts -= amount;
    m.available += amount;
  }
  return entries;
}

/** A moment after every committed posting, and the database's clock already past it. */
async function cut(): Promise<Date> {
  const now = await pool.query<{ at: Date }>('SELECT clock_timestamp() AS at');
  const at = new Date((now.rows[0]?.at ?? new Date()).getTime() + 1);
  for (;;) {
    const later = await pool.query<{ past: boolean }>('SELECT clock_timestamp() > $1 AS past', [at]);
    if (later.rows[0]?.past) return at;
  }
}

async function post(entries: EntryInput[]): Promise<void> {
  for (const entry of entries) await withTransaction(pool, (client) => postEntry(client, entry));
}

function sumOf(statement: Statement, category: string, bucket: 'pending' | 'available' = 'pending'): bigint {
  return statement.movements
    .filter((m) => m.category === category)
    .reduce((sum, m) => sum + m.deltas[bucket], 0n);
}

let run = 0;

describe('seller statement and platform report on generated histories', () => {
  it('tie out to the ledger: opening + movements = closing = balance-at; totals = what was booked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 12 }),
        fc.array(opArb, { minLength: 1, maxLength: 25 }),
        async (before, during) => {
          run++;
          const s = `rp${run}_${process.pid}`;
          const m: Model = { pending: 0n, available: 0n, reserved: 0n, inTransit: 0n, due: 0n, clearing: 0n };
          const ignored: Expected = { gross: 0n, fees: 0n, pspFees: 0n, payouts: 0n };
          for (const [i, op] of before.entries()) await post(entriesOf(op, s, `${s}b${i}`, m, ignored));
          const from = await cut();
          const e: Expected = { gross: 0n, fees: 0n, pspFees: 0n, payouts: 0n };
          for (const [i, op] of during.entries()) await post(entriesOf(op, s, `${s}d${i}`, m, e));
          const to = await cut();

          const statement = await sellerStatement(pool, { sellerAccount: s, currency: C, from, to });
          const codes = bucketCodes(s, C);
          for (const bucket of BUCKETS) {
            expect(statement.opening[bucket]).toBe(await balanceAt(pool, codes[bucket], from));
            expect(statement.closing[bucket]).toBe(await balanceAt(pool, codes[bucket], to));
          }
          expect(rolledForward(statement)).toEqual(statement.closing);
          expect(statement.closing).toEqual({
            pending: m.pending,
            available: m.available,
            reserved: m.reserved,
            in_transit: m.inTransit,
            due: m.due,
          });
          expect(sumOf(statement, 'sale')).toBe(e.gross);
          expect(-sumOf(statement, 'platform_fee')).toBe(e.fees);
          const mystery = during
            .filter((op) => op.op === 'mystery')
            .reduce((sum, op) => sum + ('amount' in op ? op.amount : 0n), 0n);
          expect(sumOf(statement, 'other', 'available')).toBe(mystery);

          const csv = parse(statementCsv(statement), { columns: true }) as Array<Record<string, string>>;
          expect(csv).toHaveLength(statement.movements.length + 2);
          const csvSum = csv
            .slice(1, -1)
            .reduce((sum, row) => sum + BigInt((row.net ?? '').replace('.', '')), 0n);
          expect(csvSum + netOf(statement.opening)).toBe(netOf(statement.closing));
          expect(csv.at(-1)?.net).toBe(formatUsd(netOf(statement.closing)));

          const report = await platformReport(pool, { from, to, currency: C });
          for (const { code } of await platformAccountCodes(pool, C)) {
            const moved = report.days.reduce(
              (sum, d) => sum + (d.accounts.get(code)?.movementMinor ?? 0n),
              0n,
            );
            expect((report.opening.get(code) ?? 0n) + moved).toBe(report.closing.get(code));
            expect(report.closing.get(code)).toBe(await balanceAt(pool, code, to));
          }
          const total = (metric: 'gross_volume' | 'platform_fee_revenue' | 'psp_fees' | 'payouts') =>
            report.days.reduce((sum, d) => sum + d.metrics[metric], 0n);
          expect(total('gross_volume')).toBe(e.gross);
          expect(total('platform_fee_revenue')).toBe(e.fees);
          expect(total('psp_fees')).toBe(e.pspFees);
          expect(total('payouts')).toBe(e.payouts);
          const last = report.days.at(-1);
          if (last) expect(last.pspClearingBalance).toBe(await balanceAt(pool, pspClearing(C).code, to));
          const rows = parse(platformCsv(report), { columns: true }) as Array<Record<string, string>>;
          expect(rows.map((row) => row.gross_volume)).toEqual(
            report.days.map((d) => formatUsd(d.metrics.gross_volume)),
          );
        },
      ),
      { numRuns: 12, seed: 14 },
    );
  }, 240_000);
});

function formatUsd(minor: bigint): string {
  const sign = minor < 0n ? '-' : '';
  const abs = minor < 0n ? -minor : minor;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}
