import { afterAll, beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { composeModules } from '../../src/compose.ts';
import type { AppContext } from '../../src/context.ts';
import { findPayoutsByIds, payoutStatusesPage, settlePayout } from '../../src/payouts/index.ts';
import { dailyRun } from '../../src/reconciliation/daily.ts';
import { contentInput } from '../../src/reconciliation/input.ts';
import { createReconciliation, payoutSideOf } from '../../src/reconciliation/index.ts';
import type { SucceededRefund } from '../../src/reconciliation/refunds-check.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { reconContext, writeReport } from '../support/recon.ts';

/**
 * A refund of ours that succeeded but that the PSP's settlement report never accounts for — the PSP does not know
 * it — is filed `refund_missing_at_psp` (investigation) once the settlement window has passed, once per refund; a
 * refund the report lists is not, nor one still inside the window.
 */

let db: TestDatabase;
let ctx: AppContext;

const refund = (id: string, succeededAt: string): SucceededRefund => ({
  refundId: `rf_${id}`,
  pspRefundId: `re_${id}`,
  paymentOrderId: `po_${id}`,
  amountMinor: 700n,
  currency: 'USD',
  succeededAt: new Date(succeededAt),
});

// Ours: one the PSP reported, one it never heard of, one too recent to tell (inside a 6 h window).
const OURS = [
  refund('seen', '2026-03-01T09:00:00Z'),
  refund('unknown', '2026-03-01T10:00:00Z'),
  refund('recent', '2026-03-02T01:00:00Z'),
];

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 6 });
  ctx = reconContext(db.pool, db.url, new ManualClock('2026-03-02T04:00:00Z'));
});
afterAll(async () => {
  await db?.drop();
});

it('files refund_missing_at_psp for a succeeded refund the PSP never reported, after the window, once', async () => {
  const modules = composeModules(ctx, {});
  const rt = createReconciliation({
    ctx,
    payins: modules.payins,
    payouts: payoutSideOf({ findPayoutsByIds, payoutStatusesPage, settlePayout }),
    config: { settlementWindowHours: 6 },
    refunds: {
      succeededBetween: async (_db, from, before) =>
        OURS.filter((r) => r.succeededAt >= from && r.succeededAt < before),
    },
    fetchReport: async (interval) =>
      contentInput(
        `psp-${interval.start.toISOString().slice(0, 10)}.csv`,
        writeReport([
          {
            txn: 'txn_refund_seen',
            category: 'refund',
            currency: 'USD',
            grossMinor: -700n,
            feeMinor: 0n,
            sourceId: 're_seen',
            created: new Date('2026-03-01T09:00:00Z'),
            metadata: {},
          },
        ]),
      ),
  }).runtime;

  // The run for March 1st: the day's report, the refunds of ours that succeeded that day.
  await dailyRun(rt, '2026-03-01');
  const filed = async () =>
    (
      await db.pool.query<{
        class: string;
        kind: string;
        dedupe_key: string;
        evidence: Record<string, string>;
      }>(
        `SELECT class, kind, dedupe_key, evidence FROM recon.exceptions WHERE kind = 'refund_missing_at_psp'`,
      )
    ).rows;
  const first = await filed();
  expect(first).toHaveLength(1);
  expect(first[0]).toMatchObject({
    class: 'investigation',
    kind: 'refund_missing_at_psp',
    dedupe_key: 'refund_missing_at_psp:re_unknown',
    evidence: { refund_id: 'rf_unknown', psp_refund_id: 're_unknown', amount_minor: '700' },
  });

  // The next day's run (a new report, the same refunds of ours): nothing is filed twice.
  await dailyRun(rt, '2026-03-02');
  expect((await filed()).map((x) => x.dedupe_key)).toEqual(['refund_missing_at_psp:re_unknown']);
});
