import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { composeModules } from '../../src/compose.ts';
import { contentInput } from '../../src/reconciliation/input.ts';
import type { ReconRuntime } from '../../src/reconciliation/runtime.ts';
import { reconcileFiles } from '../../src/reconciliation/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { reconContext, writeCamt053, writeReport, type ReportLine } from '../support/recon.ts';

/** Reconciliation run every day: overlapping reports and statements are quiet without being blind. */
describe('reconciliation without noise', () => {
  let db: TestDatabase;
  let rt: ReconRuntime;

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 4 });
    rt = composeModules(reconContext(db.pool, db.url, new ManualClock('2026-03-05T04:00:00Z')), {
      fetchReport: null,
    }).reconciliation.runtime;
  });
  afterAll(async () => {
    await db.drop();
  });

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

  async function kinds(runId: unknown): Promise<string[]> {
    const found = await db.pool.query<{ kind: string }>(
      'SELECT kind FROM recon.exceptions WHERE run_id = $1 ORDER BY kind',
      [runId],
    );
    return found.rows.map((r) => r.kind);
  }

  it('recognises the lines an overlapping report shares with an earlier one; the same id with other content is still an exception', async () => {
    const first = await reconcileFiles(
      rt,
      {
        psp: [
          contentInput(
            'a.csv',
            writeReport([
              payoutLine('txn_qa', -100n, '2026-03-01'),
              payoutLine('txn_qb', -200n, '2026-03-02'),
            ]),
          ),
        ],
      },
      { trigger: 'test', origin: 'file' },
    );
    expect(first).toMatchObject({ lines_read: 2, repeated_lines: 0 });
    const second = await reconcileFiles(
      rt,
      {
        psp: [
          contentInput(
            'b.csv',
            writeReport([
              payoutLine('txn_qb', -200n, '2026-03-02'),
              payoutLine('txn_qa', -150n, '2026-03-01'),
              payoutLine('txn_qc', -300n, '2026-03-03'),
            ]),
          ),
        ],
      },
      { trigger: 'test', origin: 'file' },
    );
    expect(second).toMatchObject({ lines_read: 3, repeated_lines: 1 });
    expect(await kinds(second.run_id)).toEqual(['duplicate_line']);
  });

  it('recognises a bank line an overlapping statement repeats, and stores the interval each run covers', async () => {
    const line = (ref: string, amountMinor: bigint) => ({
      amountMinor,
      currency: 'USD',
      creditDebit: 'DBIT' as const,
      bookingDate: '2026-03-03',
      acctSvcrRef: ref,
      endToEndId: `po_${ref.toLowerCase()}`,
    });
    const a = await reconcileFiles(
      rt,
      { bank: [contentInput('s1.xml', writeCamt053('S-Q1', [line('QR1', 500n)]))] },
      { trigger: 'test', origin: 'file' },
    );
    const b = await reconcileFiles(
      rt,
      { bank: [contentInput('s2.xml', writeCamt053('S-Q2', [line('QR1', 500n), line('QR2', 700n)]))] },
      { trigger: 'test', origin: 'file' },
    );
    expect(b).toMatchObject({ lines_read: 2, repeated_lines: 1 });
    expect(b.interval).toEqual({ start: '2026-03-03T00:00:00.000Z', end: '2026-03-04T00:00:00.000Z' });
    const stored = await db.pool.query<{ s: Date; e: Date }>(
      'SELECT interval_start AS s, interval_end AS e FROM recon.runs WHERE id = $1',
      [a.run_id],
    );
    expect(stored.rows[0]?.s.toISOString()).toBe('2026-03-03T00:00:00.000Z');
    expect(await kinds(b.run_id)).not.toContain('duplicate_line');
  });
});
