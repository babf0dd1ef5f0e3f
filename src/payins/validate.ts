import { z } from 'zod';
import { AppError } from '../errors.ts';
import { assertCurrency, parseAmount } from '../money/index.ts';
import type { CheckoutRequest, CreditCardInfo } from './types.ts';

export const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_BUYER_INFO_BYTES = 4096;
export const MAX_ORDERS = 100;

const ClientId = z.string().regex(CLIENT_ID, 'must be 1–64 of A-Z a-z 0-9 _ -');
const FxQuoteId = z
  .string()
  .regex(/^fxq_[a-z0-9]{8,64}$/, 'must be an FX quote id (fxq_…)')
  .describe('an FX quote (POST /v1/fx/quotes) to convert at, when the seller is paid in another currency');

const SavedMethod = z.strictObject({
  payment_method: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,255}$/, 'must be a PSP payment-method token such as pm_…'),
});

const HostedPage = z.strictObject({
  flow: z.literal('hosted_page'),
  return_url: z
    .string()
    .max(2048)
    .refine((value) => {
      try {
        const url = new URL(value);
        return url.protocol === 'https:' || url.protocol === 'http:';
      } catch {
        return false;
      }
    }, 'must be an absolute http(s) URL'),
});

/**
 * The shape of `POST /v1/payments`. Amounts and currencies are only checked to be present here: the money module
 * parses them afterwards, so each way an amount can be wrong keeps its own error code.
 */
export const CreatePaymentBody = z
  .strictObject({
    checkout_id: ClientId,
    buyer_info: z.record(z.string(), z.unknown()),
    credit_card_info: z.union([SavedMethod, HostedPage]),
    fx_quote_id: FxQuoteId.optional(),
    payment_orders: z
      .array(
        z.strictObject({
          payment_order_id: ClientId,
          seller_account: ClientId,
          amount: z.unknown(),
          currency: z.string(),
          fx_quote_id: FxQuoteId.optional(),
        }),
      )
      .min(1, 'must hold at least one payment order')
      .max(MAX_ORDERS, `must hold at most ${MAX_ORDERS} payment orders`),
  })
  .meta({
    examples: [
      {
        checkout_id: 'co_order_1842',
        buyer_info: { id: 'buyer_77', email: 'ada@example.com', country: 'NL' },
        credit_card_info: { payment_method: 'pm_card_visa' },
        payment_orders: [
          {
            payment_order_id: 'po_1842_a',
            seller_account: 'seller_bakery',
            amount: '25.00',
            currency: 'EUR',
          },
          { payment_order_id: 'po_1842_b', seller_account: 'seller_books', amount: '12.50', currency: 'EUR' },
        ],
      },
    ],
  });

export type CreatePaymentBody = z.infer<typeof CreatePaymentBody>;

function checkBuyerInfoSize(body: CreatePaymentBody): void {
  const buyerBytes = Buffer.byteLength(JSON.stringify(body.buyer_info), 'utf8');
  if (buyerBytes > MAX_BUYER_INFO_BYTES) {
    throw new AppError(
      'validation_failed',
      `buyer_info: must be at most ${MAX_BUYER_INFO_BYTES} bytes of JSON, got ${buyerBytes}`,
      {
        field: 'buyer_info',
      },
    );
  }
}

function orderCurrency(currency: string, at: string): string {
  try {
    return assertCurrency(currency);
  } catch (error) {
    throw error instanceof AppError ? error.atField(`${at}.currency`) : error;
  }
}

function orderAmount(amount: unknown, code: string, at: string): bigint {
  try {
    return parseAmount(amount, code);
  } catch (error) {
    throw error instanceof AppError ? error.atField(`${at}.amount`) : error;
  }
}

/** The checkout's orders, each id once, all in one currency; with that currency and their total. */
function toOrders(body: CreatePaymentBody): {
  orders: CheckoutRequest['orders'];
  currency: string | undefined;
  totalMinor: bigint;
} {
  const seen = new Set<string>();
  let currency: string | undefined;
  let totalMinor = 0n;
  const orders = body.payment_orders.map((order, index) => {
    const at = `payment_orders.${index}`;
    if (seen.has(order.payment_order_id)) {
      throw new AppError(
        'validation_failed',
        `${at}.payment_order_id: ${order.payment_order_id} appears twice in this checkout`,
        {
          field: `${at}.payment_order_id`,
        },
      );
    }
    seen.add(order.payment_order_id);
    const code = orderCurrency(order.currency, at);
    if (currency === undefined) currency = code;
    else if (code !== currency) {
      throw new AppError(
        'currency_mismatch',
        `${at}.currency: a checkout has one currency; ${code} differs from ${currency}`,
        {
          field: `${at}.currency`,
        },
      );
    }
    const amountMinor = orderAmount(order.amount, code, at);
    totalMinor += amountMinor;
    return {
      paymentOrderId: order.payment_order_id,
      sellerAccount: order.seller_account,
      amountMinor,
      currency: code,
      fxQuoteId: order.fx_quote_id ?? body.fx_quote_id,
    };
  });
  return { orders, currency, totalMinor };
}

/** Turns a shape-checked body into a checkout request, applying the rules a schema cannot say. */
export function toCheckoutRequest(body: CreatePaymentBody): CheckoutRequest {
  checkBuyerInfoSize(body);
  const { orders, currency, totalMinor } = toOrders(body);
  if (currency === undefined)
    throw new AppError('validation_failed', 'payment_orders: must hold at least one payment order', {
      field: 'payment_orders',
    });
  const info = body.credit_card_info;
  const creditCardInfo: CreditCardInfo =
    'flow' in info
      ? { flow: 'hosted_page', return_url: info.return_url }
      : { payment_method: info.payment_method };
  return {
    checkoutId: body.checkout_id,
    buyerInfo: body.buyer_info,
    creditCardInfo,
    flow: 'flow' in info ? 'hosted_page' : 'saved_method',
    currency,
    totalMinor,
    orders,
  };
}
