import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import {
  createIso20022Provider,
  runPayouts,
  settleFromStatusReport,
  type RunReport,
} from '../../src/payouts/index.ts';
import { addDays, isoDateOf } from '../../src/payouts/settings.ts';
import { bookPayin, registerDailySeller, sellerBalances } from '../support/debt.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { ManualClock } from '../../src/clock.ts';
import { composeModules } from '../../src/compose.ts';
import { contentInput } from '../../src/reconciliation/input.ts';
import { reconcileFiles } from '../../src/reconciliation/service.ts';
import { reconContext, writeCamt053 } from '../support/recon.ts';

let db: TestDatabase;
let pool: Pool;
const log = createLogger('silent');
const provider = createIso20022Provider({
  version: 'pain.001.001.09',
  debtorFor: () => ({ name: 'Platform', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' }),
});

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 4 });
  pool = db.pool;
});
afterAll(async () => {
  await db.drop();
});

function run(date: string): Promise<RunReport> {
  return runPayouts({ pool, log, provider, now: new Date(`${date}T12:00:00Z`) }, date);
}

/** Two sellers paid in one file; returns the file's MsgId and the payout ids by seller. */
async function fileOfTwo(prefix: string, n: number, date: string) {
  for (const [i, seller] of [`${prefix}_a`, `${prefix}_b`].entries()) {
    await registerDailySeller(pool, seller, 'EUR', n + i);
    await bookPayin(pool, {
      paymentOrderId: `${seller}_p1`,
      sellerId: seller,
      currency: 'EUR',
      grossMinor: 5_000n,
      holdDays: 0,
    });
  }
  const report = await run(date);
  const fileId = report.submit.files[0]?.id;
  expect(fileId).toBeDefined();
  const file = await pool.query<{ message_id: string }>(
    'SELECT message_id FROM payouts.payout_files WHERE id = $1',
    [fileId],
  );
  const payouts = await pool.query<{ id: string; seller_account: string }>(
    'SELECT id, seller_account FROM payouts.payouts WHERE payout_file_id = $1',
    [fileId],
  );
  const ids = Object.fromEntries(payouts.rows.map((r) => [r.seller_account, r.id]));
  return {
    messageId: file.rows[0]?.message_id ?? '',
    a: ids[`${prefix}_a`] ?? '',
    b: ids[`${prefix}_b`] ?? '',
  };
}

function pain002(
  version: '03' | '10',
  original: string,
  group: string | undefined,
  txs: Array<{ e2e: string; status: string; reason?: string }>,
  reportId = 'STS-1',
): string {
  const tx = txs
    .map(
      (t) =>
        `<TxInfAndSts><OrgnlInstrId>${t.e2e}</OrgnlInstrId><OrgnlEndToEndId>${t.e2e}</OrgnlEndToEndId><TxSts>${t.status}</TxSts>` +
        (t.reason === undefined
          ? ''
          : `<StsRsnInf><Rsn><Cd>${t.reason}</Cd></Rsn><AddtlInf>closed</AddtlInf></StsRsnInf>`) +
        '</TxInfAndSts>',
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.${version}"><CstmrPmtStsRpt>
<GrpHdr><MsgId>${reportId}</MsgId><CreDtTm>2026-03-02T08:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>${original}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>${group === undefined ? '' : `<GrpSts>${group}</GrpSts>`}${group === 'RJCT' ? '<StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf>' : ''}</OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>${original}-EUR</OrgnlPmtInfId>${tx}</OrgnlPmtInfAndSts>
</CstmrPmtStsRpt></Document>`;
}

async function statusOf(id: string) {
  const r = await pool.query<{ status: string; return_reason: string | null; bank: string | null }>(
    `SELECT p.status, p.return_reason, b.status AS bank FROM payouts.payouts p
       LEFT JOIN payouts.bank_status b ON b.payout_id = p.id WHERE p.id = $1`,
    [id],
  );
  return r.rows[0];
}

const today = isoDateOf(new Date());

describe('pain.002 status reports', () => {
  it('accepts (ACSC) one payout and returns a rejected one (RJCT AC04) to available with its reason; a replay changes nothing', async () => {
    const f = await fileOfTwo('sts1', 11, addDays(today, 1));
    const xml = pain002('03', f.messageId, 'PART', [
      { e2e: f.a, status: 'ACSC' },
      { e2e: f.b, status: 'RJCT', reason: 'AC04' },
    ]);
    const result = await settleFromStatusReport(pool, xml, 'sts1.xml');
    expect(result).toMatchObject({ accepted: 1, returned: 1, unknown: [], duplicate: false });
    expect(await statusOf(f.a)).toMatchObject({ status: 'in_transit', bank: 'ACSC' });
    expect(await statusOf(f.b)).toMatchObject({ status: 'returned', bank: 'RJCT' });
    expect((await statusOf(f.b))?.return_reason).toContain('AC04');
    expect(await sellerBalances(pool, 'sts1_b', 'EUR')).toMatchObject({ available: 5_000n, inTransit: 0n });
    expect((await settleFromStatusReport(pool, xml, 'sts1.xml')).duplicate).toBe(true);
  });

  it('a rejected file (group RJCT, pain.002.001.10) returns every payout in it, without blaming the sellers', async () => {
    const f = await fileOfTwo('sts2', 21, addDays(today, 2));
    const result = await settleFromStatusReport(pool, pain002('10', f.messageId, 'RJCT', []), 'sts2.xml');
    expect(result).toMatchObject({ returned: 2, groupStatus: 'RJCT' });
    for (const id of [f.a, f.b])
      expect(await statusOf(id)).toMatchObject({ status: 'returned', bank: 'RJCT' });
    const flagged = await pool.query(
      `SELECT 1 FROM sellers.payout_settings WHERE seller_account LIKE 'sts2_%' AND needs_bank_details`,
    );
    expect(flagged.rowCount).toBe(0);
  });

  it('hands back a report for a file never sent, and a payout not in the file, as unknown; pending codes are only recorded', async () => {
    const none = await settleFromStatusReport(pool, pain002('03', 'NEVER-SENT', 'ACCP', []), 'x.xml');
    expect(none.unknown).toEqual([
      { kind: 'file', reference: 'NEVER-SENT', status: 'ACCP', reason: undefined },
    ]);
    const f = await fileOfTwo('sts3', 31, addDays(today, 3));
    const result = await settleFromStatusReport(
      pool,
      pain002('10', f.messageId, undefined, [
        { e2e: f.a, status: 'PDNG' },
        { e2e: 'po_notours', status: 'RJCT', reason: 'AC01' },
      ]),
      'sts3.xml',
    );
    expect(result).toMatchObject({
      recorded: 1,
      returned: 0,
      unknown: [{ kind: 'payout', reference: 'po_notours' }],
    });
    expect(await statusOf(f.a)).toMatchObject({ status: 'in_transit', bank: 'PDNG' });
  });

  it('refuses a file that is not a pain.002, naming the element', async () => {
    await expect(settleFromStatusReport(pool, '<Document xmlns="urn:x"/>', 'bad.xml')).rejects.toMatchObject({
      code: 'payout_status_report_malformed',
    });
  });
});

describe('a pain.001 batch booked as one statement line', () => {
  it('settles every payout of the file paid when the debit names the file and carries its total', async () => {
    const f = await fileOfTwo('bat1', 41, addDays(today, 4));
    const total = await pool.query<{ s: bigint }>(
      'SELECT ctrl_sum_minor AS s FROM payouts.payout_files WHERE message_id = $1',
      [f.messageId],
    );
    const rt = composeModules(reconContext(pool, db.url, new ManualClock(new Date())), { fetchReport: null })
      .reconciliation.runtime;
    const statement = writeCamt053('S-BATCH-1', [
      {
        amountMinor: BigInt(total.rows[0]?.s ?? 0n),
        currency: 'EUR',
        creditDebit: 'DBIT',
        bookingDate: today,
        acctSvcrRef: 'BATCH-REF-1',
        remittance: f.messageId,
      },
    ]);
    const report = await reconcileFiles(
      rt,
      { bank: [contentInput('batch.xml', statement)] },
      { trigger: 'test', origin: 'file' },
    );
    expect(report).toMatchObject({ matched: 1, auto_fixed: 2 });
    for (const id of [f.a, f.b]) expect(await statusOf(id)).toMatchObject({ status: 'paid' });
  });
});
