import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { loadPayoutsConfig, providerFor, readPayoutFile, runPayouts } from '../../src/payouts/index.ts';
import { isBankingDay } from '../../src/payouts/nacha/calendar.ts';
import { addDays, isoDateOf } from '../../src/payouts/settings.ts';
import { registerSellerWithSettings } from '../../src/sellers/settings-service.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { bookPayin } from '../support/debt.ts';
import { buildReturnFile, checkNachaFile, type CheckedEntry } from '../support/nacha.ts';
import { runBursar } from '../support/process.ts';

const ODFI = '09100001';

/** `bursar payouts settle-ach` as a real child process: a return that matches no payout never vanishes. */
describe('bursar payouts settle-ach', () => {
  let db: TestDatabase;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const entries = new Map<string, CheckedEntry>();

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 3 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-ach-cli-'));
    env = { DATABASE_URL: db.url, BURSAR_DATA_DIR: dir };
    for (const seller of ['cli_ach_a', 'cli_ach_b']) {
      await registerSellerWithSettings(
        db.pool,
        { sellerAccount: seller, name: `${seller} Inc`, currency: 'USD', metadata: {} },
        { account_number: '12345678', routing_number: '021000021', schedule: { interval: 'daily' } },
        undefined,
        null,
      );
      await bookPayin(db.pool, {
        paymentOrderId: `${seller}_1`,
        sellerId: seller,
        currency: 'USD',
        grossMinor: 4_200n,
      });
    }
    let day = addDays(isoDateOf(new Date()), 1);
    while (!isBankingDay(day)) day = addDays(day, 1);
    const provider = providerFor(loadPayoutsConfig({ BURSAR_PAYOUT_PROVIDER: 'nacha' }, 1, 2, dir));
    const report = await runPayouts(
      { pool: db.pool, log: createLogger('silent'), provider, now: new Date(`${day}T12:00:00Z`) },
      day,
    );
    const fileId = report.submit.files[0]?.id ?? '';
    const checked = checkNachaFile(await readPayoutFile(db.pool, fileId));
    expect(checked.errors).toEqual([]);
    for (const entry of checked.batches.flatMap((b) => b.entries)) entries.set(entry.identification, entry);
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await db.drop();
  });

  function entry(seller: string): CheckedEntry {
    const found = entries.get(seller.toUpperCase());
    if (!found) throw new Error(`no entry for ${seller}`);
    return found;
  }

  it('returns the matched payout, prints and files the unmatched line, and exits 1 after processing the whole file', async () => {
    const stranger = { ...entry('cli_ach_b'), trace: `${ODFI}9999993` };
    const file = path.join(dir, 'returns.ach');
    fs.writeFileSync(
      file,
      buildReturnFile(
        [
          { kind: 'return', code: 'R02', entry: stranger },
          { kind: 'return', code: 'R03', entry: entry('cli_ach_a') },
        ],
        { odfi: ODFI, rdfi: '02100002' },
      ),
    );
    const settled = await runBursar(['payouts', 'settle-ach', file], env);
    expect(settled.code).toBe(1);
    expect(settled.output).toMatch(/entries: 2, returned: 1, corrections: 0, unchanged: 0, unmatched: 1/);
    expect(settled.output).toMatch(
      /unmatched line \d+: return R02: no ACH payout has the original trace number/,
    );
    expect(settled.output).toMatch(/run rrun_\w+: 1 exception\(s\) filed for investigation/);
    const returned = await db.pool.query<{ seller_account: string; status: string }>(
      "SELECT seller_account, status FROM payouts.payouts WHERE provider = 'nacha' ORDER BY seller_account",
    );
    expect(returned.rows).toEqual([
      { seller_account: 'cli_ach_a', status: 'returned' },
      { seller_account: 'cli_ach_b', status: 'in_transit' },
    ]);
    const filed = await db.pool.query<{ status: string; class: string; cause: string }>(
      "SELECT status, class, cause FROM recon.exceptions WHERE kind = 'ach_return_unmatched'",
    );
    expect(filed.rows).toEqual([
      expect.objectContaining({
        status: 'open',
        class: 'investigation',
        cause: expect.stringMatching(/returns\.ach/),
      }),
    ]);
  });

  it('exits 0 on a file whose every line matches, and 1 on a malformed file, applying nothing of it', async () => {
    const clean = path.join(dir, 'noc.ach');
    fs.writeFileSync(
      clean,
      buildReturnFile([{ kind: 'noc', code: 'C05', entry: entry('cli_ach_b'), correctedData: '32' }], {
        odfi: ODFI,
        rdfi: '02100002',
      }),
    );
    const ok = await runBursar(['payouts', 'settle-ach', clean], env);
    expect(ok.code).toBe(0);
    expect(ok.output).toMatch(/corrections: 1, unchanged: 0, unmatched: 0/);
    const broken = path.join(dir, 'broken.ach');
    const lines = fs.readFileSync(clean, 'latin1').split('\n');
    lines[2] = `${lines[2] ?? ''} `;
    fs.writeFileSync(broken, lines.join('\n'));
    const refused = await runBursar(['payouts', 'settle-ach', broken], env);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/refused \(payout_ach_file_malformed\): ACH .*broken\.ach: line 3: /);
    expect(refused.output).toMatch(/nothing of the file was applied/);
  });

  it('settle-status files a pain.002 for a file Bursar never sent and exits 1', async () => {
    const file = path.join(dir, 'pain002.xml');
    fs.writeFileSync(
      file,
      `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>
<GrpHdr><MsgId>STS-CLI</MsgId><CreDtTm>2026-03-02T08:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>NEVER-SENT-CLI</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId><GrpSts>RJCT</GrpSts></OrgnlGrpInfAndSts>
</CstmrPmtStsRpt></Document>`,
    );
    const settled = await runBursar(['payouts', 'settle-status', file], env);
    expect(settled.code).toBe(1);
    expect(settled.output).toMatch(/unknown file NEVER-SENT-CLI \(RJCT\)/);
    expect(settled.output).toMatch(/run rrun_\w+: 1 exception\(s\) filed for investigation/);
  });
});
