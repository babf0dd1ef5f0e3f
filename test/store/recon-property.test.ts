import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { AppContext } from '../../src/context.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { classOf, type ExceptionKind } from '../../src/reconciliation/domain/types.ts';
import { contentInput } from '../../src/reconciliation/input.ts';
import { composeModules } from '../../src/compose.ts';
import type { ReconRuntime } from '../../src/reconciliation/runtime.ts';
import { reconcileFiles } from '../../src/reconciliation/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import {
  bookPspFee,
  ensureSellers,
  makeCheckout,
  makePayout,
  reconContext,
  writeCamt053,
  writeReport,
  type OrderTarget,
  type ReportLine,
  type StatementLine,
} from '../support/recon.ts';

/**
 * Generated days of traffic: clean checkouts, payouts and a PSP payout, plus injected differences of every kind
 * reconciliation knows. Every injected difference must be found once and sorted into its class; nothing else may
 * be filed (so a clean day files nothing); the cures must leave the ledger verified and the orders and payouts
 * where the normal flow would have left them, each cure audited under its exception's id.
 */

const INJECTABLE: ExceptionKind[] = [
  'missed_webhook',
  'psp_fee_unbooked',
  'payout_paid_in_transit',
  'payout_return_unapplied',
  'amount_mismatch',
  'currency_mismatch',
  'fee_mismatch',
  'charged_but_failed',
  'payout_returned_unusual',
  'refund_unbooked',
  'dispute_unbooked',
  'unmatched_psp_line',
  'unmatched_bank_line',
  'missing_psp_line',
  'duplicate_line',
];

const SELLERS = ['rs_a', 'rs_b', 'rs_c'];
let counter = 0;
const uid = (prefix: string): string => `${prefix}${process.pid}x${Date.now().toString(36)}x${++counter}`;
const pspFee = (amount: bigint): bigint => (amount * 29n + 500n) / 1000n + 30n;

interface CheckoutSpec {
  flow: 'saved_method' | 'hosted_page';
  amounts: bigint[];
  pending: boolean;
}

const checkoutArb: fc.Arbitrary<CheckoutSpec> = fc.record({
  flow: fc.constantFrom('saved_method' as const, 'hosted_page' as const),
  amounts: fc.array(fc.bigInt({ min: 100n, max: 500_000n }), { minLength: 1, maxLength: 3 }),
  pending: fc.boolean(),
});

const dayArb = fc.record({
  clean: fc.array(checkoutArb, { minLength: 1, maxLength: 4 }),
  payouts: fc.array(fc.bigInt({ min: 100n, max: 50_000n }), { maxLength: 2 }),
  pspPayout: fc.bigInt({ min: 1_000n, max: 10_000_000n }),
  injected: fc.uniqueArray(fc.constantFrom(...INJECTABLE), { maxLength: INJECTABLE.length }),
  shape: checkoutArb,
  delta: fc.bigInt({ min: 1n, max: 999n }),
});

type Day = typeof dayArb extends fc.Arbitrary<infer T> ? T : never;

interface Built {
  report: string;
  statement: string;
  expectSettled: string[];
  expectPaid: string[];
  expectReturned: string[];
  expectFees: string[];
}

async function buildDay(ctx: AppContext, day: Day): Promise<Built> {
  const now = new Date();
  const date = now.toISOString().slice(0, 10);
  const lines: ReportLine[] = [];
  const bank: StatementLine[] = [];
  const built: Built = {
    report: '',
    statement: '',
    expectSettled: [],
    expectPaid: [],
    expectReturned: [],
    expectFees: [],
  };

  /** A checkout of ours and its charge line; returns the line so an injection can bend it. */
  const checkout = async (
    spec: CheckoutSpec,
    status: OrderTarget,
    options: { line?: boolean; fee?: 'booked' | 'unbooked' | 'wrong' } = {},
  ): Promise<ReportLine & { orderIds: string[] }> => {
    const checkoutId = uid('rc');
    const pi = uid('pi_');
    const orders = spec.amounts.map((amountMinor, at) => ({
      id: `${checkoutId}_${at}`,
      seller: SELLERS[at % SELLERS.length] ?? 'rs_a',
      amountMinor,
    }));
    const flow = orders.length > 1 ? 'hosted_page' : spec.flow;
    await makeCheckout(ctx, { checkoutId, flow, currency: 'USD', orders, pspPaymentId: pi }, status);
    const gross = orders.reduce((sum, o) => sum + o.amountMinor, 0n);
    const line: ReportLine & { orderIds: string[] } = {
      txn: uid('txn_'),
      category: 'charge',
      currency: 'USD',
      grossMinor: gross,
      feeMinor: pspFee(gross),
      sourceId: uid('ch_'),
      paymentIntentId: pi,
      created: now,
      metadata:
        flow === 'saved_method'
          ? { payment_order_id: orders[0]?.id ?? '', checkout_id: checkoutId }
          : { checkout_id: checkoutId },
      orderIds: orders.map((o) => o.id),
    };
    const fee = options.fee ?? 'booked';
    if (fee === 'booked') await bookPspFee(ctx.pool, line.txn, line.feeMinor, 'USD');
    if (fee === 'wrong') await bookPspFee(ctx.pool, line.txn, line.feeMinor + 1n, 'USD');
    if (options.line !== false) lines.push(line);
    return line;
  };

  /** One of our payouts, funded by a clean sale of its own. */
  const payout = async (amountMinor: bigint, status: 'in_transit' | 'paid'): Promise<string> => {
    const sale = await checkout({ flow: 'saved_method', amounts: [amountMinor], pending: false }, 'SUCCESS');
    const seller = 'rs_a';
    void sale;
    const id = `po_${uid('r')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')}`.slice(0, 35);
    await makePayout(ctx.pool, { id, seller, currency: 'USD', amountMinor }, status);
    return id;
  };

  for (const spec of day.clean) await checkout(spec, 'SUCCESS');
  for (const amount of day.payouts) {
    const id = await payout(amount, 'paid');
    bank.push({
      amountMinor: amount,
      currency: 'USD',
      creditDebit: 'DBIT',
      bookingDate: date,
      acctSvcrRef: uid('ref'),
      endToEndId: id,
    });
  }
  const pspPayoutId = uid('po_psp');
  lines.push({
    txn: uid('txn_'),
    category: 'payout',
    currency: 'USD',
    grossMinor: -day.pspPayout,
    feeMinor: 0n,
    sourceId: pspPayoutId,
    created: now,
    metadata: {},
  });
  bank.push({
    amountMinor: day.pspPayout,
    currency: 'USD',
    creditDebit: 'CRDT',
    bookingDate: date,
    acctSvcrRef: uid('ref'),
    remittance: `STRIPE PAYOUT ${pspPayoutId}`,
  });

  for (const kind of day.injected) {
    switch (kind) {
      case 'missed_webhook': {
        const line = await checkout(day.shape, day.shape.pending ? 'PENDING' : 'EXECUTING');
        built.expectSettled.push(...line.orderIds);
        break;
      }
      case 'psp_fee_unbooked': {
        const line = await checkout(day.shape, 'SUCCESS', { fee: 'unbooked' });
        built.expectFees.push(line.txn);
        break;
      }
      case 'fee_mismatch':
        await checkout(day.shape, 'SUCCESS', { fee: 'wrong' });
        break;
      case 'amount_mismatch': {
        const line = await checkout(day.shape, 'SUCCESS');
        line.grossMinor += day.delta;
        break;
      }
      case 'currency_mismatch': {
        const line = await checkout(day.shape, 'SUCCESS');
        line.currency = 'EUR';
        break;
      }
      case 'charged_but_failed':
        await checkout(day.shape, 'FAILED');
        break;
      case 'missing_psp_line':
        await checkout(day.shape, 'SUCCESS', { line: false });
        break;
      case 'duplicate_line': {
        const line = await checkout(day.shape, 'SUCCESS');
        lines.push({ ...line });
        break;
      }
      case 'unmatched_psp_line':
        lines.push({
          txn: uid('txn_'),
          category: 'charge',
          currency: 'USD',
          grossMinor: 1234n,
          feeMinor: pspFee(1234n),
          sourceId: uid('ch_'),
          paymentIntentId: uid('pi_ghost'),
          created: now,
          metadata: { payment_order_id: uid('ghost') },
        });
        break;
      case 'refund_unbooked':
      case 'dispute_unbooked': {
        const line = await checkout(day.shape, 'SUCCESS');
        lines.push({
          ...line,
          txn: uid('txn_'),
          category: kind === 'refund_unbooked' ? 'refund' : 'dispute',
          grossMinor: -line.grossMinor,
          feeMinor: 0n,
          sourceId: uid(kind === 'refund_unbooked' ? 're_' : 'dp_'),
        });
        break;
      }
      case 'payout_paid_in_transit': {
        const id = await payout(day.delta + 100n, 'in_transit');
        bank.push({
          amountMinor: day.delta + 100n,
          currency: 'USD',
          creditDebit: 'DBIT',
          bookingDate: date,
          acctSvcrRef: uid('ref'),
          endToEndId: id,
        });
        built.expectPaid.push(id);
        break;
      }
      case 'payout_return_unapplied':
      case 'payout_returned_unusual': {
        const amount = day.delta + 200n;
        const id = await payout(amount, 'paid');
        bank.push({
          amountMinor: amount,
          currency: 'USD',
          creditDebit: 'DBIT',
          bookingDate: date,
          acctSvcrRef: uid('ref'),
          endToEndId: id,
        });
        bank.push({
          amountMinor: amount,
          currency: 'USD',
          creditDebit: 'CRDT',
          bookingDate: date,
          acctSvcrRef: uid('ref'),
          endToEndId: id,
          returnCode: kind === 'payout_return_unapplied' ? 'AC04' : 'FOCR',
        });
        if (kind === 'payout_return_unapplied') built.expectReturned.push(id);
        break;
      }
      case 'unmatched_bank_line':
        bank.push({
          amountMinor: 4321n,
          currency: 'USD',
          creditDebit: 'DBIT',
          bookingDate: date,
          acctSvcrRef: uid('ref'),
          endToEndId: uid('po_ghost'),
        });
        break;
      default:
        throw new Error(`no injection for ${kind}`);
    }
  }
  built.report = writeReport(lines);
  built.statement = writeCamt053(uid('STMT'), bank);
  return built;
}

describe('reconciliation of generated days (property)', () => {
  let db: TestDatabase;
  let ctx: AppContext;
  let rt: ReconRuntime;

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 6 });
    // Far enough ahead that every success of the day is past the settlement window.
    ctx = reconContext(db.pool, db.url, new ManualClock(new Date(Date.now() + 100 * 3_600_000)));
    await ensureSellers(db.pool, SELLERS);
    rt = composeModules(ctx).reconciliation.runtime;
  });
  afterAll(async () => {
    await db.drop();
  });

  it('finds every injected difference once, in its class; files nothing else; cures through the normal flow', async () => {
    await fc.assert(
      fc.asyncProperty(dayArb, async (day) => {
        const built = await buildDay(ctx, day);
        const report = await reconcileFiles(
          rt,
          {
            psp: [contentInput('report.csv', built.report)],
            bank: [contentInput('statement.xml', built.statement)],
          },
          { trigger: 'test', origin: 'api', internal: true, intervalStart: new Date(Date.now() - 3_600_000) },
        );
        const runId = String(report.run_id);
        const filed = await db.pool.query<{ id: string; kind: ExceptionKind; class: string; status: string }>(
          'SELECT id, kind, class, status FROM recon.exceptions WHERE run_id = $1',
          [runId],
        );
        expect(filed.rows.map((row) => row.kind).sort()).toEqual([...day.injected].sort());
        for (const row of filed.rows) {
          expect(row.class).toBe(classOf(row.kind));
          expect(row.status).toBe(row.class === 'auto_fixed' ? 'fixed' : 'open');
        }
        // Cured through the normal flow: orders settled, payouts paid or returned, fees booked, ledger verified.
        const ledger = await verifyLedger(db.pool);
        expect(ledger.failures).toEqual([]);
        for (const id of built.expectSettled) {
          const order = await db.pool.query<{ payment_order_status: string; ledger_updated: boolean }>(
            'SELECT payment_order_status, ledger_updated FROM payins.payment_order WHERE payment_order_id = $1',
            [id],
          );
          expect(order.rows[0]).toEqual({ payment_order_status: 'SUCCESS', ledger_updated: true });
        }
        for (const [ids, status] of [
          [built.expectPaid, 'paid'],
          [built.expectReturned, 'returned'],
        ] as const) {
          for (const id of ids) {
            const payout = await db.pool.query<{ status: string }>(
              'SELECT status FROM payouts.payouts WHERE id = $1',
              [id],
            );
            expect(payout.rows[0]?.status).toBe(status);
          }
        }
        for (const txn of built.expectFees) {
          const entry = await db.pool.query('SELECT 1 FROM ledger.entries WHERE reference = $1', [
            `psp_fee:${txn}`,
          ]);
          expect(entry.rowCount).toBe(1);
        }
        for (const row of filed.rows.filter((r) => r.class === 'auto_fixed')) {
          const audit = await db.pool.query(
            `SELECT 1 FROM core.audit_log WHERE subject = $1 AND action = 'reconciliation.auto_fix'`,
            [row.id],
          );
          expect(audit.rowCount).toBe(1);
        }
        expect(report.auto_fixed).toBe(filed.rows.filter((r) => r.class === 'auto_fixed').length);
      }),
      { numRuns: 12, seed: 20261121 },
    );
  }, 120_000);
});
