import type { Queryable } from '../src/db/pool.ts';
import { formatAmount, isCurrencyCode } from '../src/money/index.ts';
import { getObject, type StoredObject } from './store.ts';
import { amountFromWire } from './wire-amount.ts';

/**
 * The settlement report: Stripe's itemized balance-change report (`balance_change_from_activity.itemized.3`), one
 * row per balance transaction created in [interval_start, interval_end), amounts in MAJOR units as Stripe's report
 * files have them, timestamps as `YYYY-MM-DD HH:MM:SS` in UTC.
 */

export const REPORT_TYPE = 'balance_change_from_activity.itemized.3';

export const DEFAULT_COLUMNS = [
  'balance_transaction_id',
  'created_utc',
  'created',
  'available_on_utc',
  'available_on',
  'currency',
  'gross',
  'fee',
  'net',
  'reporting_category',
  'source_id',
  'description',
  'customer_facing_amount',
  'customer_facing_currency',
  'automatic_payout_id',
  'automatic_payout_effective_at_utc',
  'automatic_payout_effective_at',
  'charge_id',
  'payment_intent_id',
  'charge_created_utc',
  'charge_created',
  'payment_method_type',
  'card_brand',
  'card_funding',
  'card_country',
  'statement_descriptor',
  'dispute_reason',
] as const;

export function reportTimestamp(unixSecondsValue: number): string {
  return new Date(unixSecondsValue * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function major(amount: unknown, currency: string, param: string): string {
  const code = currency.toUpperCase();
  const minor = amountFromWire(amount, param);
  return isCurrencyCode(code) ? formatAmount(minor, code) : minor.toString();
}

async function chargeFor(
  db: Queryable,
  txn: StoredObject,
): Promise<{ charge?: StoredObject; dispute?: StoredObject; origin?: StoredObject }> {
  const source = String(txn.data.source ?? '');
  if (source.startsWith('ch_')) {
    const charge = await getObject(db, source);
    return charge === undefined ? {} : { charge };
  }
  const origin = await getObject(db, source);
  if (origin === undefined) return {};
  const chargeId = origin.data.charge;
  const charge = typeof chargeId === 'string' ? await getObject(db, chargeId) : undefined;
  return {
    ...(charge === undefined ? {} : { charge }),
    ...(origin.object === 'dispute' ? { dispute: origin } : {}),
    origin,
  };
}

/**
 * What the customer was charged or given back, as Stripe's report says it, signed as the gross: for a charge, the
 * charge's own amount and currency (the presentment side, which differs from `currency`/`gross` when the charge
 * settled in another currency); for a refund, a refund failure, a dispute or its reversal settled in another
 * currency, the refund's or dispute's amount and currency; for the other transactions of a charge, the
 * transaction's amount and currency; empty when there is no charge.
 */
function customerFacing(
  txn: StoredObject,
  related: { charge?: StoredObject; origin?: StoredObject },
  currency: string,
): { customer_facing_amount: string; customer_facing_currency: string } {
  const { charge, origin } = related;
  if (charge === undefined) return { customer_facing_amount: '', customer_facing_currency: '' };
  if (txn.data.type === 'charge' || txn.data.type === 'payment') {
    const chargeCurrency = String(charge.data.currency ?? currency);
    return {
      customer_facing_amount: major(charge.data.amount, chargeCurrency, 'amount'),
      customer_facing_currency: chargeCurrency,
    };
  }
  const originCurrency = typeof origin?.data.currency === 'string' ? origin.data.currency : currency;
  if (origin !== undefined && originCurrency.toUpperCase() !== currency.toUpperCase()) {
    const amount = amountFromWire(origin.data.amount, 'amount');
    const signed = amountFromWire(txn.data.amount, 'amount') < 0n ? -amount : amount;
    return {
      customer_facing_amount: major(signed, originCurrency, 'amount'),
      customer_facing_currency: originCurrency,
    };
  }
  return {
    customer_facing_amount: major(txn.data.amount, currency, 'amount'),
    customer_facing_currency: currency,
  };
}

export async function balanceChangeReport(
  db: Queryable,
  request: { intervalStart: number; intervalEnd: number; currency?: string; columns?: string[] },
): Promise<string> {
  const result = await db.query<{
    id: string;
    object: string;
    created: bigint;
    data: Record<string, unknown>;
    internal: Record<string, unknown>;
  }>(
    `SELECT id, object, created, data, internal FROM sandbox.objects
      WHERE object = 'balance_transaction' AND created >= $1 AND created < $2 AND ($3::text IS NULL OR data ->> 'currency' = $3)
      ORDER BY created, seq`,
    [request.intervalStart, request.intervalEnd, request.currency ?? null],
  );
  const rows: Array<Record<string, string>> = [];
  const metadataKeys = new Set<string>();
  for (const raw of result.rows) {
    const txn: StoredObject = {
      id: raw.id,
      object: raw.object,
      created: Number(raw.created),
      data: raw.data,
      internal: raw.internal,
    };
    const currency = String(txn.data.currency);
    const related = await chargeFor(db, txn);
    const { charge, dispute } = related;
    const payoutId =
      typeof txn.internal.payout === 'string' && txn.data.type !== 'payout' ? txn.internal.payout : '';
    const payout = payoutId === '' ? undefined : await getObject(db, payoutId);
    const card = ((charge?.data.payment_method_details as Record<string, unknown> | undefined)?.card ??
      {}) as Record<string, unknown>;
    const metadata = (charge?.data.metadata ?? {}) as Record<string, string>;
    const row: Record<string, string> = {
      balance_transaction_id: txn.id,
      created_utc: reportTimestamp(Number(txn.data.created)),
      created: reportTimestamp(Number(txn.data.created)),
      available_on_utc: reportTimestamp(Number(txn.data.available_on)),
      available_on: reportTimestamp(Number(txn.data.available_on)),
      currency,
      gross: major(txn.data.amount, currency, 'amount'),
      fee: major(txn.data.fee, currency, 'fee'),
      net: major(txn.data.net, currency, 'net'),
      reporting_category: String(txn.data.reporting_category),
      source_id: String(txn.data.source ?? ''),
      description: String(txn.data.description ?? ''),
      ...customerFacing(txn, related, currency),
      automatic_payout_id: payout?.data.automatic === true ? payoutId : '',
      automatic_payout_effective_at_utc:
        payout?.data.automatic === true ? reportTimestamp(Number(payout.data.arrival_date)) : '',
      automatic_payout_effective_at:
        payout?.data.automatic === true ? reportTimestamp(Number(payout.data.arrival_date)) : '',
      charge_id: charge?.id ?? '',
      payment_intent_id: String(charge?.data.payment_intent ?? ''),
      charge_created_utc: charge === undefined ? '' : reportTimestamp(charge.created),
      charge_created: charge === undefined ? '' : reportTimestamp(charge.created),
      payment_method_type: charge === undefined ? '' : 'card',
      card_brand: String(card.brand ?? ''),
      card_funding: String(card.funding ?? ''),
      card_country: String(card.country ?? ''),
      statement_descriptor: String(charge?.data.calculated_statement_descriptor ?? ''),
      dispute_reason: String(dispute?.data.reason ?? ''),
    };
    for (const [key, value] of Object.entries(metadata)) {
      metadataKeys.add(key);
      row[`payment_metadata[${key}]`] = value;
    }
    rows.push(row);
  }
  const columns = request.columns ?? [
    ...DEFAULT_COLUMNS,
    ...[...metadataKeys].sort().map((key) => `payment_metadata[${key}]`),
  ];
  const lines = [columns.map(csvField).join(',')];
  for (const row of rows) lines.push(columns.map((column) => csvField(row[column] ?? '')).join(','));
  return `${lines.join('\n')}\n`;
}
