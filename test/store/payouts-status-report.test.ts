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
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyStatusReport, importBankDirectory } from '../../src/reconciliation/index.ts';

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
    /** Every payout of the file (sellers returned earlier without blame are paid again in later files). */
    all: payouts.rows.map((r) => r.id),
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

  it('settles them when the file is named only in the entry’s NtryDtls/Btch (MsgId), as banks book a batch', async () => {
    const f = await fileOfTwo('bat2', 51, addDays(today, 5));
    const total = await pool.query<{ s: bigint }>(
      'SELECT ctrl_sum_minor AS s FROM payouts.payout_files WHERE message_id = $1',
      [f.messageId],
    );
    const rt = composeModules(reconContext(pool, db.url, new ManualClock(new Date())), { fetchReport: null })
      .reconciliation.runtime;
    const statement = writeCamt053('S-BATCH-2', [
      {
        amountMinor: BigInt(total.rows[0]?.s ?? 0n),
        currency: 'EUR',
        creditDebit: 'DBIT',
        bookingDate: today,
        acctSvcrRef: 'BATCH-REF-2',
      },
    ]).replace(
      '<NtryDtls><TxDtls>',
      `<NtryDtls><Btch><MsgId>${f.messageId}</MsgId><NbOfTxs>${f.all.length}</NbOfTxs></Btch><TxDtls>`,
    );
    const report = await reconcileFiles(
      rt,
      { bank: [contentInput('batch2.xml', statement)] },
      { trigger: 'test', origin: 'file' },
    );
    expect(report).toMatchObject({ matched: 1, auto_fixed: f.all.length });
    for (const id of f.all) expect(await statusOf(id)).toMatchObject({ status: 'paid' });
  });
});

interface TxSpec {
  e2e?: string;
  instr?: string;
  status?: string;
  reason?: { cd?: string; prtry?: string; info?: string };
}

interface PmtSpec {
  status?: string;
  reason?: string;
  txs: TxSpec[];
}

function reasonXml(r: TxSpec['reason']): string {
  if (r === undefined) return '';
  const rsn = r.cd !== undefined ? `<Cd>${r.cd}</Cd>` : `<Prtry>${r.prtry ?? ''}</Prtry>`;
  return `<StsRsnInf><Rsn>${rsn}</Rsn>${r.info === undefined ? '' : `<AddtlInf>${r.info}</AddtlInf>`}</StsRsnInf>`;
}

/** A pain.002 with any mix of group, payment-information and transaction statuses. */
function report(
  version: '03' | '10',
  original: string,
  group: { status?: string; reason?: string },
  payments: PmtSpec[],
  reportId: string,
): string {
  const pmts = payments
    .map((p, i) => {
      const txs = p.txs
        .map(
          (t) =>
            '<TxInfAndSts>' +
            (t.instr === undefined ? '' : `<OrgnlInstrId>${t.instr}</OrgnlInstrId>`) +
            (t.e2e === undefined ? '' : `<OrgnlEndToEndId>${t.e2e}</OrgnlEndToEndId>`) +
            (t.status === undefined ? '' : `<TxSts>${t.status}</TxSts>`) +
            reasonXml(t.reason) +
            '</TxInfAndSts>',
        )
        .join('');
      return (
        `<OrgnlPmtInfAndSts><OrgnlPmtInfId>${original}-${i}</OrgnlPmtInfId>` +
        (p.status === undefined ? '' : `<PmtInfSts>${p.status}</PmtInfSts>`) +
        (p.reason === undefined ? '' : reasonXml({ cd: p.reason })) +
        `${txs}</OrgnlPmtInfAndSts>`
      );
    })
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.${version}"><CstmrPmtStsRpt>
<GrpHdr><MsgId>${reportId}</MsgId><CreDtTm>2026-03-02T08:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>${original}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>${group.status === undefined ? '' : `<GrpSts>${group.status}</GrpSts>`}${group.reason === undefined ? '' : reasonXml({ cd: group.reason })}</OrgnlGrpInfAndSts>
${pmts}
</CstmrPmtStsRpt></Document>`;
}

async function flagged(seller: string): Promise<boolean> {
  const r = await pool.query<{ needs_bank_details: boolean }>(
    'SELECT needs_bank_details FROM sellers.payout_settings WHERE seller_account = $1',
    [seller],
  );
  return r.rows[0]?.needs_bank_details === true;
}

async function history(id: string): Promise<string[]> {
  const r = await pool.query<{ reason: string | null; source: string }>(
    "SELECT reason, source FROM payouts.status_history WHERE payout_id = $1 AND source = 'pain.002' ORDER BY id",
    [id],
  );
  return r.rows.map((row) => row.reason ?? '');
}

describe('pain.002: every status code path', () => {
  it('ACCP, ACSC and ACWC each mark a payout accepted (bank status and history) and leave it in transit', async () => {
    for (const [n, code] of ['ACCP', 'ACSC', 'ACWC'].entries()) {
      const f = await fileOfTwo(`acc${n}`, 100 + 10 * n, addDays(today, 10 + n));
      const result = await settleFromStatusReport(
        pool,
        report('10', f.messageId, {}, [{ txs: [{ e2e: f.a, status: code }] }], `ACC-${code}`),
        `acc-${code}.xml`,
      );
      expect(result, code).toMatchObject({ accepted: 1, returned: 0, recorded: 0, unknown: [] });
      expect(await statusOf(f.a), code).toMatchObject({ status: 'in_transit', bank: code });
      expect(await history(f.a), code).toEqual([`accepted by the bank (${code})`]);
      // The report said nothing of b: untouched.
      expect(await statusOf(f.b), code).toMatchObject({ status: 'in_transit', bank: null });
    }
  });

  it('a group status with no payment blocks applies to every payout of the file (ACCP: all accepted)', async () => {
    const f = await fileOfTwo('grp1', 200, addDays(today, 20));
    const result = await settleFromStatusReport(
      pool,
      report('03', f.messageId, { status: 'ACCP' }, [], 'GRP-1'),
      'grp1.xml',
    );
    expect(result).toMatchObject({ accepted: f.all.length, returned: 0, groupStatus: 'ACCP' });
    for (const id of f.all) expect(await statusOf(id)).toMatchObject({ status: 'in_transit', bank: 'ACCP' });
  });

  it('a payment-information status applies to each payout it does not overrule by a transaction status', async () => {
    const f = await fileOfTwo('pmt1', 210, addDays(today, 21));
    const result = await settleFromStatusReport(
      pool,
      report(
        '10',
        f.messageId,
        { status: 'PART' },
        [{ status: 'ACSC', txs: [{ e2e: f.b, status: 'RJCT', reason: { cd: 'AM04', info: 'funds' } }] }],
        'PMT-1',
      ),
      'pmt1.xml',
    );
    expect(result).toMatchObject({ accepted: f.all.length - 1, returned: 1 });
    expect(await statusOf(f.a)).toMatchObject({ status: 'in_transit', bank: 'ACSC' });
    expect(await statusOf(f.b)).toMatchObject({ status: 'returned', bank: 'RJCT' });
    expect((await statusOf(f.b))?.return_reason).toBe('RJCT AM04 funds');
    expect(await flagged('pmt1_b')).toBe(true);
    expect(await flagged('pmt1_a')).toBe(false);
  });

  it('a payment-information RJCT returns every payout of the block without blaming the sellers; a transaction listed under it without its own status is blamed', async () => {
    const f = await fileOfTwo('pmt2', 220, addDays(today, 22));
    const result = await settleFromStatusReport(
      pool,
      report('03', f.messageId, {}, [{ status: 'RJCT', reason: 'DT01', txs: [{ instr: f.b }] }], 'PMT-2'),
      'pmt2.xml',
    );
    expect(result).toMatchObject({ returned: f.all.length, accepted: 0 });
    for (const id of [f.a, f.b])
      expect(await statusOf(id)).toMatchObject({ status: 'returned', bank: 'RJCT' });
    expect((await statusOf(f.a))?.return_reason).toMatch(/^RJCT DT01/);
    expect(await flagged('pmt2_a')).toBe(false);
    // b was named (by its InstrId alone) under the refused block: its own refusal.
    expect(await flagged('pmt2_b')).toBe(true);
    expect(await sellerBalances(pool, 'pmt2_a', 'EUR')).toMatchObject({ available: 5_000n, inTransit: 0n });
  });

  it('a group RJCT returns the whole file even when a transaction says ACSC', async () => {
    const f = await fileOfTwo('grp2', 230, addDays(today, 23));
    const result = await settleFromStatusReport(
      pool,
      report(
        '10',
        f.messageId,
        { status: 'RJCT', reason: 'FF01' },
        [{ txs: [{ e2e: f.a, status: 'ACSC' }] }],
        'GRP-2',
      ),
      'grp2.xml',
    );
    expect(result).toMatchObject({ returned: f.all.length, accepted: 0, unknown: [] });
    expect((await statusOf(f.a))?.return_reason).toMatch(/^RJCT FF01/);
  });

  it('pending codes (ACTC, ACSP, PDNG, RCVD, PART) are only recorded; a later ACSC accepts; the same status again is unchanged; a proprietary reason is kept', async () => {
    const f = await fileOfTwo('pnd1', 240, addDays(today, 24));
    for (const [n, code] of ['ACTC', 'ACSP', 'PDNG', 'RCVD', 'PART'].entries()) {
      const result = await settleFromStatusReport(
        pool,
        report('10', f.messageId, {}, [{ txs: [{ e2e: f.a, status: code }] }], `PND-${n}`),
        `pnd-${n}.xml`,
      );
      expect(result, code).toMatchObject({ recorded: 1, accepted: 0, returned: 0 });
      expect(await statusOf(f.a), code).toMatchObject({ status: 'in_transit', bank: code });
    }
    expect(await history(f.a)).toEqual([]);
    const accepted = await settleFromStatusReport(
      pool,
      report('10', f.messageId, {}, [{ txs: [{ e2e: f.a, status: 'ACSC' }] }], 'PND-ACSC'),
      'pnd-acsc.xml',
    );
    expect(accepted.accepted).toBe(1);
    const again = await settleFromStatusReport(
      pool,
      report('10', f.messageId, {}, [{ txs: [{ e2e: f.a, status: 'ACSC' }] }], 'PND-ACSC-2'),
      'pnd-acsc-2.xml',
    );
    expect(again).toMatchObject({ duplicate: false, accepted: 0, unchanged: 1 });
    const rejected = await settleFromStatusReport(
      pool,
      report(
        '03',
        f.messageId,
        {},
        [{ txs: [{ e2e: f.b, status: 'RJCT', reason: { prtry: 'BANK42', info: 'held' } }] }],
        'PND-R',
      ),
      'pnd-r.xml',
    );
    expect(rejected.returned).toBe(1);
    expect((await statusOf(f.b))?.return_reason).toBe('RJCT BANK42 held');
    // Refused again by a later report: already returned, nothing moves twice.
    const twice = await settleFromStatusReport(
      pool,
      report(
        '03',
        f.messageId,
        {},
        [{ txs: [{ e2e: f.b, status: 'RJCT', reason: { cd: 'AC04' } }] }],
        'PND-R2',
      ),
      'pnd-r2.xml',
    );
    expect(twice).toMatchObject({ returned: 0, unchanged: 1 });
    expect(await sellerBalances(pool, 'pnd1_b', 'EUR')).toMatchObject({ available: 5_000n, inTransit: 0n });
  });

  it('refuses a status that is not a four-letter code and a transaction naming no payout, naming the line and element; nothing applied', async () => {
    const f = await fileOfTwo('bad1', 250, addDays(today, 25));
    const cases: Array<[string, RegExp]> = [
      [
        report('10', f.messageId, {}, [{ txs: [{ e2e: f.a, status: 'ok' }] }], 'BAD-1'),
        /^pain\.002: line 5, <TxInfAndSts\/TxSts>: "ok" is not a status code/,
      ],
      [
        report('10', f.messageId, { status: 'ACCEPTED' }, [], 'BAD-2'),
        /^pain\.002: line 4, <OrgnlGrpInfAndSts\/GrpSts>: "ACCEPTED" is not a status code/,
      ],
      [
        report('10', f.messageId, {}, [{ status: 'RJCT', txs: [{ status: 'RJCT' }] }], 'BAD-3'),
        /^pain\.002: line 5, <TxInfAndSts>: names no original EndToEndId or InstrId/,
      ],
    ];
    for (const [xml, message] of cases) {
      await expect(settleFromStatusReport(pool, xml, 'bad.xml')).rejects.toMatchObject({
        code: 'payout_status_report_malformed',
        message: expect.stringMatching(message),
      });
    }
    for (const id of [f.a, f.b])
      expect(await statusOf(id)).toMatchObject({ status: 'in_transit', bank: null });
  });
});

describe('pain.002 through reconciliation', () => {
  it('files a report for a file never sent, and a payout not in its file, as status_report_unknown in a bank run of its own', async () => {
    const rt = composeModules(reconContext(pool, db.url, new ManualClock(new Date())), { fetchReport: null })
      .reconciliation.runtime;
    const never = await applyStatusReport(
      rt,
      report('10', 'NEVER-SENT-2', { status: 'RJCT' }, [], 'UNK-1'),
      'unk1.xml',
    );
    expect(never.filed).toBe(1);
    const f = await fileOfTwo('unk2', 260, addDays(today, 26));
    const stranger = await applyStatusReport(
      rt,
      report(
        '10',
        f.messageId,
        {},
        [
          {
            txs: [
              { e2e: f.a, status: 'ACSC' },
              { e2e: 'po_stranger', status: 'RJCT' },
            ],
          },
        ],
        'UNK-2',
      ),
      'unk2.xml',
    );
    expect(stranger).toMatchObject({ filed: 1, outcome: { accepted: 1 } });
    const rows = await pool.query<{
      kind: string;
      class: string;
      trigger: string;
      evidence: Record<string, unknown>;
    }>(
      `SELECT e.kind, e.class, r.trigger, e.evidence FROM recon.exceptions e JOIN recon.runs r ON r.id = e.run_id
       WHERE r.id = ANY($1) ORDER BY e.seq`,
      [[never.runId, stranger.runId]],
    );
    expect(rows.rows.map((r) => [r.kind, r.class, r.trigger, r.evidence.reference])).toEqual([
      ['status_report_unknown', 'investigation', 'pain.002:unk1.xml', 'NEVER-SENT-2'],
      ['status_report_unknown', 'investigation', 'pain.002:unk2.xml', 'po_stranger'],
    ]);
  });

  it('the daily run applies a pain.002 left in the bank directory once, and skips a malformed one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-pain002-'));
    try {
      const rt = composeModules(reconContext(pool, db.url, new ManualClock(new Date())), {
        fetchReport: null,
        reconciliation: { bankDirectory: dir },
      }).reconciliation.runtime;
      const f = await fileOfTwo('dir1', 270, addDays(today, 27));
      fs.writeFileSync(
        path.join(dir, 'sts.xml'),
        report(
          '10',
          f.messageId,
          {},
          [{ txs: [{ e2e: f.a, status: 'RJCT', reason: { cd: 'AC04' } }] }],
          'DIR-1',
        ),
      );
      fs.writeFileSync(
        path.join(dir, 'sts-bad.xml'),
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt><GrpHdr>',
      );
      await importBankDirectory(rt, dir);
      expect(await statusOf(f.a)).toMatchObject({ status: 'returned', bank: 'RJCT' });
      await importBankDirectory(rt, dir);
      const runs = await pool.query("SELECT 1 FROM recon.runs WHERE trigger LIKE 'pain.002:sts%'");
      expect(runs.rowCount).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
