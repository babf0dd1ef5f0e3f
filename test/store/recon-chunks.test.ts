import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { composeModules } from '../../src/compose.ts';
import { contentInput } from '../../src/reconciliation/input.ts';
import { reconcileFiles } from '../../src/reconciliation/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { reconContext, writeReport, type ReportLine } from '../support/recon.ts';

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

/** The run's report and exceptions over REPORT with chunks of `chunkSize` lines, on a database of its own. */
async function reconcileWithChunks(chunkSize: number) {
  const db = await createTestDatabase({ poolSize: 4 });
  dbs.push(db);
  const rt = composeModules(reconContext(db.pool, db.url, new ManualClock('2026-03-05T04:00:00Z')), {
    fetchReport: null,
  }).reconciliation.runtime;
  const report = await reconcileFiles(
    { ...rt, chunkSize },
    { psp: [contentInput('chunks.csv', REPORT)] },
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
});
