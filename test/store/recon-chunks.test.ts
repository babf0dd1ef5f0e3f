import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { composeModules } from '../../src/compose.ts';
import { contentInput } from '../../src/reconciliation/input.ts';
import { reconcileFiles } from '../../src/reconciliation/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import {
  bookPspFee,
  ensureSellers,
  makeCheckout,
  reconContext,
  writeReport,
  type OrderTarget,
  type ReportLine,
} from '../support/recon.ts';

const payoutLine = (txn: string, grossMinor: bigint, day: string): ReportLine => ({
  txn,
  category: 'payout',
  currency: 'USD',
  grossMinor,
  feeMinor: 0n,
  sourceId: `po_${txn}`,
  created: new Date(`${day}T12:00:00Z`),
  metadata: {},
});

// Nine lines; txn_c2 twice, far apart (in different chunks when chunks are small), the second with other content.
const REPORT = writeReport([
  payoutLine('txn_c1', -100n, '2026-03-01'),
  payoutLine('txn_c2', -200n, '2026-03-01'),
  payoutLine('txn_c3', -300n, '2026-03-02'),
  payoutLine('txn_c4', -400n, '2026-03-02'),
  payoutLine('txn_c5', -500n, '2026-03-02'),
  payoutLine('txn_c6', -600n, '2026-03-03'),
  payoutLine('txn_c7', -700n, '2026-03-03'),
  payoutLine('txn_c2', -250n, '2026-03-03'),
  payoutLine('txn_c9', -900n, '2026-03-03'),
]);

const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

const chargeLine = (txn: string, orderId: string): ReportLine => ({
  txn,
  category: 'charge',
  currency: 'USD',
  grossMinor: 1000n,
  feeMinor: 59n,
  sourceId: `ch_${txn}`,
  paymentIntentId: `pi_${orderId}`,
  created: new Date('2026-03-02T12:00:00Z'),
  metadata: { payment_order_id: orderId },
});

// Charges whose outcome depends on what the chunk before wrote: a second charge of an order matched just before,
// an order settled by the cure of the line before (a missed webhook) then charged again, a fee booked by a cure
// and the same balance transaction again.
const CHARGES: Array<{ order: string; status: OrderTarget; fee: boolean }> = [
  { order: 'po_k1', status: 'SUCCESS', fee: true },
  { order: 'po_k2', status: 'EXECUTING', fee: true },
  { order: 'po_k3', status: 'SUCCESS', fee: false },
  { order: 'po_k4', status: 'SUCCESS', fee: true },
];
const CHARGE_REPORT = writeReport([
  chargeLine('txn_k1', 'po_k1'),
  chargeLine('txn_k1b', 'po_k1'),
  chargeLine('txn_k2', 'po_k2'),
  chargeLine('txn_k2b', 'po_k2'),
  chargeLine('txn_k3', 'po_k3'),
  chargeLine('txn_k3', 'po_k3'),
  chargeLine('txn_k4', 'po_k4'),
  chargeLine('txn_k4b', 'po_k4'),
]);

/** The run's report and exceptions over a report with chunks of `chunkSize` lines, on a database of its own. */
async function reconcileWithChunks(
  chunkSize: number,
  content = REPORT,
  charges: typeof CHARGES = [],
  prepare: (db: TestDatabase) => Promise<void> = async () => undefined,
) {
  const db = await createTestDatabase({ poolSize: 4 });
  dbs.push(db);
  await prepare(db);
  const ctx = reconContext(db.pool, db.url, new ManualClock('2026-03-05T04:00:00Z'));
  const rt = composeModules(ctx, { fetchReport: null }).reconciliation.runtime;
  if (charges.length > 0) await ensureSellers(db.pool, ['rk_seller']);
  for (const { order, status, fee } of charges) {
    await makeCheckout(
      ctx,
      {
        checkoutId: `co_${order}`,
        flow: 'saved_method',
        currency: 'USD',
        orders: [{ id: order, seller: 'rk_seller', amountMinor: 1000n }],
        pspPaymentId: `pi_${order}`,
      },
      status,
    );
    if (fee) await bookPspFee(db.pool, `txn_k${order.slice(-1)}`, 59n, 'USD');
  }
  const report = await reconcileFiles(
    { ...rt, chunkSize },
    { psp: [contentInput('chunks.csv', content)] },
    { trigger: 'test', origin: 'file' },
  );
  const exceptions = await db.pool.query<{ kind: string; dedupe_key: string }>(
    'SELECT kind, dedupe_key FROM recon.exceptions ORDER BY dedupe_key',
  );
  const payouts = await db.pool.query<{ id: string }>('SELECT id FROM recon.psp_payouts ORDER BY id');
  const { run_id: _run, duration_ms: _duration, imports: _imports, ...rest } = report;
  const exceptionKeys = exceptions.rows.map((row) => ({
    kind: row.kind,
    key: row.dedupe_key.replace(/rimp_[a-z0-9]+/g, '<import>'),
  }));
  return { rest, exceptions: exceptionKeys, payouts: payouts.rows.map((row) => row.id) };
}

describe('reconciliation chunking', () => {
  it('applies a report in ranges of line numbers read ahead with the same outcome whatever the chunk size', async () => {
    const whole = await reconcileWithChunks(2000);
    const small = await reconcileWithChunks(2);
    expect(whole.rest).toMatchObject({ lines_read: 9 });
    expect(small).toEqual(whole);
    expect(whole.exceptions.length).toBeGreaterThan(0);
    expect(whole.payouts).toHaveLength(8);
  });

  it('decides each charge on what the chunks before it matched, cured and booked, with lookups read ahead', async () => {
    const whole = await reconcileWithChunks(2000, CHARGE_REPORT, CHARGES);
    const kinds = whole.exceptions.map((e) => e.kind).sort();
    expect(kinds).toEqual([
      'duplicate_line',
      'duplicate_line',
      'duplicate_line',
      'duplicate_line',
      'missed_webhook',
      'psp_fee_unbooked',
    ]);
    for (const chunkSize of [1, 2, 3])
      expect(await reconcileWithChunks(chunkSize, CHARGE_REPORT, CHARGES)).toEqual(whole);
  });

  it('counts a chunk once when its transaction is run again after a serialization failure', async () => {
    const whole = await reconcileWithChunks(2);
    // The third chunk's commit fails once with 40001, after the chunk has counted its lines (a deferred trigger on
    // its first sighting; the sequence counts across the rollback).
    const retried = await reconcileWithChunks(2, REPORT, [], async (db) => {
      await db.pool.query(
        `CREATE SEQUENCE public.chunk_attempts;
         CREATE FUNCTION public.fail_third_chunk_once() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF nextval('public.chunk_attempts') = 5 THEN
             RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = '40001';
           END IF;
           RETURN NULL;
         END $$;
         CREATE CONSTRAINT TRIGGER fail_third_chunk_once AFTER INSERT ON recon.psp_seen
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.fail_third_chunk_once();`,
      );
    });
    const attempts = await dbs
      .at(-1)
      ?.pool.query<{ n: string }>('SELECT last_value::text AS n FROM public.chunk_attempts');
    expect(Number(attempts?.rows[0]?.n)).toBeGreaterThan(5);
    expect(retried).toEqual(whole);
  });
});
