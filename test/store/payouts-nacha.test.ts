import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/clock.ts';
import { composeModules } from '../../src/compose.ts';
import type { Pool } from '../../src/db/pool.ts';
import {
  applyAchReturnFile,
  contentInput,
  importBankDirectory,
  reconcileFiles,
  type ReconRuntime,
} from '../../src/reconciliation/index.ts';
import { verifyLedger } from '../../src/ledger/index.ts';
import { createLogger } from '../../src/log.ts';
import {
  findPayoutBatches,
  findPayoutsForBatch,
  getPayout,
  listPayoutFiles,
  loadPayoutsConfig,
  providerFor,
  readPayoutFile,
  runPayouts,
  settleFromAch,
  type RunReport,
} from '../../src/payouts/index.ts';
import { isBankingDay, nextBankingDay } from '../../src/payouts/nacha/calendar.ts';
import { addDays, isoDateOf } from '../../src/payouts/settings.ts';
import { listBankCorrections, findPayoutSettings, sellersDueOn } from '../../src/sellers/index.ts';
import { resolveBankCorrection } from '../../src/sellers/bank-corrections.ts';
import { listBankDetailsAudit } from '../../src/sellers/payout-settings-store.ts';
import { registerSellerWithSettings } from '../../src/sellers/settings-service.ts';
import { bookPayin, registerDailySeller, sellerBalances } from '../support/debt.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { reconContext, writeCamt053 } from '../support/recon.ts';
import { buildReturnFile, checkNachaFile, type CheckedEntry, type CheckedFile } from '../support/nacha.ts';

let db: TestDatabase;
let pool: Pool;
const log = createLogger('silent');
const config = loadPayoutsConfig({ BURSAR_PAYOUT_PROVIDERS: 'pain001,nacha' }, 1, 2, '/nonexistent');
const provider = providerFor(config);
const ODFI = '09100001';

/** The first banking day at least `days` after today: runs whose effective dates are easy to state. */
function bankingDayFrom(days: number): string {
  let day = addDays(isoDateOf(new Date()), days);
  while (!isBankingDay(day)) day = addDays(day, 1);
  return day;
}

async function achSeller(
  id: string,
  details: { holder?: 'company' | 'individual'; type?: 'checking' | 'savings'; currency?: string },
): Promise<void> {
  await registerSellerWithSettings(
    pool,
    { sellerAccount: id, name: `${id} Inc`, currency: details.currency ?? 'USD', metadata: {} },
    {
      account_number: '12345678',
      routing_number: '021000021',
      ...(details.holder === undefined ? {} : { account_holder_type: details.holder }),
      ...(details.type === undefined ? {} : { account_type: details.type }),
      schedule: { interval: 'daily' },
    },
    undefined,
    null,
  );
}

async function payin(seller: string, cents: bigint, currency = 'USD'): Promise<void> {
  await bookPayin(pool, {
    paymentOrderId: `${seller}_${cents}`,
    sellerId: seller,
    currency,
    grossMinor: cents,
  });
}

function run(date: string, sameDay = false): Promise<RunReport> {
  return runPayouts({ pool, log, provider, now: new Date(`${date}T12:00:00Z`) }, date, { sameDay });
}

async function achFileOf(report: RunReport): Promise<{ id: string; checked: CheckedFile; text: string }> {
  const written = report.submit.files.filter((f) => f.currency === 'USD');
  expect(written).toHaveLength(1);
  const id = written[0]?.id ?? '';
  const text = await readPayoutFile(pool, id);
  return { id, text, checked: checkNachaFile(text) };
}

function entryFor(file: CheckedFile, seller: string): CheckedEntry {
  const entry = file.batches.flatMap((b) => b.entries).find((e) => e.identification === seller.toUpperCase());
  if (!entry) throw new Error(`no entry for ${seller}`);
  return entry;
}

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 6 });
  pool = db.pool;
});
afterAll(async () => {
  await db.drop();
});

describe('NACHA ACH payouts', () => {
  const d1 = bankingDayFrom(2);
  let first: { id: string; checked: CheckedFile; text: string };

  it('routes each seller by bank details (IBAN → pain.001, account + routing → ACH) and writes an ACH file an independent checker accepts', async () => {
    await achSeller('ach_co', { holder: 'company' });
    await achSeller('ach_ind', { holder: 'individual', type: 'savings' });
    await achSeller('ach_eur', { currency: 'EUR' });
    await registerDailySeller(pool, 'sepa_eu', 'EUR', 7);
    for (let n = 0; n < 12; n++) {
      await achSeller(`ach_many_${String.fromCharCode(97 + n)}`, {});
      await payin(`ach_many_${String.fromCharCode(97 + n)}`, 1_000n + BigInt(n));
    }
    await payin('ach_co', 12_345n);
    await payin('ach_ind', 6_789n);
    await payin('ach_eur', 5_000n, 'EUR');
    await payin('sepa_eu', 4_000n, 'EUR');
    const report = await run(d1);
    expect(report.submit.files.map((f) => f.currency).sort()).toEqual(['EUR', 'USD']);
    // An ACH seller paid in EUR cannot go by ACH: left pending and reported.
    expect(report.submit.failed).toBe(1);
    first = await achFileOf(report);
    expect(first.checked.errors).toEqual([]);
    expect(first.text.split('\n')[0]).toHaveLength(94);
    expect(first.checked.entryCount).toBe(14);
    expect(first.checked.totalCreditCents).toBe(12_345n + 6_789n + 12n * 1_000n + 66n);
    expect(first.checked.batches.map((b) => [b.sec, b.effectiveDate, b.companyId])).toEqual([
      ['CCD', nextBankingDay(d1), '1234567890'],
      ['PPD', nextBankingDay(d1), '1234567890'],
    ]);
    expect(entryFor(first.checked, 'ach_ind').transactionCode).toBe('32');
    expect(entryFor(first.checked, 'ach_co')).toMatchObject({ transactionCode: '22', amountCents: 12_345n });
    expect(first.checked.fileIdModifier).toBe('A');
  });

  it('keeps each entry’s trace number on its payout, lists the file like pain.001 and never rewrites it', async () => {
    const rows = await pool.query<{ id: string; provider: string; seller_account: string }>(
      `SELECT id, provider, seller_account FROM payouts.payouts WHERE run_date = $1 ORDER BY seller_account`,
      [d1],
    );
    const byProvider = Object.fromEntries(rows.rows.map((r) => [r.seller_account, r.provider]));
    expect(byProvider).toMatchObject({ ach_co: 'nacha', ach_eur: 'nacha', sepa_eu: 'iso20022' });
    for (const row of rows.rows.filter((r) => r.provider === 'nacha' && r.seller_account !== 'ach_eur')) {
      const payout = await getPayout(pool, row.id);
      expect(payout?.status).toBe('in_transit');
      expect(payout?.providerReference).toBe(entryFor(first.checked, row.seller_account).trace);
      expect(payout?.payoutFileId).toBe(first.id);
    }
    const listed = await listPayoutFiles(pool, { limit: 10 });
    expect(listed.find((f) => f.id === first.id)).toMatchObject({
      format: 'nacha',
      debtorIban: null,
      txCount: 14,
    });
    await expect(
      pool.query("UPDATE payouts.payout_file_chunks SET data = 'x' WHERE file_id = $1", [first.id]),
    ).rejects.toThrow(/never changed/);
    await expect(
      pool.query('UPDATE payouts.payout_files SET tx_count = 0 WHERE id = $1', [first.id]),
    ).rejects.toThrow(/never rewritten/);
  });

  it('finds the payouts of a file or of one ACH batch by the reference a bank statement shows', async () => {
    const whole = await findPayoutsForBatch(pool, first.id);
    expect(whole?.payouts).toHaveLength(14);
    const ppd = await findPayoutsForBatch(pool, `${first.id}/2`);
    expect(ppd).toMatchObject({ batchNumber: 2, totalMinor: 6_789n, currency: 'USD' });
    expect(ppd?.payouts).toHaveLength(1);
    const discretionary = first.checked.batches[0]?.discretionary ?? '';
    expect(discretionary).toHaveLength(20);
    expect((await findPayoutsForBatch(pool, `${discretionary}/1`))?.payouts).toHaveLength(13);
    expect(await findPayoutsForBatch(pool, 'pf_unknownunknownunknown')).toBeUndefined();
  });

  it('reconciliation finds an ACH batch booked as one bank line through the registered batch finders', async () => {
    const [batch, ...others] = await findPayoutBatches(pool, [`${first.id}/2`, 'pf_unknownunknownunknown']);
    expect(others).toHaveLength(0);
    expect(batch).toMatchObject({ kind: 'ach', amountMinor: 6_789n, currency: 'USD' });
    expect(batch?.payoutIds).toHaveLength(1);
  });

  it('returns a payout from an addenda-99 return (money back to available, code and description kept), once', async () => {
    const entry = entryFor(first.checked, 'ach_co');
    const before = await sellerBalances(pool, 'ach_co', 'USD');
    const file = buildReturnFile([{ kind: 'return', code: 'R03', entry }], { odfi: ODFI, rdfi: '02100002' });
    const report = await settleFromAch(pool, file, 'returns-1.ach');
    expect(report).toMatchObject({ entries: 1, returned: 1, unmatched: [] });
    const payout = (
      await pool.query<{ id: string }>(
        "SELECT id FROM payouts.payouts WHERE provider_reference = $1 AND provider = 'nacha'",
        [entry.trace],
      )
    ).rows[0];
    const returned = await getPayout(pool, payout?.id ?? '');
    expect(returned?.status).toBe('returned');
    expect(returned?.returnReason).toBe('R03 No account/unable to locate account');
    const after = await sellerBalances(pool, 'ach_co', 'USD');
    expect(after.available - before.available).toBe(12_345n);
    expect(after.inTransit - before.inTransit).toBe(-12_345n);
    expect((await settleFromAch(pool, file, 'returns-1.ach')).unchanged).toBe(1);
    expect((await verifyLedger(pool)).ok).toBe(true);
  });

  it('reports a return naming no payout of ours, or with another amount, as unmatched', async () => {
    const entry = entryFor(first.checked, 'ach_many_a');
    const stranger = { ...entry, trace: `${ODFI}9999990` };
    const wrongAmount = { ...entryFor(first.checked, 'ach_many_b'), amountCents: 1n };
    const file = buildReturnFile(
      [
        { kind: 'return', code: 'R02', entry: stranger },
        { kind: 'return', code: 'R02', entry: wrongAmount },
      ],
      { odfi: ODFI, rdfi: '02100002' },
    );
    const report = await settleFromAch(pool, file, 'returns-2.ach');
    expect(report.returned).toBe(0);
    expect(report.unmatched).toHaveLength(2);
  });

  it('keeps an addenda-98 NOC as a correction to confirm: details unchanged, seller held from runs until confirmed', async () => {
    const entry = entryFor(first.checked, 'ach_ind');
    const corrected = `021000021${'98765432'.padEnd(17)}22`;
    const file = buildReturnFile([{ kind: 'noc', code: 'C07', entry, correctedData: corrected }], {
      odfi: ODFI,
      rdfi: '02100002',
    });
    expect(await settleFromAch(pool, file, 'noc-1.ach')).toMatchObject({ corrections: 1, unmatched: [] });
    expect((await settleFromAch(pool, file, 'noc-1.ach')).unchanged).toBe(1);
    const [open] = await listBankCorrections(pool, 'ach_ind', 'open');
    expect(open?.corrected).toEqual({
      routingNumber: '021000021',
      accountNumber: '98765432',
      accountType: 'checking',
    });
    const settings = await findPayoutSettings(pool, 'ach_ind');
    expect(settings.bank).toMatchObject({ accountNumber: '12345678', accountType: 'savings' });
    const due = await sellersDueOn(pool, addDays(d1, 1), 'ach_', 100);
    expect(due.map((s) => s.sellerAccount)).not.toContain('ach_ind');
    expect(due.map((s) => s.sellerAccount)).toContain('ach_many_a');

    const confirmed = await resolveBankCorrection(pool, {
      sellerAccount: 'ach_ind',
      id: open?.id ?? '',
      action: 'confirm',
      note: 'checked with the seller',
      apiKeyId: null,
    });
    expect(confirmed.status).toBe('confirmed');
    expect((await findPayoutSettings(pool, 'ach_ind')).bank).toMatchObject({
      accountNumber: '98765432',
      routingNumber: '021000021',
      accountType: 'checking',
      holderType: 'individual',
    });
    expect((await listBankDetailsAudit(pool, 'ach_ind')).length).toBe(2);
    await expect(
      resolveBankCorrection(pool, {
        sellerAccount: 'ach_ind',
        id: confirmed.id,
        action: 'dismiss',
        note: null,
        apiKeyId: null,
      }),
    ).rejects.toMatchObject({ code: 'bank_correction_resolved' });
  });

  it('dismisses a NOC without touching the bank details', async () => {
    const entry = entryFor(first.checked, 'ach_many_c');
    const file = buildReturnFile([{ kind: 'noc', code: 'C05', entry, correctedData: '32' }], {
      odfi: ODFI,
      rdfi: '02100002',
    });
    await settleFromAch(pool, file, 'noc-2.ach');
    const [open] = await listBankCorrections(pool, 'ach_many_c', 'open');
    expect(open?.corrected).toEqual({ accountType: 'savings' });
    const dismissed = await resolveBankCorrection(pool, {
      sellerAccount: 'ach_many_c',
      id: open?.id ?? '',
      action: 'dismiss',
      note: 'seller says checking is right',
      apiKeyId: null,
    });
    expect(dismissed).toMatchObject({ status: 'dismissed', note: 'seller says checking is right' });
    expect((await findPayoutSettings(pool, 'ach_many_c')).bank).not.toHaveProperty('accountType');
  });

  it('same-day run: effective date the run date for entries within $1,000,000, the next banking day above; a new file id modifier', async () => {
    const d2 = bankingDayFrom(10);
    await achSeller('ach_big', { holder: 'company' });
    await payin('ach_big', 100_000_001n);
    await payin('ach_many_d', 2_000n);
    const report = await run(d2, true);
    const second = await achFileOf(report);
    expect(second.checked.errors).toEqual([]);
    const dates = second.checked.batches.map((b) => [b.sec, b.effectiveDate, b.entries.length]);
    expect(dates).toContainEqual(['CCD', d2, second.checked.entryCount - 1]);
    expect(dates).toContainEqual(['CCD', nextBankingDay(d2), 1]);
    expect(entryFor(second.checked, 'ach_big').amountCents).toBe(100_000_001n);
    expect(second.checked.fileIdModifier).toBe('A');
    const third = await run(d2, true);
    expect(third.submit.files.filter((f) => f.currency === 'USD')).toHaveLength(0);
  });

  describe('through reconciliation: nothing an ACH file says vanishes', () => {
    let rt: ReconRuntime;
    let bankDir: string;
    beforeAll(() => {
      bankDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-ach-bank-'));
      rt = composeModules(reconContext(pool, db.url, new ManualClock(new Date())), {
        fetchReport: null,
        reconciliation: { bankDirectory: bankDir },
      }).reconciliation.runtime;
    });
    afterAll(() => fs.rmSync(bankDir, { recursive: true, force: true }));

    async function exceptionsOf(runId: string) {
      const rows = await pool.query<{ kind: string; class: string; evidence: Record<string, unknown> }>(
        'SELECT kind, class, evidence FROM recon.exceptions WHERE run_id = $1 ORDER BY seq',
        [runId],
      );
      return rows.rows;
    }

    it('files each unmatched return (unknown trace, other amount) as ach_return_unmatched, applies the rest, and files nothing twice', async () => {
      const good = entryFor(first.checked, 'ach_many_e');
      const stranger = { ...entryFor(first.checked, 'ach_many_f'), trace: `${ODFI}9999991` };
      const wrongAmount = { ...entryFor(first.checked, 'ach_many_g'), amountCents: 7n };
      const file = buildReturnFile(
        [
          { kind: 'return', code: 'R02', entry: stranger },
          { kind: 'return', code: 'R03', entry: good },
          { kind: 'return', code: 'R16', entry: wrongAmount },
        ],
        { odfi: ODFI, rdfi: '02100002' },
      );
      const applied = await applyAchReturnFile(rt, file, 'returns-3.ach');
      expect(applied.outcome).toMatchObject({ entries: 3, returned: 1 });
      expect(applied.outcome.unmatched.map((u) => [u.code, u.originalTrace])).toEqual([
        ['R02', stranger.trace],
        ['R16', wrongAmount.trace],
      ]);
      expect(applied.filed).toBe(2);
      const filed = await exceptionsOf(applied.runId);
      expect(filed.map((e) => [e.kind, e.class, e.evidence.original_trace, e.evidence.code])).toEqual([
        ['ach_return_unmatched', 'investigation', stranger.trace, 'R02'],
        ['ach_return_unmatched', 'investigation', wrongAmount.trace, 'R16'],
      ]);
      expect(filed[1]?.evidence).toMatchObject({ file: 'returns-3.ach', amount_minor: '7' });
      const run = await pool.query<{ kind: string; trigger: string; status: string }>(
        'SELECT kind, trigger, status FROM recon.runs WHERE id = $1',
        [applied.runId],
      );
      expect(run.rows[0]).toEqual({ kind: 'bank', trigger: 'ach:returns-3.ach', status: 'succeeded' });
      const again = await applyAchReturnFile(rt, file, 'returns-3.ach');
      expect(again).toMatchObject({ filed: 0, outcome: { unchanged: 1, returned: 0 } });
      expect(again.outcome.unmatched).toHaveLength(2);
    });

    it('the daily run applies ACH return and NOC files left in the bank directory once, and skips a malformed one whole', async () => {
      const returned = entryFor(first.checked, 'ach_many_h');
      const noc = entryFor(first.checked, 'ach_many_i');
      const stranger = { ...entryFor(first.checked, 'ach_many_j'), trace: `${ODFI}9999992` };
      fs.writeFileSync(
        path.join(bankDir, 'RET20260302.txt'),
        buildReturnFile(
          [
            { kind: 'return', code: 'R01', entry: returned },
            { kind: 'return', code: 'R02', entry: stranger },
            { kind: 'noc', code: 'C05', entry: noc, correctedData: '32' },
          ],
          { odfi: ODFI, rdfi: '02100003' },
        ),
      );
      const good = buildReturnFile(
        [{ kind: 'return', code: 'R04', entry: entryFor(first.checked, 'ach_many_k') }],
        {
          odfi: ODFI,
          rdfi: '02100003',
        },
      );
      const broken = good.split('\n');
      broken[2] = `${broken[2] ?? ''}X`;
      fs.writeFileSync(path.join(bankDir, 'broken.ach'), broken.join('\n'));
      await importBankDirectory(rt, bankDir);
      const payoutOf = async (trace: string) =>
        (
          await pool.query<{ status: string; return_reason: string | null }>(
            "SELECT status, return_reason FROM payouts.payouts WHERE provider = 'nacha' AND provider_reference = $1",
            [trace],
          )
        ).rows[0];
      expect(await payoutOf(returned.trace)).toMatchObject({ status: 'returned' });
      expect((await payoutOf(returned.trace))?.return_reason).toMatch(/^R01 /);
      // The malformed file applied nothing: ach_many_k is still in transit.
      expect(await payoutOf(entryFor(first.checked, 'ach_many_k').trace)).toMatchObject({
        status: 'in_transit',
      });
      expect(await listBankCorrections(pool, 'ach_many_i', 'open')).toHaveLength(1);
      const runs = await pool.query<{ id: string }>(
        "SELECT id FROM recon.runs WHERE trigger = 'ach:RET20260302.txt'",
      );
      expect(runs.rows).toHaveLength(1);
      const filed = await exceptionsOf(runs.rows[0]?.id ?? '');
      expect(filed.map((e) => [e.kind, e.evidence.original_trace])).toEqual([
        ['ach_return_unmatched', stranger.trace],
      ]);
      // Read once: the next day's run does not read it again.
      await importBankDirectory(rt, bankDir);
      const after = await pool.query("SELECT 1 FROM recon.runs WHERE trigger LIKE 'ach:%.txt'");
      expect(after.rowCount).toBe(1);
      expect((await pool.query("SELECT 1 FROM recon.runs WHERE trigger = 'ach:broken.ach'")).rowCount).toBe(
        0,
      );
    });

    it('the daily reconciliation settles the payouts of an ACH batch paid as one bank statement line', async () => {
      const ppd = await findPayoutsForBatch(pool, `${first.id}/2`);
      expect(ppd?.payouts).toHaveLength(1);
      const statement = writeCamt053('S-ACH-BATCH', [
        {
          amountMinor: ppd?.totalMinor ?? 0n,
          currency: 'USD',
          creditDebit: 'DBIT',
          bookingDate: d1,
          acctSvcrRef: 'ACH-BATCH-1',
          remittance: `ACH ${first.id}/2`,
        },
      ]);
      const report = await reconcileFiles(
        rt,
        { bank: [contentInput('ach-batch.xml', statement)] },
        { trigger: 'test', origin: 'file' },
      );
      expect(report).toMatchObject({ matched: 1, auto_fixed: 1 });
      const payout = await getPayout(pool, ppd?.payouts[0]?.id ?? '');
      expect(payout?.status).toBe('paid');
    });
  });
});
