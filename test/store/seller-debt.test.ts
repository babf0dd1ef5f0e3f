import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sellersCommand } from '../../src/cli/sellers.ts';
import type { Pool } from '../../src/db/pool.ts';
import {
  chargebackLosses,
  getBalances,
  holdReleased,
  payinSucceeded,
  payoutReturned,
  postEntry,
  reserveHeld,
  sellerDebt,
  verifyLedger,
} from '../../src/ledger/index.ts';
import { createLogger } from '../../src/log.ts';
import { releaseDueHolds, runPayouts, type RunReport } from '../../src/payouts/index.ts';
import { addDays, isoDateOf } from '../../src/payouts/settings.ts';
import { debtWriteOffAudit } from '../../src/sellers/index.ts';
import {
  bookClawback,
  bookPayin,
  idleProvider,
  registerDailySeller,
  sellerBalances,
} from '../support/debt.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
let pool: Pool;
const log = createLogger('silent');
const DAY_MS = 24 * 60 * 60 * 1000;
const today = isoDateOf(new Date());

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 6 });
  pool = db.pool;
});
afterAll(async () => {
  await db.drop();
});

function run(date: string): Promise<RunReport> {
  return runPayouts({ pool, log, provider: idleProvider, now: new Date(`${date}T12:00:00Z`) }, date);
}

async function entriesOf(kind: string, sellerId: string) {
  const found = await pool.query<{ reference: string; metadata: Record<string, unknown> }>(
    `SELECT reference, metadata FROM ledger.entries WHERE kind = $1 AND metadata->>'sellerId' = $2 ORDER BY id`,
    [kind, sellerId],
  );
  return found.rows;
}

/** A seller paid out 100.00, then refunded `refund`: owes the platform that much. */
async function sellerInDebt(seller: string, n: number, refundMinor: bigint, date: string): Promise<void> {
  await registerDailySeller(pool, seller, 'EUR', n);
  await bookPayin(pool, {
    paymentOrderId: `${seller}_po1`,
    sellerId: seller,
    currency: 'EUR',
    grossMinor: 10_000n,
  });
  const first = await run(date);
  expect(first.outcomes.paid).toBeGreaterThanOrEqual(1);
  const split = await bookClawback(pool, {
    id: `${seller}_rf1`,
    kind: 'refund',
    sellerId: seller,
    currency: 'EUR',
    amountMinor: refundMinor,
  });
  expect(split.receivable).toBe(refundMinor);
}

describe('seller debt on the real ledger', () => {
  it('recovers a debt from the next pay-in in the transaction that releases its hold', async () => {
    await sellerInDebt('debt_a', 1, 3_000n, addDays(today, 1));
    expect(await sellerBalances(pool, 'debt_a', 'EUR')).toMatchObject({
      inTransit: 10_000n,
      receivable: 3_000n,
    });
    await bookPayin(pool, {
      paymentOrderId: 'debt_a_po2',
      sellerId: 'debt_a',
      currency: 'EUR',
      grossMinor: 5_000n,
    });
    expect(await releaseDueHolds(pool, addDays(today, 1))).toBeGreaterThanOrEqual(1);
    expect(await sellerBalances(pool, 'debt_a', 'EUR')).toMatchObject({
      pending: 0n,
      available: 2_000n,
      receivable: 0n,
    });
    const recovered = await entriesOf('debt.recovered', 'debt_a');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]?.metadata.trigger).toBe('hold_release');
    expect((await verifyLedger(pool)).ok).toBe(true);
  });

  it('skips a seller in debt in the payout run, and pays them once later sales covered it', async () => {
    const d1 = addDays(today, 2);
    await sellerInDebt('debt_b', 2, 6_000n, d1);
    // 20.00 more: recovered at release, 40.00 still owed: the run pays nothing.
    await bookPayin(pool, {
      paymentOrderId: 'debt_b_po2',
      sellerId: 'debt_b',
      currency: 'EUR',
      grossMinor: 2_000n,
    });
    const d2 = addDays(today, 3);
    const skipped = await run(d2);
    expect(skipped.outcomes.in_debt).toBeGreaterThanOrEqual(1);
    expect(await sellerBalances(pool, 'debt_b', 'EUR')).toMatchObject({
      available: 0n,
      inTransit: 10_000n,
      receivable: 4_000n,
    });
    // 100.00 more: 40.00 pays the rest of the debt, 60.00 is paid out.
    await bookPayin(pool, {
      paymentOrderId: 'debt_b_po3',
      sellerId: 'debt_b',
      currency: 'EUR',
      grossMinor: 10_000n,
    });
    const paid = await run(addDays(today, 4));
    expect(paid.outcomes.paid).toBeGreaterThanOrEqual(1);
    expect(await sellerBalances(pool, 'debt_b', 'EUR')).toMatchObject({
      available: 0n,
      inTransit: 16_000n,
      receivable: 0n,
    });
    expect(await entriesOf('debt.recovered', 'debt_b')).toHaveLength(2);
    expect((await verifyLedger(pool)).ok).toBe(true);
  });

  it('recovers at the start of a run from money that became available without a hold release', async () => {
    await sellerInDebt('debt_c', 3, 2_500n, addDays(today, 5));
    // Money credited straight to available (as a payout returned after it was paid would be).
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await postEntry(
        client,
        payoutReturned({
          currency: 'EUR',
          payoutId: 'debt_c_back',
          sellerId: 'debt_c',
          amountMinor: 4_000n,
          wasPaid: true,
          reason: 'test',
        }),
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const report = await run(addDays(today, 6));
    expect(report.debtsRecovered).toBeGreaterThanOrEqual(1);
    expect(await sellerBalances(pool, 'debt_c', 'EUR')).toMatchObject({
      receivable: 0n,
      available: 0n,
      inTransit: 10_000n + 1_500n,
    });
  });
});

describe('seller debt and the reserve', () => {
  it('pays a debt from the reserve when available money does not cover it, before paying anything', async () => {
    await sellerInDebt('debt_r', 5, 3_000n, addDays(today, 8));
    // 50.00 reaches the reserve without passing a recovery (booked straight on the ledger).
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await postEntry(
        client,
        payinSucceeded({
          currency: 'EUR',
          paymentOrderId: 'debt_r_po2',
          sellerId: 'debt_r',
          grossMinor: 5_000n,
          platformFeeMinor: 0n,
        }),
      );
      await postEntry(
        client,
        holdReleased({ currency: 'EUR', releaseId: 'debt_r_po2', sellerId: 'debt_r', amountMinor: 5_000n }),
      );
      await postEntry(
        client,
        reserveHeld({ currency: 'EUR', reserveId: 'debt_r_manual', sellerId: 'debt_r', amountMinor: 5_000n }),
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await sellerBalances(pool, 'debt_r', 'EUR')).toMatchObject({
      available: 0n,
      reserved: 5_000n,
      receivable: 3_000n,
    });
    await run(addDays(today, 9));
    // 30.00 of the reserve paid the debt; the seller has no reserve setting, so the other 20.00 was paid out.
    expect(await sellerBalances(pool, 'debt_r', 'EUR')).toMatchObject({
      available: 0n,
      reserved: 0n,
      receivable: 0n,
      inTransit: 10_000n + 2_000n,
    });
    expect((await verifyLedger(pool)).ok).toBe(true);
  });
});

describe('bursar sellers write-off', () => {
  const lines: string[] = [];
  const out = (line: string) => lines.push(line);

  it('refuses when nothing is old enough, writes off the old part with an audit row, and a re-run changes nothing', async () => {
    await sellerInDebt('debt_w', 4, 2_500n, addDays(today, 7));
    const losses = chargebackLosses('EUR').code;
    const lossesBefore = (await getBalances(pool, [losses])).get(losses)?.balanceMinor ?? 0n;

    // Fresh debt, default age (90 days): refused, nothing written.
    expect(await sellersCommand(['write-off', 'debt_w', '--currency', 'EUR'], { pool }, out)).toBe(1);
    expect(await debtWriteOffAudit(pool, 'debt_w')).toEqual([]);

    // A second debt after the cutoff stays: only the old 25.00 goes.
    const cutoff = (await pool.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]?.now;
    if (cutoff === undefined) throw new Error('no time');
    await bookClawback(pool, {
      id: 'debt_w_rf2',
      kind: 'chargeback',
      sellerId: 'debt_w',
      currency: 'EUR',
      amountMinor: 1_000n,
    });
    const later = new Date(cutoff.getTime() + 90 * DAY_MS);
    const argv = ['write-off', 'debt_w', '--currency', 'EUR', '--reason', 'seller gone'];

    lines.length = 0;
    expect(
      await sellersCommand([...argv, '--dry-run'], { pool }, out, { now: later, actor: 'cli:ops' }),
    ).toBe(0);
    expect(lines[0]).toBe('would write off: 25.00 EUR');
    expect(await debtWriteOffAudit(pool, 'debt_w')).toEqual([]);

    lines.length = 0;
    expect(await sellersCommand(argv, { pool }, out, { now: later, actor: 'cli:ops' })).toBe(0);
    expect(lines[0]).toBe('written off: 25.00 EUR');
    const audit = await debtWriteOffAudit(pool, 'debt_w');
    expect(audit).toEqual([
      expect.objectContaining({
        actor: 'cli:ops',
        amountMinor: 2_500n,
        beforeMinor: 3_500n,
        afterMinor: 1_000n,
        reason: 'seller gone',
      }),
    ]);
    const written = await entriesOf('debt.written_off', 'debt_w');
    expect(written).toHaveLength(1);
    expect((await sellerDebt(pool, 'debt_w', 'EUR')).balanceMinor).toBe(1_000n);
    expect((await getBalances(pool, [losses])).get(losses)?.balanceMinor).toBe(lossesBefore + 2_500n);
    const events = await pool.query<{ payload: Record<string, unknown> }>(
      `SELECT data -> 'object' AS payload FROM events.events WHERE type = 'seller.debt_written_off'`,
    );
    expect(events.rows.map((row) => row.payload)).toEqual([
      expect.objectContaining({ seller_account: 'debt_w', amount: '25.00', balance_due_after: '-10.00' }),
    ]);

    // Re-run with the same age: the old part is gone, the recent 10.00 is too young: refused, nothing written.
    expect(await sellersCommand(argv, { pool }, out, { now: later, actor: 'cli:ops' })).toBe(1);
    expect(await debtWriteOffAudit(pool, 'debt_w')).toHaveLength(1);

    // Everything, later: the rest goes; a re-run then finds nothing owed and exits 0 without writing.
    const muchLater = new Date(later.getTime() + 90 * DAY_MS);
    expect(await sellersCommand(argv, { pool }, out, { now: muchLater, actor: 'cli:ops' })).toBe(0);
    lines.length = 0;
    expect(await sellersCommand(argv, { pool }, out, { now: muchLater, actor: 'cli:ops' })).toBe(0);
    expect(lines[0]).toMatch(/^nothing to write off/);
    expect(await debtWriteOffAudit(pool, 'debt_w')).toHaveLength(2);
    expect(await entriesOf('debt.written_off', 'debt_w')).toHaveLength(2);
    expect((await verifyLedger(pool)).ok).toBe(true);
  });

  it('keeps the audit append-only', async () => {
    await expect(pool.query('UPDATE sellers.debt_write_offs SET reason = $1', ['x'])).rejects.toThrow(
      /append-only/,
    );
    await expect(pool.query('DELETE FROM sellers.debt_write_offs')).rejects.toThrow(/append-only/);
  });
});

describe('seller debt under concurrency', () => {
  it('claw-backs racing hold releases and a payout run neither deadlock nor break the balances', async () => {
    const seller = 'debt_race';
    await registerDailySeller(pool, seller, 'EUR', 9);
    let sales = 0n;
    for (let i = 0; i < 6; i++) {
      await bookPayin(pool, {
        paymentOrderId: `${seller}_po${i}`,
        sellerId: seller,
        currency: 'EUR',
        grossMinor: 5_000n,
      });
      sales += 5_000n;
    }
    const date = addDays(today, 20);
    const clawbacks = Array.from({ length: 12 }, (_, i) =>
      bookClawback(pool, {
        id: `${seller}_rf${i}`,
        kind: i % 2 === 0 ? 'refund' : 'chargeback',
        sellerId: seller,
        currency: 'EUR',
        amountMinor: 2_000n,
      }),
    );
    const results = await Promise.allSettled([
      ...clawbacks,
      releaseDueHolds(pool, date),
      run(date),
      releaseDueHolds(pool, date),
    ]);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    // Whatever interleaving happened: owed to the seller less owed by them = net sales (30,000 − 24,000).
    const b = await sellerBalances(pool, seller, 'EUR');
    expect(b.pending + b.available + b.reserved + b.inTransit - b.receivable).toBe(sales - 24_000n);
    expect((await verifyLedger(pool)).ok).toBe(true);
  });
});
