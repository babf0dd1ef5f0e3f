import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { AppContext } from '../../src/context.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { AppError } from '../../src/errors.ts';
import { getEntry } from '../../src/ledger/service.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { composeModules } from '../../src/compose.ts';
import { settleCheckout } from '../../src/payins/settle.ts';
import { reopenException, resolveException } from '../../src/reconciliation/exceptions-store.ts';
import { contentInput, fileInput } from '../../src/reconciliation/input.ts';
import type { ReconRuntime } from '../../src/reconciliation/runtime.ts';
import { reconcileFiles } from '../../src/reconciliation/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import {
  bookPspFee,
  ensureSellers,
  makeCheckout,
  reconContext,
  writeReport,
  type ReportLine,
} from '../support/recon.ts';

const samples = path.resolve(import.meta.dirname, '../../../shared/reference/iso20022/samples/genkgo');

async function refusal(work: Promise<unknown>): Promise<AppError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('reconciliation imports (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ctx: AppContext;
  let rt: ReconRuntime;
  const count = async (table: string): Promise<number> =>
    Number((await db.pool.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n ?? 0n);

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 6 });
    ctx = reconContext(db.pool, db.url, new ManualClock(new Date(Date.now() + 100 * 3_600_000)));
    await ensureSellers(db.pool, ['ri_a', 'ri_b']);
    rt = composeModules(ctx).reconciliation.runtime;
  });
  afterAll(async () => {
    await db.drop();
  });

  it('reads and applies the sample camt.053 and camt.054 files; their lines match nothing of ours', async () => {
    // The multi-statement sample repeats the minimal sample's statement 253…, so its first entry is a line seen twice.
    for (const name of [
      'camt053.v2.minimal.xml',
      'camt053.v2.multi.statement.xml',
      'camt053.v8.xml',
      'camt054.v2.xml',
      'camt054.v8.xml',
    ]) {
      const report = await reconcileFiles(
        rt,
        { bank: [fileInput(path.join(samples, name))] },
        { trigger: 'test', origin: 'file' },
      );
      expect(report.lines_read, name).toBeGreaterThan(0);
      expect(report.matched, name).toBe(0);
      const filed = await db.pool.query<{ kind: string; class: string }>(
        'SELECT kind, class FROM recon.exceptions WHERE run_id = $1',
        [report.run_id],
      );
      expect(filed.rows.length, name).toBe(report.lines_read);
      for (const row of filed.rows) {
        expect(['unmatched_bank_line', 'duplicate_line'], name).toContain(row.kind);
        expect(row.class, name).toBe('investigation');
      }
    }
  });

  it('refuses a malformed statement with a clear error and applies nothing of it', async () => {
    const before = {
      imports: await count('recon.imports'),
      lines: await count('recon.bank_lines'),
      runs: await count('recon.runs'),
    };
    const error = await refusal(
      reconcileFiles(
        rt,
        { bank: [fileInput(path.join(samples, 'camt053.v2.wrong.xml'))] },
        { trigger: 'test', origin: 'file' },
      ),
    );
    expect(error.code).toBe('reconciliation_file_malformed');
    expect(error.message).toMatch(
      /line 8, <Document\/BkToCstmrStmt>: the required element <Stmt> is missing/,
    );
    expect({
      imports: await count('recon.imports'),
      lines: await count('recon.bank_lines'),
      runs: await count('recon.runs'),
    }).toEqual(before);
  });

  it('refuses a report whose last line is malformed after thousands of good ones, staging none of them', async () => {
    const good = Array.from({ length: 4500 }, (_, i) => ({
      txn: `txn_bulk_${i}`,
      category: 'charge',
      currency: 'USD',
      grossMinor: 100n,
      feeMinor: 33n,
      sourceId: `ch_${i}`,
      created: new Date(),
      metadata: {},
    }));
    const text = `${writeReport(good)}txn_bad,2026-01-01 00:00:00,2026-01-01 00:00:00,usd,1.00,0.10,0.80,charge,ch_x,,,,\n`;
    const before = await count('recon.psp_lines');
    const error = await refusal(
      reconcileFiles(rt, { psp: [contentInput('bad.csv', text)] }, { trigger: 'test', origin: 'api' }),
    );
    expect(error.code).toBe('reconciliation_file_malformed');
    expect(error.message).toMatch(/line 4502, column net/);
    expect(await count('recon.psp_lines')).toBe(before);
    expect(await count("recon.imports WHERE name = 'bad.csv'")).toBe(0);
  });

  it('recognises a file imported before by its fingerprint and applies nothing twice', async () => {
    const input = fileInput(path.join(samples, 'camt053.v2.all-balance-types.xml'));
    await reconcileFiles(rt, { bank: [input] }, { trigger: 'test', origin: 'file' });
    const before = {
      exceptions: await count('recon.exceptions'),
      lines: await count('recon.bank_lines'),
      entries: await count('ledger.entries'),
    };
    const error = await refusal(
      reconcileFiles(rt, { bank: [{ ...input, name: 'renamed.xml' }] }, { trigger: 'test', origin: 'file' }),
    );
    expect(error.code).toBe('reconciliation_file_duplicate');
    expect(error.message).toMatch(/was imported before as rimp_/);
    expect({
      exceptions: await count('recon.exceptions'),
      lines: await count('recon.bank_lines'),
      entries: await count('ledger.entries'),
    }).toEqual(before);
  });

  it('files no exception at all for a clean day', async () => {
    const lines: ReportLine[] = [];
    for (const [n, flow] of (['saved_method', 'hosted_page'] as const).entries()) {
      const checkoutId = `clean_${process.pid}_${n}_${Date.now().toString(36)}`;
      const orders =
        flow === 'saved_method'
          ? [{ id: `${checkoutId}_0`, seller: 'ri_a', amountMinor: 1500n }]
          : [
              { id: `${checkoutId}_0`, seller: 'ri_a', amountMinor: 700n },
              { id: `${checkoutId}_1`, seller: 'ri_b', amountMinor: 300n },
            ];
      await makeCheckout(
        ctx,
        { checkoutId, flow, currency: 'USD', orders, pspPaymentId: `pi_${checkoutId}` },
        'SUCCESS',
      );
      const txn = `txn_${checkoutId}`;
      await bookPspFee(db.pool, txn, 59n, 'USD');
      lines.push({
        txn,
        category: 'charge',
        currency: 'USD',
        grossMinor: orders.reduce((sum, o) => sum + o.amountMinor, 0n),
        feeMinor: 59n,
        sourceId: `ch_${checkoutId}`,
        paymentIntentId: `pi_${checkoutId}`,
        created: new Date(),
        metadata:
          flow === 'saved_method' ? { payment_order_id: `${checkoutId}_0` } : { checkout_id: checkoutId },
      });
    }
    const report = await reconcileFiles(
      rt,
      { psp: [contentInput('clean.csv', writeReport(lines))] },
      { trigger: 'test', origin: 'api', internal: true },
    );
    expect(report).toMatchObject({
      lines_read: 2,
      matched: 2,
      auto_fixed: 0,
      queued: { finance: 0, investigation: 0 },
    });
    expect(await count(`recon.exceptions WHERE run_id = '${String(report.run_id)}'`)).toBe(0);
  });

  it('settles a missed webhook exactly as the webhook would have: same status, entry, outbox and history', async () => {
    const deps = composeModules(ctx).payins.transitionDeps();
    const make = async (tag: string) => {
      const checkoutId = `twin_${tag}_${process.pid}_${Date.now().toString(36)}`;
      const orders = [
        { id: `${checkoutId}_0`, seller: 'ri_a', amountMinor: 2000n },
        { id: `${checkoutId}_1`, seller: 'ri_b', amountMinor: 999n },
      ];
      await makeCheckout(
        ctx,
        { checkoutId, flow: 'hosted_page', currency: 'USD', orders, pspPaymentId: `pi_${checkoutId}` },
        'PENDING',
      );
      return { checkoutId, orders };
    };
    const byWebhook = await make('webhook');
    const byRecon = await make('recon');
    await withTransaction(db.pool, (client) =>
      settleCheckout(
        client,
        deps,
        byWebhook.checkoutId,
        { kind: 'succeeded', paymentId: `pi_${byWebhook.checkoutId}` },
        {
          details: { settled_by: 'webhook' },
        },
      ),
    );
    const report = await reconcileFiles(
      rt,
      {
        psp: [
          contentInput(
            'twin.csv',
            writeReport([
              {
                txn: `txn_${byRecon.checkoutId}`,
                category: 'charge',
                currency: 'USD',
                grossMinor: 2999n,
                feeMinor: 117n,
                sourceId: `ch_${byRecon.checkoutId}`,
                paymentIntentId: `pi_${byRecon.checkoutId}`,
                created: new Date(),
                metadata: { checkout_id: byRecon.checkoutId },
              },
            ]),
          ),
        ],
      },
      { trigger: 'test', origin: 'api' },
    );
    expect(report).toMatchObject({
      auto_fixed: 2,
      exceptions_by_kind: { missed_webhook: 1, psp_fee_unbooked: 1 },
    });
    const shape = async (checkoutId: string) => {
      const orders = await db.pool.query<{ id: string; status: string; ledger: boolean; fee: bigint | null }>(
        `SELECT payment_order_id AS id, payment_order_status AS status, ledger_updated AS ledger, fee_minor AS fee
           FROM payins.payment_order WHERE checkout_id = $1 ORDER BY position`,
        [checkoutId],
      );
      const done = await db.pool.query<{ done: boolean }>(
        'SELECT is_payment_done AS done FROM payins.payment_event WHERE checkout_id = $1',
        [checkoutId],
      );
      const outbox = await db.pool.query<{ topic: string }>(
        `SELECT type AS topic FROM events.events WHERE data -> 'object' ->> 'checkout_id' = $1 ORDER BY seq`,
        [checkoutId],
      );
      const postings = [];
      for (const order of orders.rows) {
        const entry = await db.pool.query<{ id: bigint }>(
          'SELECT id FROM ledger.entries WHERE reference = $1',
          [`payin:${order.id}:succeeded`],
        );
        const id = entry.rows[0]?.id;
        const full = id === undefined ? undefined : await getEntry(db.pool, `je_${id}`);
        postings.push(full?.postings.map((p) => [p.accountCode, p.amountMinor, p.direction]));
      }
      return {
        orders: orders.rows.map((o) => [o.status, o.ledger, o.fee]),
        done: done.rows[0]?.done,
        outbox: outbox.rows.map((r) => r.topic),
        postings,
      };
    };
    expect(await shape(byRecon.checkoutId)).toEqual(await shape(byWebhook.checkoutId));
    const history = await db.pool.query<{ details: Record<string, unknown> }>(
      `SELECT details FROM payins.payment_order_status_history WHERE payment_order_id = $1 AND to_status = 'SUCCESS'`,
      [byRecon.orders[0]?.id],
    );
    expect(history.rows[0]?.details).toMatchObject({
      settled_by: 'reconciliation',
      exception_id: expect.stringMatching(/^rexc_/),
    });
    expect((await verifyLedger(db.pool)).ok).toBe(true);
  });

  it('resolves an exception with a note and the key that resolved it, and reopens it; both audited', async () => {
    const open = await db.pool.query<{ id: string }>(
      `SELECT id FROM recon.exceptions WHERE status = 'open' LIMIT 1`,
    );
    const id = open.rows[0]?.id ?? '';
    const resolved = await withTransaction(db.pool, (c) =>
      resolveException(c, id, 'bank test data, ignore', 'api_key:key_x'),
    );
    expect(resolved).toMatchObject({
      status: 'resolved',
      resolutionNote: 'bank test data, ignore',
      resolvedBy: 'api_key:key_x',
    });
    const again = await refusal(
      withTransaction(db.pool, (c) => resolveException(c, id, 'twice', 'api_key:key_x')),
    );
    expect(again.code).toBe('reconciliation_exception_state');
    const reopened = await withTransaction(db.pool, (c) =>
      reopenException(c, id, 'not so fast', 'api_key:key_y'),
    );
    expect(reopened).toMatchObject({ status: 'open', resolutionNote: null });
    const audit = await db.pool.query<{ action: string; actor: string }>(
      'SELECT action, actor FROM core.audit_log WHERE subject = $1 ORDER BY id',
      [id],
    );
    expect(audit.rows).toEqual([
      { action: 'reconciliation.exception.resolved', actor: 'api_key:key_x' },
      { action: 'reconciliation.exception.reopened', actor: 'api_key:key_y' },
    ]);
  });
});
