import type { Queryable } from '../db/pool.ts';
import type { OrderConversion } from './ports.ts';

/** The conversion each converted payment order was booked at (payins.order_fx, migrations/0260_fx.sql). */

export async function insertOrderFx(
  db: Queryable,
  paymentOrderId: string,
  presentmentCurrency: string,
  conversion: OrderConversion,
): Promise<void> {
  await db.query(
    `INSERT INTO payins.order_fx (payment_order_id, presentment_currency, settlement_currency, settlement_minor,
       mid_value_minor, rate, mid_rate, quote_id, source, rate_date)
     VALUES ($1, $2, $3, $4, $5, $6::numeric, $7::numeric, $8, $9, $10::date)`,
    [
      paymentOrderId,
      presentmentCurrency,
      conversion.settlementCurrency,
      conversion.settlementMinor,
      conversion.midValueMinor,
      conversion.rate,
      conversion.midRate,
      conversion.quoteId,
      conversion.source,
      conversion.rateDate,
    ],
  );
}

interface Row {
  payment_order_id: string;
  settlement_currency: string;
  settlement_minor: bigint | string;
  mid_value_minor: bigint | string;
  rate: string;
  mid_rate: string;
  quote_id: string;
  source: string;
  rate_date: string;
}

export async function orderFxOf(
  db: Queryable,
  paymentOrderIds: string[],
): Promise<Map<string, OrderConversion>> {
  if (paymentOrderIds.length === 0) return new Map();
  const result = await db.query<Row>(
    `SELECT payment_order_id, settlement_currency, settlement_minor, mid_value_minor, rate::text AS rate,
            mid_rate::text AS mid_rate, quote_id, source, to_char(rate_date, 'YYYY-MM-DD') AS rate_date
       FROM payins.order_fx WHERE payment_order_id = ANY($1::text[])`,
    [paymentOrderIds],
  );
  return new Map(
    result.rows.map((row) => [
      row.payment_order_id,
      {
        settlementCurrency: row.settlement_currency,
        settlementMinor: BigInt(row.settlement_minor),
        midValueMinor: BigInt(row.mid_value_minor),
        rate: row.rate.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, ''),
        midRate: row.mid_rate.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, ''),
        quoteId: row.quote_id,
        source: row.source,
        rateDate: row.rate_date,
      },
    ]),
  );
}
