import { stringify } from 'csv-stringify/sync';
import { assertCurrency, formatAmount } from '../money/index.ts';
import type { PayoutReport } from './payout-report.ts';
import { PLATFORM_METRICS, type PlatformMetric, type PlatformReport } from './platform.ts';
import { BUCKETS, netOf, type Buckets, type Statement } from './statement.ts';

/**
 * Reports as JSON and as CSV (docs/reports.md). Amounts are decimal strings in major units of the currency, as on
 * every wire of Bursar; CSV is written by csv-stringify (RFC 4180 quoting), one header row, UTF-8.
 */

const money = (minor: bigint, currency: string) => formatAmount(minor, assertCurrency(currency));

function bucketsToWire(buckets: Buckets, currency: string): Record<(typeof BUCKETS)[number] | 'net', string> {
  return {
    pending: money(buckets.pending, currency),
    available: money(buckets.available, currency),
    reserved: money(buckets.reserved, currency),
    in_transit: money(buckets.in_transit, currency),
    due: money(buckets.due, currency),
    net: money(netOf(buckets), currency),
  };
}

export function statementToWire(s: Statement) {
  return {
    object: 'seller_statement' as const,
    seller_account: s.sellerAccount,
    currency: s.currency,
    from: s.from.toISOString(),
    to: s.to.toISOString(),
    opening_balance: bucketsToWire(s.opening, s.currency),
    movements: s.movements.map((m) => ({
      posted_at: m.postedAt.toISOString(),
      effective_at: m.effectiveAt.toISOString(),
      entry_id: m.entryId,
      reference: m.reference,
      kind: m.kind,
      category: m.category,
      description: m.description,
      references: m.references,
      ...bucketsToWire(m.deltas, s.currency),
    })),
    closing_balance: bucketsToWire(s.closing, s.currency),
  };
}

const refs = (references: Record<string, string>) =>
  Object.entries(references)
    .map(([key, value]) => `${key}=${value}`)
    .join(';');

export const STATEMENT_CSV_COLUMNS = [
  'row',
  'posted_at',
  'entry_id',
  'kind',
  'category',
  'reference',
  'references',
  'description',
  'currency',
  ...BUCKETS,
  'net',
] as const;

export function statementCsv(s: Statement): string {
  const amounts = (b: Buckets) => [
    ...BUCKETS.map((bucket) => money(b[bucket], s.currency)),
    money(netOf(b), s.currency),
  ];
  const rows: string[][] = [
    [
      'opening',
      s.from.toISOString(),
      '',
      '',
      '',
      '',
      '',
      'opening balance',
      s.currency,
      ...amounts(s.opening),
    ],
    ...s.movements.map((m) => [
      'movement',
      m.postedAt.toISOString(),
      m.entryId,
      m.kind,
      m.category,
      m.reference,
      refs(m.references),
      m.description,
      s.currency,
      ...amounts(m.deltas),
    ]),
    ['closing', s.to.toISOString(), '', '', '', '', '', 'closing balance', s.currency, ...amounts(s.closing)],
  ];
  return stringify(rows, { header: true, columns: [...STATEMENT_CSV_COLUMNS] });
}

function metricsToWire(m: Record<PlatformMetric, bigint>, currency: string): Record<PlatformMetric, string> {
  return {
    gross_volume: money(m.gross_volume, currency),
    refunds: money(m.refunds, currency),
    disputes: money(m.disputes, currency),
    platform_fee_revenue: money(m.platform_fee_revenue, currency),
    psp_fees: money(m.psp_fees, currency),
    fx_revenue: money(m.fx_revenue, currency),
    losses_written_off: money(m.losses_written_off, currency),
    payouts: money(m.payouts, currency),
  };
}

export function platformToWire(r: PlatformReport) {
  return {
    object: 'platform_report' as const,
    from: r.from.toISOString(),
    to: r.to.toISOString(),
    days: r.days.map((d) => ({
      day: d.day,
      currency: d.currency,
      ...metricsToWire(d.metrics, d.currency),
      psp_clearing_balance: money(d.pspClearingBalance, d.currency),
      bank_balance: money(d.bankBalance, d.currency),
      accounts: [...d.accounts].map(([code, a]) => ({
        code,
        movement: money(a.movementMinor, d.currency),
        closing: money(a.closingMinor, d.currency),
      })),
    })),
    accounts: [...r.closing].map(([code, closing]) => {
      const currency = code.slice(code.lastIndexOf(':') + 1);
      return { code, opening: money(r.opening.get(code) ?? 0n, currency), closing: money(closing, currency) };
    }),
  };
}

export const PLATFORM_CSV_COLUMNS = [
  'day',
  'currency',
  ...PLATFORM_METRICS,
  'psp_clearing_balance',
  'bank_balance',
];

export function platformCsv(r: PlatformReport): string {
  const rows = r.days.map((d) => [
    d.day,
    d.currency,
    ...PLATFORM_METRICS.map((metric) => money(d.metrics[metric], d.currency)),
    money(d.pspClearingBalance, d.currency),
    money(d.bankBalance, d.currency),
  ]);
  return stringify(rows, { header: true, columns: PLATFORM_CSV_COLUMNS });
}

export function payoutReportToWire(r: PayoutReport) {
  const c = r.payout.currency;
  const opt = (minor: bigint | null) => (minor === null ? null : money(minor, c));
  return {
    object: 'payout_reconciliation' as const,
    payout_id: r.payout.id,
    seller_account: r.payout.sellerAccount,
    currency: c,
    amount: money(r.payout.amountMinor, c),
    status: r.payout.status,
    carried_in: money(r.carriedInMinor, c),
    carried_forward: money(r.carriedForwardMinor, c),
    data: r.lines.map((line) => ({
      entry_id: line.entryId,
      posted_at: line.postedAt.toISOString(),
      kind: line.kind,
      category: line.category,
      reference: line.reference,
      references: line.references,
      description: line.description,
      gross: opt(line.grossMinor),
      fee: opt(line.feeMinor),
      net: money(line.netMinor, c),
    })),
  };
}

export const PAYOUT_CSV_COLUMNS = [
  'payout_id',
  'seller_account',
  'currency',
  'row',
  'posted_at',
  'entry_id',
  'kind',
  'category',
  'payment_order_id',
  'references',
  'gross',
  'fee',
  'net',
];

/** The payouts' lines (a run's payouts, or one), each payout closed by its own row (net = −amount). */
export function payoutCsv(reports: PayoutReport[]): string {
  const rows: string[][] = [];
  for (const r of reports) {
    const c = r.payout.currency;
    const head = [r.payout.id, r.payout.sellerAccount, c];
    rows.push([...head, 'carried_in', '', '', '', '', '', '', '', '', money(r.carriedInMinor, c)]);
    for (const line of r.lines) {
      rows.push([
        ...head,
        'transaction',
        line.postedAt.toISOString(),
        line.entryId,
        line.kind,
        line.category,
        line.references.payment_order_id ?? '',
        refs(line.references),
        line.grossMinor === null ? '' : money(line.grossMinor, c),
        line.feeMinor === null ? '' : money(line.feeMinor, c),
        money(line.netMinor, c),
      ]);
    }
    rows.push([
      ...head,
      'payout',
      r.payout.createdAt.toISOString(),
      '',
      'payout.started',
      'payout',
      '',
      '',
      '',
      '',
      money(-r.payout.amountMinor, c),
    ]);
    rows.push([...head, 'carried_forward', '', '', '', '', '', '', '', '', money(r.carriedForwardMinor, c)]);
  }
  return stringify(rows, { header: true, columns: PAYOUT_CSV_COLUMNS });
}
