import { insertSeller } from '../../src/sellers/store.ts';
import type { Pool } from '../../src/db/pool.ts';

/** Registers sellers for pay-in tests. */
export async function registerSellers(pool: Pool, ids: string[], currency = 'USD'): Promise<void> {
  for (const id of ids) await insertSeller(pool, { sellerAccount: id, name: id, currency, metadata: {} });
}

let counter = 0;

/** A unique id for checkouts and orders in tests. */
export function uid(prefix: string): string {
  counter++;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}

export interface PaymentBody {
  checkout_id: string;
  buyer_info: Record<string, unknown>;
  credit_card_info: Record<string, unknown>;
  payment_orders: Array<Record<string, unknown>>;
  [field: string]: unknown;
}

/** A saved-method `POST /v1/payments` body with one order per seller. */
export function savedMethodBody(
  sellers: string[],
  options: { checkoutId?: string; amount?: string; currency?: string; buyer?: Record<string, unknown> } = {},
): PaymentBody {
  const checkoutId = options.checkoutId ?? uid('co');
  return {
    checkout_id: checkoutId,
    buyer_info: options.buyer ?? { id: 'buyer_1', email: 'b@example.com', country: 'US' },
    credit_card_info: { payment_method: 'pm_card_visa' },
    payment_orders: sellers.map((seller, index) => ({
      payment_order_id: `${checkoutId}_po${index}`,
      seller_account: seller,
      amount: options.amount ?? '12.34',
      currency: options.currency ?? 'USD',
    })),
  };
}

/** Waits until `check` returns a value other than undefined, polling; fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function bearer(key: string): { authorization: string } {
  return { authorization: `Bearer ${key}` };
}
