import type { Queryable } from '../db/pool.ts';
import {
  createdFilters,
  filters,
  keysetRows,
  type CreatedRange,
  type KeysetTable,
} from '../http/list-query.ts';
import type { PageRequest } from '../http/pagination.ts';
import type { OrderStatus } from './state-machine.ts';
import {
  CHECKOUT_COLUMNS,
  ORDER_COLUMNS,
  toCheckout,
  toOrder,
  type CheckoutRow,
  type OrderRow,
} from './store.ts';
import type { Checkout, PaymentOrder } from './types.ts';
import type { CheckoutStatus } from './wire.ts';

/** The list queries of pay-ins (`GET /v1/payments`, `GET /v1/checkouts`); indexes in migrations/0170_read_api.sql. */

const ORDERS: KeysetTable = {
  name: 'payins.payment_order',
  alias: 'o',
  id: 'payment_order_id',
  created: 'created_at',
};
const CHECKOUTS: KeysetTable = {
  name: 'payins.payment_event',
  alias: 'e',
  id: 'checkout_id',
  created: 'created_at',
};

export interface OrderFilter {
  buyerId?: string | undefined;
  sellerAccount?: string | undefined;
  checkoutId?: string | undefined;
  status?: OrderStatus | undefined;
  currency?: string | undefined;
  created: CreatedRange;
}

/** A page of payment orders, newest first, under the filter (each filter an index: see the migration). */
export async function listOrders(
  db: Queryable,
  filter: OrderFilter,
  request: PageRequest,
): Promise<{ rows: PaymentOrder[]; backwards: boolean }> {
  const where = [
    ...filters(
      [filter.buyerId, (p) => `o.buyer_account = ${p}`],
      [filter.sellerAccount, (p) => `o.seller_account = ${p}`],
      [filter.checkoutId, (p) => `o.checkout_id = ${p}`],
      [filter.status, (p) => `o.payment_order_status = ${p}`],
      [filter.currency, (p) => `o.currency = ${p}`],
    ),
    ...createdFilters('o.created_at', filter.created),
  ];
  const columns = ORDER_COLUMNS.split(',')
    .map((column) => `o.${column.trim()}`)
    .join(', ');
  const page = await keysetRows<OrderRow>(db, { table: ORDERS, columns, where, request });
  return { rows: page.rows.map(toOrder), backwards: page.backwards };
}

export interface CheckoutFilter {
  buyerId?: string | undefined;
  status?: CheckoutStatus | undefined;
  created: CreatedRange;
}

/** A page of checkouts with their orders, newest first, under the filter. */
export async function listCheckouts(
  db: Queryable,
  filter: CheckoutFilter,
  request: PageRequest,
): Promise<{ rows: Array<{ checkout: Checkout; orders: PaymentOrder[] }>; backwards: boolean }> {
  const where = [
    ...filters(
      [filter.buyerId, (p) => `(e.buyer_info ->> 'id') = ${p}`],
      [filter.status, (p) => `e.status = ${p}`],
    ),
    ...createdFilters('e.created_at', filter.created),
  ];
  const columns = CHECKOUT_COLUMNS.split(',')
    .map((column) => `e.${column.trim()}`)
    .join(', ');
  const page = await keysetRows<CheckoutRow>(db, { table: CHECKOUTS, columns, where, request });
  const checkouts = page.rows.map(toCheckout);
  const orders = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM payins.payment_order WHERE checkout_id = ANY($1::text[])
      ORDER BY checkout_id, position`,
    [checkouts.map((checkout) => checkout.checkoutId)],
  );
  const byCheckout = new Map<string, PaymentOrder[]>();
  for (const row of orders.rows) {
    const order = toOrder(row);
    const list = byCheckout.get(order.checkoutId) ?? [];
    list.push(order);
    byCheckout.set(order.checkoutId, list);
  }
  return {
    rows: checkouts.map((checkout) => ({ checkout, orders: byCheckout.get(checkout.checkoutId) ?? [] })),
    backwards: page.backwards,
  };
}
