import fs from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import {
  createIso20022Provider,
  DEFAULT_DEBTOR,
  readPayoutFile,
  runPayouts,
} from '../../src/payouts/index.ts';
import { bookPayin, idleProvider, registerDailySeller } from '../support/debt.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
const log = createLogger('silent');
const DATE = '2031-04-04';
const NOW = new Date(`${DATE}T12:00:00Z`);
const SELLERS = ['frf_seller_a', 'frf_seller_b', 'frf_seller_c'];

beforeAll(async () => {
  db = await createTestDatabase();
  for (const [n, seller] of SELLERS.entries()) {
    await registerDailySeller(db.pool, seller, 'EUR', n + 1);
    await bookPayin(db.pool, {
      paymentOrderId: `frf_${seller}`,
      sellerId: seller,
      currency: 'EUR',
      grossMinor: 5_000n + BigInt(n),
    });
  }
  // The payouts, left pending (the provider of this run writes no file).
  await runPayouts({ pool: db.pool, log, provider: idleProvider, now: NOW }, DATE);
});

afterAll(async () => {
  await db.drop();
});

/** The pool, except that its `nth` connection is refused: the file's second (reading) connection. */
function refusingConnection(pool: Pool, nth: number): Pool {
  let connects = 0;
  return new Proxy(pool, {
    get(target, property) {
      if (property === 'connect') {
        return async () => {
          connects++;
          if (connects === nth) throw new Error('reader connection refused');
          return await target.connect();
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function spoolFiles(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('bursar-payout-file-'));
}

describe('a pain.001 file whose formatting connection fails', () => {
  it('is not written at all: no file row, no chunks, every payout still pending and unfiled, no temporary file left', async () => {
    const provider = createIso20022Provider({ version: 'pain.001.001.09', debtorFor: () => DEFAULT_DEBTOR });
    const before = spoolFiles();
    await expect(
      provider.submitPending({ pool: refusingConnection(db.pool, 2), log }, DATE, NOW),
    ).rejects.toThrow('reader connection refused');
    const files = await db.pool.query('SELECT id FROM payouts.payout_files');
    expect(files.rows).toEqual([]);
    const chunks = await db.pool.query('SELECT file_id FROM payouts.payout_file_chunks');
    expect(chunks.rows).toEqual([]);
    const payouts = await db.pool.query<{ status: string; payout_file_id: string | null }>(
      'SELECT status, payout_file_id FROM payouts.payouts WHERE run_date = $1',
      [DATE],
    );
    expect(payouts.rows).toHaveLength(SELLERS.length);
    expect(payouts.rows.every((row) => row.status === 'pending' && row.payout_file_id === null)).toBe(true);
    const moved = await db.pool.query("SELECT 1 FROM payouts.status_history WHERE to_status = 'in_transit'");
    expect(moved.rows).toEqual([]);
    expect(spoolFiles()).toEqual(before);
  });

  it('is written whole by the next attempt: every pending payout in it, moved to in_transit', async () => {
    const provider = createIso20022Provider({ version: 'pain.001.001.09', debtorFor: () => DEFAULT_DEBTOR });
    const report = await provider.submitPending({ pool: db.pool, log }, DATE, NOW);
    expect(report.submitted).toBe(SELLERS.length);
    const file = report.files[0];
    expect(file?.txCount).toBe(SELLERS.length);
    const xml = await readPayoutFile(db.pool, file?.id ?? '');
    const payouts = await db.pool.query<{ id: string; status: string; payout_file_id: string }>(
      'SELECT id, status, payout_file_id FROM payouts.payouts WHERE run_date = $1',
      [DATE],
    );
    for (const payout of payouts.rows) {
      expect(payout.status).toBe('in_transit');
      expect(payout.payout_file_id).toBe(file?.id);
      expect(xml).toContain(`<EndToEndId>${payout.id}</EndToEndId>`);
    }
    expect(xml.endsWith('</Document>\n') || xml.endsWith('</Document>')).toBe(true);
  });
});

describe('two pain.001 writers racing', () => {
  const RACE_DATE = '2031-04-05';
  const RACE_NOW = new Date(`${RACE_DATE}T12:00:00Z`);

  it("the second, whose snapshot predates the first one's commit, is retried and writes nothing: one file, every payout once", async () => {
    for (const seller of SELLERS) {
      await bookPayin(db.pool, {
        paymentOrderId: `frf_race_${seller}`,
        sellerId: seller,
        currency: 'EUR',
        grossMinor: 7_000n,
      });
    }
    await runPayouts({ pool: db.pool, log, provider: idleProvider, now: RACE_NOW }, RACE_DATE);
    const provider = createIso20022Provider({ version: 'pain.001.001.09', debtorFor: () => DEFAULT_DEBTOR });
    // Hold the writers' lock, so both take their snapshot and then wait: the second to get the lock finds the
    // payouts pending in its snapshot and already moved by the first.
    const holder = await db.pool.connect();
    let writers: Promise<Awaited<ReturnType<typeof provider.submitPending>>[]>;
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT pg_advisory_xact_lock(hashtext('bursar:payout-files'))");
      writers = Promise.all([
        provider.submitPending({ pool: db.pool, log }, RACE_DATE, RACE_NOW),
        provider.submitPending({ pool: db.pool, log }, RACE_DATE, RACE_NOW),
      ]);
      for (;;) {
        const waiting = await db.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        );
        if ((waiting.rows[0]?.n ?? 0) >= 2) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    const reports = await writers;
    const written = reports.flatMap((report) => report.files);
    expect(written).toHaveLength(1);
    expect(written[0]?.txCount).toBe(SELLERS.length);
    const payouts = await db.pool.query<{ status: string; payout_file_id: string | null }>(
      'SELECT status, payout_file_id FROM payouts.payouts WHERE run_date = $1',
      [RACE_DATE],
    );
    expect(payouts.rows).toHaveLength(SELLERS.length);
    expect(
      payouts.rows.every((row) => row.status === 'in_transit' && row.payout_file_id === written[0]?.id),
    ).toBe(true);
  });
});
