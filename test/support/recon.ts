import { Registry } from 'prom-client';
import type { Clock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Pool } from '../../src/db/pool.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { holdReleased, payoutStarted, postEntry, pspFeeCharged } from '../../src/ledger/index.ts';
import { createLogger } from '../../src/log.ts';
import { assertCurrency, formatAmount } from '../../src/money/index.ts';
import { composeModules } from '../../src/compose.ts';
import { applyOrderEvent } from '../../src/payins/transitions.ts';
import { insertPayouts } from '../../src/payouts/store.ts';
import { markInTransit, settlePayout } from '../../src/payouts/settle.ts';
import { insertSeller } from '../../src/sellers/store.ts';

/** Test helpers for reconciliation: our records made through the normal flows' own functions, and file writers. */

export function reconContext(pool: Pool, url: string, clock: Clock): AppContext {
  return {
    config: { ...loadConfig({}), databaseUrl: url },
    pool,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    clock,
    metrics: new Registry(),
  };
}

export async function ensureSellers(pool: Pool, ids: string[], currency = 'USD'): Promise<void> {
  for (const id of ids) await insertSeller(pool, { sellerAccount: id, name: id, currency, metadata: {} });
}

export type OrderTarget = 'SUCCESS' | 'PENDING' | 'FAILED' | 'EXECUTING';

/**
 * A checkout with its orders, moved to `status` through the pay-in state machine (`applyOrderEvent`), so the
 * ledger holds exactly what the normal flow books.
 */
export async function makeCheckout(
  ctx: AppContext,
  checkout: {
    checkoutId: string;
    flow: 'saved_method' | 'hosted_page';
    currency: string;
    orders: Array<{ id: string; seller: string; amountMinor: bigint }>;
    pspPaymentId: string;
  },
  status: OrderTarget,
): Promise<void> {
  const deps = composeModules(ctx).payins.transitionDeps();
  const total = checkout.orders.reduce((sum, o) => sum + o.amountMinor, 0n);
  await withTransaction(ctx.pool, async (client) => {
    await client.query(
      `INSERT INTO payins.payment_event (checkout_id, api_key_id, buyer_info, seller_info, credit_card_info, flow, currency, total_minor)
       VALUES ($1, 'key_test', '{"id":"buyer"}', '{}', $2, $3, $4, $5)`,
      [
        checkout.checkoutId,
        JSON.stringify(
          checkout.flow === 'hosted_page'
            ? { flow: 'hosted_page', return_url: 'https://shop.example/return' }
            : { payment_method: 'pm_card_visa' },
        ),
        checkout.flow,
        checkout.currency,
        total,
      ],
    );
    for (const [position, order] of checkout.orders.entries()) {
      await client.query(
        `INSERT INTO payins.payment_order (payment_order_id, checkout_id, position, buyer_account, seller_account, amount_minor, currency)
         VALUES ($1, $2, $3, 'buyer', $4, $5, $6)`,
        [order.id, checkout.checkoutId, position, order.seller, order.amountMinor, checkout.currency],
      );
      await applyOrderEvent(client, deps, order.id, { type: 'start' });
      const facts = { pspPaymentId: checkout.pspPaymentId };
      if (status === 'SUCCESS')
        await applyOrderEvent(client, deps, order.id, { type: 'psp_succeeded' }, facts);
      if (status === 'PENDING')
        await applyOrderEvent(
          client,
          deps,
          order.id,
          { type: 'psp_pending', reason: 'psp_processing' },
          facts,
        );
      if (status === 'FAILED')
        await applyOrderEvent(client, deps, order.id, { type: 'psp_failed', code: 'card_declined' }, facts);
    }
  });
}

export async function bookPspFee(
  pool: Pool,
  txnId: string,
  feeMinor: bigint,
  currency: string,
): Promise<void> {
  await withTransaction(pool, async (client) => {
    await postEntry(
      client,
      pspFeeCharged({ currency, feeId: txnId, feeMinor, reason: 'booked at charge time' }),
    );
  });
}

/** A payout as the payouts module makes one: hold released, started, handed over, then (optionally) paid. */
export async function makePayout(
  pool: Pool,
  payout: { id: string; seller: string; currency: string; amountMinor: bigint },
  status: 'in_transit' | 'paid',
): Promise<void> {
  await withTransaction(pool, async (client) => {
    const common = { currency: payout.currency, sellerId: payout.seller, amountMinor: payout.amountMinor };
    await postEntry(client, holdReleased({ ...common, releaseId: `rel_${payout.id}` }));
    const started = await postEntry(client, payoutStarted({ ...common, payoutId: payout.id }));
    await insertPayouts(client, [
      {
        id: payout.id,
        sellerAccount: payout.seller,
        currency: payout.currency,
        amountMinor: payout.amountMinor,
        source: 'manual',
        runDate: null,
        provider: 'test',
        destination: {
          kind: 'sepa',
          iban: 'DE89370400440532013000',
          bic: 'COBADEFFXXX',
          holderName: payout.seller,
        },
        ledgerEntryId: started.entryId,
        reason: 'test payout',
        historySource: 'test',
      },
    ]);
    await markInTransit(client, payout.id, { source: 'test', reference: 'file_1' });
    if (status === 'paid') {
      await settlePayout(client, payout.id, { kind: 'paid', source: 'test_provider', reference: 'evt_1' });
    }
  });
}

// ---- File writers -------------------------------------------------------------------------------------------

export interface ReportLine {
  txn: string;
  category: string;
  currency: string;
  grossMinor: bigint;
  feeMinor: bigint;
  sourceId: string;
  paymentIntentId?: string;
  created: Date;
  metadata: Record<string, string>;
}

function major(minor: bigint, currency: string): string {
  const code = assertCurrency(currency);
  return minor < 0n ? `-${formatAmount(-minor, code)}` : formatAmount(minor, code);
}

function ts(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/** A settlement report in the sandbox's (Stripe's) columns. */
export function writeReport(lines: ReportLine[]): string {
  const header = [
    'balance_transaction_id',
    'created_utc',
    'available_on_utc',
    'currency',
    'gross',
    'fee',
    'net',
    'reporting_category',
    'source_id',
    'description',
    'payment_intent_id',
    'payment_metadata[checkout_id]',
    'payment_metadata[payment_order_id]',
  ];
  const rows = lines.map((l) =>
    [
      l.txn,
      ts(l.created),
      ts(l.created),
      l.currency.toLowerCase(),
      major(l.grossMinor, l.currency),
      major(l.feeMinor, l.currency),
      major(l.grossMinor - l.feeMinor, l.currency),
      l.category,
      l.sourceId,
      `"${l.category}, with ""quotes"""`,
      l.paymentIntentId ?? '',
      l.metadata.checkout_id ?? '',
      l.metadata.payment_order_id ?? '',
    ].join(','),
  );
  return `${header.join(',')}\n${rows.join('\n')}\n`;
}

export interface StatementLine {
  amountMinor: bigint;
  currency: string;
  creditDebit: 'CRDT' | 'DBIT';
  status?: 'BOOK' | 'PDNG';
  bookingDate: string;
  acctSvcrRef: string;
  endToEndId?: string;
  returnCode?: string;
  remittance?: string;
}

/** A camt.053.001.08 (or .02) statement of the platform's account, valid against its official XSD. */
export function writeCamt053(statementId: string, lines: StatementLine[], version = '08'): string {
  const entries = lines
    .map(
      (l) => `      <Ntry>
        <Amt Ccy="${l.currency}">${formatAmount(l.amountMinor, assertCurrency(l.currency))}</Amt>
        <CdtDbtInd>${l.creditDebit}</CdtDbtInd>
        <Sts>${version === '02' ? (l.status ?? 'BOOK') : `<Cd>${l.status ?? 'BOOK'}</Cd>`}</Sts>
        <BookgDt><Dt>${l.bookingDate}</Dt></BookgDt>
        <AcctSvcrRef>${l.acctSvcrRef}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>${l.returnCode === undefined ? 'ESCT' : 'RRTN'}</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs>${l.endToEndId === undefined ? '' : `<EndToEndId>${l.endToEndId}</EndToEndId>`}</Refs>
          ${l.remittance === undefined ? '' : `<RmtInf><Ustrd>${l.remittance}</Ustrd></RmtInf>`}
          ${l.returnCode === undefined ? '' : `<RtrInf><Rsn><Cd>${l.returnCode}</Cd></Rsn></RtrInf>`}
        </TxDtls></NtryDtls>
      </Ntry>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.${version}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-${statementId}</MsgId><CreDtTm>2026-01-01T00:00:00Z</CreDtTm></GrpHdr>
    <Stmt>
      <Id>${statementId}</Id>
      <CreDtTm>2026-01-01T00:00:00Z</CreDtTm>
      <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>USD</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-01-01</Dt></Dt></Bal>
${entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>
`;
}
