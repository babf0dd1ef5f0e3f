import type { PoolClient } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { insertOrderFx } from './fx-store.ts';
import type { CurrencyConversion, OrderConversion } from './ports.ts';
import type { CheckoutRequest } from './types.ts';

/**
 * Each order's conversion, when its seller is paid in another currency (docs/currencies.md): through the
 * conversion port, in the checkout's transaction, from the sellers the checkout read. Errors name the order's field.
 */
export async function convertOrders(
  conversion: CurrencyConversion,
  client: PoolClient,
  request: CheckoutRequest,
  sellers: ReadonlyMap<string, { currency: string }>,
): Promise<Array<OrderConversion | null>> {
  const converted: Array<OrderConversion | null> = [];
  for (const [index, order] of request.orders.entries()) {
    const seller = sellers.get(order.sellerAccount);
    if (seller === undefined) throw new Error(`seller ${order.sellerAccount} was not read for the checkout`);
    try {
      converted.push(
        await conversion.convertOrder(client, {
          sellerAccount: order.sellerAccount,
          sellerCurrency: seller.currency,
          currency: order.currency,
          amountMinor: order.amountMinor,
          fxQuoteId: order.fxQuoteId,
        }),
      );
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const field = error.code === 'currency_not_supported_for_seller' ? 'currency' : 'fx_quote_id';
      throw error.atField(`payment_orders.${index}.${field}`);
    }
  }
  return converted;
}

/** Records each converted order's conversion next to the order (payins.order_fx). */
export async function recordConversions(
  client: PoolClient,
  request: CheckoutRequest,
  conversions: Array<OrderConversion | null>,
): Promise<void> {
  for (const [index, order] of request.orders.entries()) {
    const conversion = conversions[index];
    if (conversion) await insertOrderFx(client, order.paymentOrderId, order.currency, conversion);
  }
}
